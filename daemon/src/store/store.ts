/**
 * The store: what every store kind offers the layers above it, whatever engine holds the rows.
 *
 * Two kinds implement it: the embedded SQLite file (sqlite-store.ts, the default) and PostgreSQL
 * (postgres/postgres-store.ts), which several daemons share. Everything is asynchronous because a
 * PostgreSQL read is a round trip; the SQLite store answers from the same synchronous statements as
 * before, and its read caches make the rows every lookup reads a memory hit on both kinds.
 *
 * Reads through `store.tokens` and friends see committed rows only. Writes happen in `write`, one
 * transaction whose tables (`tx.tokens`, …) read and write inside it; it commits when `fn` resolves
 * and rolls back when it throws. Rows are authenticated (row-integrity.ts) once the keyring is
 * unlocked and `useRowGuard` has been called; until then only the keyring and the audit log work.
 */
import type { Role, RegistryTestResult } from '@dcs/shared';
import type { ChainedFieldsOf } from '../audit/chain.js';
import type { RowGuard } from './row-integrity.js';
import type { IntegrationRow, KeyringRow, TokenRow } from './rows.js';

/** Which engine holds a store. */
export type StoreKind = 'sqlite' | 'postgres';

/** The tokens table. Reads of whole rows are authenticated; an edited row throws RowAuthenticationError. */
export interface TokenTable {
  insert(row: TokenRow): Promise<void>;
  /** Cached outside transactions: the row is frozen and shared. */
  findById(id: string): Promise<Readonly<TokenRow> | undefined>;
  /** Every row that authenticates; edited rows are left out (and reported to the guard's listener). */
  list(): Promise<TokenRow[]>;
  /** Sets `revoked_at` on an unrevoked row and reads it back; false when there is no such unrevoked row. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Active (not revoked, not expired at `now`) tokens of a role. */
  countActive(role: Role, now: string): Promise<number>;
  count(): Promise<number>;
  /** Ids of the rows whose MAC is missing or wrong. */
  unauthenticated(): Promise<string[]>;
  /** Writes the MAC of every row (the one-time upgrade of a store from before row MACs). */
  authenticateAll(): Promise<number>;
}

/** The integrations table; it sees secrets only as opaque envelopes. */
export interface IntegrationTable {
  insert(row: IntegrationRow): Promise<void>;
  update(row: IntegrationRow): Promise<void>;
  remove(id: string): Promise<boolean>;
  findById(id: string): Promise<IntegrationRow | undefined>;
  /** Cached outside transactions: the row is frozen and shared. */
  findByHost(host: string): Promise<Readonly<IntegrationRow> | undefined>;
  list(): Promise<IntegrationRow[]>;
  /** Every row without envelope and term, ordered by host, as JSON text (an array of listings); only `hosts` when given. */
  listingsJson(hosts: readonly string[] | null): Promise<string>;
  /** Host and username of every exported row that authenticates (cached outside transactions). */
  listExported(): Promise<ReadonlyArray<Pick<IntegrationRow, 'host' | 'username'>>>;
  count(): Promise<number>;
  /** Rows whose envelope uses a term below `term`, for the re-seal job; at most `limit` (default all). */
  listSealedBefore(term: number, limit?: number): Promise<IntegrationRow[]>;
  replaceEnvelope(id: string, envelope: Uint8Array, term: number): Promise<void>;
  /** Records the outcome of a credential test; false when the integration is gone. */
  recordTest(id: string, test: { at: string; result: RegistryTestResult; detail: string }): Promise<boolean>;
  /** How many rows each key term seals. */
  countByTerm(): Promise<Array<{ term: number; count: number }>>;
  /** Ids of the rows whose MAC is missing or wrong. */
  unauthenticated(): Promise<string[]>;
  /** Writes the MAC of every row (the one-time upgrade of a store from before row MACs). */
  authenticateAll(): Promise<number>;
}

/** The keyring table and the root-key check value. */
export interface KeyringTable {
  list(): Promise<KeyringRow[]>;
  insert(row: KeyringRow): Promise<void>;
  replaceSealedKey(term: number, sealedKey: Uint8Array): Promise<void>;
  findRootKeyCheck(): Promise<Uint8Array | undefined>;
  setRootKeyCheck(check: Uint8Array): Promise<void>;
  /** A counter bumped by every change to the keyring or the root key (cached outside transactions). */
  version(): Promise<number>;
  /** Increments the keyring version; call it in the transaction that changes the keyring. */
  bumpVersion(): Promise<number>;
}

