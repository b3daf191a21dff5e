/**
 * The append-only, hash-chained audit log.
 *
 * Two ways to append:
 *
 * - `append(entry)` writes one row in its own `BEGIN IMMEDIATE` transaction, synchronously. Writes
 *   (integrations, tokens, keys) call it inside the transaction of the change itself, so the change
 *   and its row commit or roll back together.
 * - `appendCommitted(entry)` is the lookup path's group commit. Rows from concurrent lookups queue up
 *   and are written together in one `BEGIN IMMEDIATE` transaction, flushed on `setImmediate` (so all
 *   lookups that reached the audit step in one event-loop turn share it) or as soon as the queue
 *   holds `GROUP_COMMIT_MAX_ROWS`. The promise resolves only after that transaction COMMITTED, and
 *   if it fails, every waiter in the batch is rejected and the whole batch is rolled back: the
 *   guarantee stays "a lookup that cannot be audited is not served", now per batch.
 *
 * Both paths read the chain's tail inside their write transaction, so rows appended concurrently by
 * another process (the offline CLI) or by `append` in between always extend the chain correctly.
 * A row's seq is its commit order; a queued lookup is not answered before its row commits, so no
 * served lookup can be missing from the log or appear after a later-served one.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, AuditOutcome, Role } from '@dcs/shared';
import type { Db } from '../store/database.js';
import { chainText, GENESIS_HASH, type ChainFields } from './chain.js';

/** What an audit row records. Never a secret or a token value: hosts, ids, names, outcomes. */
export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  requestId?: string | undefined;
  tokenId?: string | undefined;
  tokenName?: string | undefined;
  role?: Role | undefined;
  host?: string | undefined;
  targetId?: string | undefined;
  /** Small, non-secret facts as a JSON object (a new token's role, the fields an update changed). */
  detail?: Record<string, string | number | boolean | string[] | null> | undefined;
}

/** A stored audit row, as the API lists it (`GET /v1/audit`): one shape for the log and the API. */
export type AuditRecord = AuditEvent;

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

/** Outcome of checking the hash chain. */
export type AuditVerifyResult = { ok: true; rows: number } | { ok: false; rows: number; problem: string };

/** The append-only, hash-chained audit log. */
export interface AuditLog {
  /** Appends one row; throws when it cannot be written, so the caller's request fails. */
  append(entry: AuditEntry): void;
  /**
   * Queues one row for the next group commit; resolves once the transaction holding it committed,
   * rejects (as does every other row of the batch) when it failed.
   */
  appendCommitted(entry: AuditEntry): Promise<void>;
  /** Writes the queued rows now (shutdown, tests); waiters are settled as by a scheduled flush. */
  flush(): void;
  list(query: AuditFilter): AuditRecord[];
  verify(): AuditVerifyResult;
}

/** A full queue is flushed at once instead of waiting for setImmediate. */
export const GROUP_COMMIT_MAX_ROWS = 256;
const HEAD_KEY = 'audit_head';

