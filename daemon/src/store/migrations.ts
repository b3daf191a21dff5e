/**
 * Ordered, append-only schema migrations. Never edit or reorder a released entry: add a new one.
 * Each runs in its own transaction together with the row that records it.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
      ) STRICT;

      CREATE TABLE keyring (
        term       INTEGER PRIMARY KEY CHECK (term >= 1),
        sealed_key BLOB NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE integrations (
        id          TEXT PRIMARY KEY,
        host        TEXT NOT NULL UNIQUE,
        username    TEXT NOT NULL,
        envelope    BLOB NOT NULL,
        term        INTEGER NOT NULL REFERENCES keyring (term),
        export      INTEGER NOT NULL CHECK (export IN (0, 1)),
        description TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      ) STRICT;

      CREATE TABLE tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'auditor', 'runner')),
        hash       BLOB NOT NULL,
        hosts      TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
      ) STRICT;

      CREATE TABLE audit_events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        at         TEXT NOT NULL,
        request_id TEXT,
        token_id   TEXT,
        token_name TEXT,
        role       TEXT,
        action     TEXT NOT NULL,
        host       TEXT,
        target_id  TEXT,
        outcome    TEXT NOT NULL,
        detail     TEXT,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_events_at ON audit_events (at);
    `,
  },
  {
    version: 2,
    name: 'integration expiry, CA certificate and last credential test; audit filter indexes',
    sql: `
      ALTER TABLE integrations ADD COLUMN expires_at TEXT;
      ALTER TABLE integrations ADD COLUMN ca_cert TEXT;
      ALTER TABLE integrations ADD COLUMN last_tested_at TEXT;
      ALTER TABLE integrations ADD COLUMN last_test_result TEXT
        CHECK (last_test_result IN ('ok', 'unauthorized', 'unreachable', 'error'));
      ALTER TABLE integrations ADD COLUMN last_test_detail TEXT;
      CREATE INDEX audit_events_host ON audit_events (host, seq);
      CREATE INDEX audit_events_action ON audit_events (action, seq);
      CREATE INDEX audit_events_token ON audit_events (token_id, seq);
    `,
  },
  {
    version: 3,
    name: 'row MACs on tokens and integrations',
    // NULL until the store is next opened with its root key, which computes every MAC once (see
    // lifecycle/unlock-store.ts); from then on a NULL MAC fails authentication like a wrong one.
    sql: `
      ALTER TABLE tokens ADD COLUMN mac BLOB;
      ALTER TABLE integrations ADD COLUMN mac BLOB;
    `,
  },
  {
    version: 4,
    name: 'cloud providers of integrations',
    // NULL provider: a static integration (its envelope seals the secret); otherwise the envelope
    // seals the provider's identity (JSON) and \`identity\` holds its non-secret fields for summaries.
    sql: `
      ALTER TABLE integrations ADD COLUMN provider TEXT CHECK (provider IN ('aws-ecr', 'azure-acr', 'google'));
      ALTER TABLE integrations ADD COLUMN identity TEXT CHECK (identity IS NULL OR json_valid(identity));
    `,
  },
];