/** An audit row as stored: the hashed fields (detail as the JSON text that was hashed), then the chain. */
export interface AuditRow extends ChainedFieldsOf<string> {
  prevHash: string;
  hash: string;
}

/** An audit row before it joins the chain: its hashed fields but its seq (the store assigns seq and hashes). */
export type AuditDraft = Omit<AuditRow, 'seq' | 'prevHash' | 'hash'>;

/** Filters for listing audit rows; `after` (oldest first) or `before` (newest first) is the cursor (a seq). */
export interface AuditFilter {
  since?: string | undefined;
  host?: string | undefined;
  action?: string | undefined;
  tokenId?: string | undefined;
  /**
   * A host-limited reader's view: rows naming one of `hosts`, and rows naming no host that were
   * written by one of `tokenIds`. Without it, every row.
   */
  within?: { hosts: readonly string[]; tokenIds: readonly string[] } | undefined;
  after?: number | undefined;
  before?: number | undefined;
  /** `asc` (log order, the default) or `desc` (newest first). */
  order?: 'asc' | 'desc' | undefined;
  limit: number;
}

/** The audit_events table and the chain's head. */
export interface AuditTable {
  /**
   * Appends `drafts` after the chain's head, in this transaction: each gets the next seq, the
   * previous row's hash and its own (audit/chain.ts says what it covers). The head is read (and, on
   * PostgreSQL, locked) here, so concurrent writers, other processes and other daemons always extend
   * the chain in commit order.
   */
  append(drafts: readonly AuditDraft[]): Promise<void>;
  list(filter: AuditFilter): Promise<AuditRow[]>;
  /** Up to `limit` rows with seq above `afterSeq`, in seq order (for verify). */
  scan(afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** The head recorded with the last append (`seq:hash`), or undefined before the first row. */
  recordedHead(): Promise<string | undefined>;
}

/** The tables as one transaction sees them. */
export interface StoreTx {
  tokens: TokenTable;
  integrations: IntegrationTable;
  keyring: KeyringTable;
  audit: AuditTable;
}

/** A store of either kind. */
export interface Store extends Omit<StoreTx, 'audit'> {
  readonly kind: StoreKind;
  /** What messages call it: `database /var/lib/scalr-credd/credd.sqlite`, `PostgreSQL store postgres://credd@db/credd`. */
  readonly subject: string;
  /** Committed audit rows (reads only: appends go through `write` and `appendLookupBatch`). */
  readonly audit: Omit<AuditTable, 'append'>;
  /** Runs `fn` in one write transaction; its changes commit together, or none do. */
  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Appends the lookups' audit batch in a transaction of its own, committed each store's fastest
   * way; resolves once it is as durable as the store promises lookups. SQLite commits it without an
   * fsync (it survives a crash of the process; checkpoints bring it to the disk, database.ts).
   * PostgreSQL sends it in one round trip that commits it without waiting for the WAL flush (so the
   * head row is free for another daemon's batch at once) and then commits once more with the flush,
   * which covers it: when the promise resolves the rows are on disk (and on synchronous standbys).
   */
  appendLookupBatch(drafts: readonly AuditDraft[]): Promise<void>;
  /**
   * How long the next lookup batch may wait for more rows when fewer are queued than the last batch
   * held (audit/audit-log.ts): 0 on SQLite, whose batch costs no round trip; 1 ms on PostgreSQL,
   * where each batch costs the server a round trip and two commits whatever its size.
   */
  readonly lookupBatchLingerMs: number;
  /** Runs reads in one consistent snapshot (the keyring's check value and rows belong together). */
  snapshot<T>(fn: (tx: Pick<StoreTx, 'keyring'>) => Promise<T>): Promise<T>;
  /** Authenticates token and integration rows from now on (after the keyring was unlocked). */
  useRowGuard(guard: RowGuard): void;
  /** Resolves when the store answers a query (readiness); rejects otherwise. */
  ping(): Promise<void>;
  /**
   * From now on, refuses every read and write (IntegrityError) while the schema holds objects the
   * migrations did not create: a trigger added while the daemon serves must not run inside its writes.
   */
  guardSchema(): void;
  /** Schema objects the migrations did not create (`trigger unrevoke`, `table tokens (changed)`). */
  foreignSchemaObjects(): Promise<string[]>;
  close(): Promise<void>;
}