interface SqlRow {
  seq: number;
  at: string;
  request_id: string | null;
  token_id: string | null;
  token_name: string | null;
  role: string | null;
  action: string;
  host: string | null;
  target_id: string | null;
  outcome: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/** Builds the audit log over the `audit_events` table; `now` is injected for tests. */
export function createAuditLog(db: Db, now: () => Date = () => new Date()): AuditLog {
  const tail = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  // Positional parameters, the ChainFields then prev_hash and hash: the lookup path writes one row per request.
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setHead = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const getHead = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const iterate = db.prepare('SELECT * FROM audit_events ORDER BY seq');

  /** Writes `entries` after the current tail, in order, and records the new head. Runs inside a transaction. */
  const writeRows = (entries: readonly AuditEntry[]): void => {
    const last = tail.get() as { seq: number; hash: string } | undefined;
    let seq = last?.seq ?? 0;
    let prevHash = last?.hash ?? GENESIS_HASH;
    for (const entry of entries) {
      const fields: ChainFields = [
        ++seq,
        now().toISOString(),
        entry.requestId ?? null,
        entry.tokenId ?? null,
        entry.tokenName ?? null,
        entry.role ?? null,
        entry.action,
        entry.host ?? null,
        entry.targetId ?? null,
        entry.outcome,
        entry.detail ? JSON.stringify(entry.detail) : null,
      ];
      const hash = chainHash(prevHash, fields);
      insert.run(...fields, prevHash, hash);
      prevHash = hash;
    }
    setHead.run(HEAD_KEY, Buffer.from(`${seq}:${prevHash}`));
  };
  const writeInTransaction = db.transaction(writeRows);

  interface Waiter {
    entry: AuditEntry;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  let queue: Waiter[] = [];
  let scheduled: NodeJS.Immediate | undefined;

  const flush = (): void => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      // IMMEDIATE: the tail read and the inserts must see the same last row even when another process writes.
      writeInTransaction.immediate(batch.map((waiter) => waiter.entry));
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    for (const waiter of batch) waiter.resolve();
  };

  return {
    // IMMEDIATE: the tail read and the insert must see the same last row even when another process writes.
    append: (entry) => writeInTransaction.immediate([entry]),

    appendCommitted(entry) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        if (queue.length >= GROUP_COMMIT_MAX_ROWS) flush();
        else scheduled ??= setImmediate(flush);
      });
    },

    flush,

    list(query) {
      const where: string[] = [];
      const params: Record<string, string | number> = { limit: query.limit };
      const filterBy = (condition: string, name: string, value: string | number | undefined): void => {
        if (value === undefined) return;
        where.push(condition);
        params[name] = value;
      };
      filterBy('seq > @after', 'after', query.after);
      filterBy('seq < @before', 'before', query.before);
      filterBy('at >= @since', 'since', query.since);
      filterBy('host = @host', 'host', query.host);
      filterBy('action = @action', 'action', query.action);
      filterBy('token_id = @token', 'token', query.tokenId);
      if (query.within !== undefined) {
        where.push(`(host IN (SELECT value FROM json_each(@withinHosts))
          OR (host IS NULL AND token_id IN (SELECT value FROM json_each(@withinTokens))))`);
        params['withinHosts'] = JSON.stringify(query.within.hosts);
        params['withinTokens'] = JSON.stringify(query.within.tokenIds);
      }
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${query.order === 'desc' ? 'DESC' : 'ASC'} LIMIT @limit`;
      return (db.prepare(sql).all(params) as SqlRow[]).map(toRecord);
    },

    verify() {
      let expectedPrev = GENESIS_HASH;
      let expectedSeq = 1;
      let rows = 0;
      for (const row of iterate.iterate() as Iterable<SqlRow>) {
        rows++;
        if (row.seq !== expectedSeq) return { ok: false, rows, problem: `row ${expectedSeq} is missing (next is ${row.seq})` };
        if (row.prev_hash !== expectedPrev) return { ok: false, rows, problem: `row ${row.seq} does not follow row ${row.seq - 1}` };
        if (chainHash(row.prev_hash, chainFields(row)) !== row.hash) return { ok: false, rows, problem: `row ${row.seq} was modified` };
        expectedPrev = row.hash;
        expectedSeq++;
      }
      const head = getHead.get(HEAD_KEY) as Buffer | undefined;
      const expectedHead = rows === 0 ? undefined : `${expectedSeq - 1}:${expectedPrev}`;
      if ((head?.toString() ?? undefined) !== expectedHead) {
        return { ok: false, rows, problem: 'the last rows of the log were removed (the recorded head does not match)' };
      }
      return { ok: true, rows };
    },
  };
}

function chainFields(row: SqlRow): ChainFields {
  return [row.seq, row.at, row.request_id, row.token_id, row.token_name, row.role, row.action, row.host, row.target_id, row.outcome, row.detail];
}

/** A row's hash: SHA-256 over the previous row's hash, a newline, and the JSON array of its fields. */
function chainHash(prevHash: string, fields: ChainFields): string {
  return createHash('sha256').update(chainText(prevHash, fields)).digest('hex');
}

function toRecord(row: SqlRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    requestId: row.request_id,
    tokenId: row.token_id,
    tokenName: row.token_name,
    role: row.role as Role | null,
    action: row.action,
    host: row.host,
    targetId: row.target_id,
    outcome: row.outcome as AuditOutcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    hash: row.hash,
  };
}
