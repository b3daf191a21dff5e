import { createHash } from 'node:crypto';
import type { Db } from '../store/database.js';

/** What an audit row records. Never a secret or a token value: hosts, ids, names, outcomes. */
export interface AuditEvent {
  action: string;
  outcome: 'ok' | 'denied' | 'not_found' | 'error';
  requestId?: string | undefined;
  tokenId?: string | undefined;
  tokenName?: string | undefined;
  role?: string | undefined;
  host?: string | undefined;
  targetId?: string | undefined;
  /** Small, non-secret facts as a JSON object (a new token's role, the fields an update changed). */
  detail?: Record<string, string | number | boolean | string[] | null> | undefined;
}

/** A stored audit row, as the API lists it. */
export interface AuditRecord {
  seq: number;
  at: string;
  requestId: string | null;
  tokenId: string | null;
  tokenName: string | null;
  role: string | null;
  action: string;
  host: string | null;
  targetId: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
  hash: string;
}

/** Filters for listing audit rows; `after` is the cursor (a seq). */
export interface AuditQuery {
  since?: string | undefined;
  host?: string | undefined;
  action?: string | undefined;
  tokenId?: string | undefined;
  after?: number | undefined;
  limit: number;
}

/** Outcome of checking the hash chain. */
export type AuditVerifyResult = { ok: true; rows: number } | { ok: false; rows: number; problem: string };

/** The append-only, hash-chained audit log. */
export interface AuditLog {
  /** Appends one row; throws when it cannot be written, so the caller's request fails. */
  append(event: AuditEvent): void;
  list(query: AuditQuery): AuditRecord[];
  verify(): AuditVerifyResult;
}

const GENESIS = '0'.repeat(64);
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
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail, prev_hash, hash)
     VALUES (@seq, @at, @request_id, @token_id, @token_name, @role, @action, @host, @target_id, @outcome, @detail, @prev_hash, @hash)`,
  );
  const setHead = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const getHead = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const iterate = db.prepare('SELECT * FROM audit_events ORDER BY seq');

  const appendInTransaction = db.transaction((event: AuditEvent) => {
    const last = tail.get() as { seq: number; hash: string } | undefined;
    const row: Omit<SqlRow, 'hash'> = {
      seq: (last?.seq ?? 0) + 1,
      at: now().toISOString(),
      request_id: event.requestId ?? null,
      token_id: event.tokenId ?? null,
      token_name: event.tokenName ?? null,
      role: event.role ?? null,
      action: event.action,
      host: event.host ?? null,
      target_id: event.targetId ?? null,
      outcome: event.outcome,
      detail: event.detail ? JSON.stringify(event.detail) : null,
      prev_hash: last?.hash ?? GENESIS,
    };
    const hash = chainHash(row);
    insert.run({ ...row, hash });
    setHead.run(HEAD_KEY, Buffer.from(`${row.seq}:${hash}`));
  });

  return {
    // IMMEDIATE: the tail read and the insert must see the same last row even when another process writes.
    append: (event) => appendInTransaction.immediate(event),

    list(query) {
      const where: string[] = [];
      const params: Record<string, string | number> = { limit: query.limit };
      if (query.after !== undefined) (where.push('seq > @after'), (params['after'] = query.after));
      if (query.since !== undefined) (where.push('at >= @since'), (params['since'] = query.since));
      if (query.host !== undefined) (where.push('host = @host'), (params['host'] = query.host));
      if (query.action !== undefined) (where.push('action = @action'), (params['action'] = query.action));
      if (query.tokenId !== undefined) (where.push('token_id = @token'), (params['token'] = query.tokenId));
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT @limit`;
      return (db.prepare(sql).all(params) as SqlRow[]).map(toRecord);
    },

    verify() {
      let expectedPrev = GENESIS;
      let expectedSeq = 1;
      let rows = 0;
      for (const row of iterate.iterate() as Iterable<SqlRow>) {
        rows++;
        if (row.seq !== expectedSeq) return { ok: false, rows, problem: `row ${expectedSeq} is missing (next is ${row.seq})` };
        if (row.prev_hash !== expectedPrev) return { ok: false, rows, problem: `row ${row.seq} does not follow row ${row.seq - 1}` };
        const { hash, ...rest } = row;
        if (chainHash(rest) !== hash) return { ok: false, rows, problem: `row ${row.seq} was modified` };
        expectedPrev = hash;
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

function chainHash(row: Omit<SqlRow, 'hash'>): string {
  const fields = [
    row.seq, row.at, row.request_id, row.token_id, row.token_name, row.role,
    row.action, row.host, row.target_id, row.outcome, row.detail,
  ];
  return createHash('sha256').update(row.prev_hash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

function toRecord(row: SqlRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    requestId: row.request_id,
    tokenId: row.token_id,
    tokenName: row.token_name,
    role: row.role,
    action: row.action,
    host: row.host,
    targetId: row.target_id,
    outcome: row.outcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    hash: row.hash,
  };
}
