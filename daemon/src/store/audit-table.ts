import { createHash } from 'node:crypto';
import { chainText, GENESIS_HASH } from '../audit/chain.js';
import type { Db } from './database.js';
import type { AuditDraft, AuditFilter, AuditRow } from './store.js';

/** SQLite access to `audit_events` and the recorded head; synchronous, used by the SQLite store inside its transactions. */
export interface SqliteAuditTable {
  append(drafts: readonly AuditDraft[]): void;
  list(filter: AuditFilter): AuditRow[];
  scan(afterSeq: number, limit: number): AuditRow[];
  recordedHead(): string | undefined;
}

const HEAD_KEY = 'audit_head';

/** An audit row as SQL returns it, by column (PostgreSQL returns a bigint seq as text). */
export interface AuditSqlRow {
  seq: number | string;
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

/** Builds the table with its statements compiled once. */
export function createSqliteAuditTable(db: Db): SqliteAuditTable {
  const tail = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
  // Positional parameters: the lookup path writes one row per request.
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setHead = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const getHead = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const scan = db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?');

  return {
    append(drafts) {
      if (drafts.length === 0) return;
      // The tail, not the recorded head: rows are the truth, and the head is checked against them by verify.
      const last = tail.get() as { seq: number; hash: string } | undefined;
      let seq = last?.seq ?? 0;
      let prevHash = last?.hash ?? GENESIS_HASH;
      for (const draft of drafts) {
        const { at, requestId, tokenId, tokenName, role, action, host, targetId, outcome, detail } = draft;
        const hash = createHash('sha256')
          .update(chainText(prevHash, [++seq, at, requestId, tokenId, tokenName, role, action, host, targetId, outcome, detail]))
          .digest('hex');
        insert.run(seq, at, requestId, tokenId, tokenName, role, action, host, targetId, outcome, detail, prevHash, hash);
        prevHash = hash;
      }
      setHead.run(HEAD_KEY, Buffer.from(`${seq}:${prevHash}`));
    },

    list(filter) {
      const where: string[] = [];
      const params: Record<string, string | number> = { limit: filter.limit };
      const filterBy = (condition: string, name: string, value: string | number | undefined): void => {
        if (value === undefined) return;
        where.push(condition);
        params[name] = value;
      };
      filterBy('seq > @after', 'after', filter.after);
      filterBy('seq < @before', 'before', filter.before);
      filterBy('at >= @since', 'since', filter.since);
      filterBy('host = @host', 'host', filter.host);
      filterBy('action = @action', 'action', filter.action);
      filterBy('token_id = @token', 'token', filter.tokenId);
      if (filter.within !== undefined) {
        where.push(`(host IN (SELECT value FROM json_each(@withinHosts))
          OR (host IS NULL AND token_id IN (SELECT value FROM json_each(@withinTokens))))`);
        params['withinHosts'] = JSON.stringify(filter.within.hosts);
        params['withinTokens'] = JSON.stringify(filter.within.tokenIds);
      }
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${filter.order === 'desc' ? 'DESC' : 'ASC'} LIMIT @limit`;
      return (db.prepare(sql).all(params) as AuditSqlRow[]).map(auditRowOf);
    },

    scan: (afterSeq, limit) => (scan.all(afterSeq, limit) as AuditSqlRow[]).map(auditRowOf),

    recordedHead: () => (getHead.get(HEAD_KEY) as Buffer | undefined)?.toString(),
  };
}

/** The row of its columns. */
export function auditRowOf(row: AuditSqlRow): AuditRow {
  return {
    seq: Number(row.seq),
    at: row.at,
    requestId: row.request_id,
    tokenId: row.token_id,
    tokenName: row.token_name,
    role: row.role,
    action: row.action,
    host: row.host,
    targetId: row.target_id,
    outcome: row.outcome,
    detail: row.detail,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
