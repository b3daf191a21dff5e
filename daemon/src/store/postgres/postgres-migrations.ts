/**
 * The PostgreSQL schema as ordered, append-only migrations: its own list, since the engines differ
 * (bytea for blobs, bigint sequence numbers, the chain's head and the change counter as rows).
 * Never edit or reorder a released entry: add a new one. Each runs in its own transaction together
 * with the row that records it (postgres-schema.ts), under an advisory lock.
 *
 * Text that is compared or ordered uses COLLATE "C": byte order, which for the UTF-8 the database
 * holds is code point order, as SQLite's BINARY collation and JavaScript sort it (a linguistic
 * collation orders `_x.io` before `B.io` and `b.io` before `B.io`). Timestamps stay the exact ISO
 * text that the audit chain hashes and that rows' MACs cover.
 */
import type { Migration } from '../migrations.js';

/** Every migration, in order. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key   text COLLATE "C" PRIMARY KEY,
        value bytea NOT NULL
      );

      CREATE TABLE keyring (
        term       integer PRIMARY KEY CHECK (term >= 1),
        sealed_key bytea NOT NULL,
        created_at text COLLATE "C" NOT NULL
      );

      CREATE TABLE integrations (
        id               text COLLATE "C" PRIMARY KEY,
        host             text COLLATE "C" NOT NULL UNIQUE,
        username         text NOT NULL,
        envelope         bytea NOT NULL,
        term             integer NOT NULL REFERENCES keyring (term),
        export           integer NOT NULL CHECK (export IN (0, 1)),
        description      text,
        created_at       text COLLATE "C" NOT NULL,
        updated_at       text COLLATE "C" NOT NULL,
        expires_at       text COLLATE "C",
        ca_cert          text,
        last_tested_at   text COLLATE "C",
        last_test_result text CHECK (last_test_result IN ('ok', 'unauthorized', 'unreachable', 'error')),
        last_test_detail text,
        mac              bytea,
        provider         text CHECK (provider IN ('aws-ecr', 'azure-acr', 'google')),
        identity         text CHECK (identity IS NULL OR identity::jsonb IS NOT NULL)
      );

      CREATE TABLE tokens (
        id         text COLLATE "C" PRIMARY KEY,
        name       text NOT NULL,
        role       text COLLATE "C" NOT NULL CHECK (role IN ('admin', 'manager', 'auditor', 'runner')),
        hash       bytea NOT NULL,
        hosts      text,
        created_at text COLLATE "C" NOT NULL,
        expires_at text COLLATE "C",
        revoked_at text COLLATE "C",
        mac        bytea
      );

      CREATE TABLE audit_events (
        seq        bigint PRIMARY KEY CHECK (seq >= 1),
        at         text COLLATE "C" NOT NULL,
        request_id text,
        token_id   text COLLATE "C",
        token_name text,
        role       text,
        action     text COLLATE "C" NOT NULL,
        host       text COLLATE "C",
        target_id  text,
        outcome    text NOT NULL,
        detail     text,
        prev_hash  text NOT NULL,
        hash       text NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events (at);
      CREATE INDEX audit_events_host ON audit_events (host, seq);
      CREATE INDEX audit_events_action ON audit_events (action, seq);
      CREATE INDEX audit_events_token ON audit_events (token_id, seq);

      -- The chain's last row, one row locked by every append: every daemon extends one chain.
      CREATE TABLE audit_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        seq       bigint NOT NULL,
        hash      text NOT NULL
      );
      INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

      -- Bumped by every transaction that changes tokens, integrations, the keyring or meta (not by
      -- audit appends): daemons that missed a notification see it move and drop their caches.
      CREATE TABLE store_version (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        version   bigint NOT NULL
      );
      INSERT INTO store_version (version) VALUES (0);
    `,
  },
];
