/**
 * The append-only, hash-chained audit log, over either store kind.
 *
 * Three ways to append:
 *
 * - `appendIn(tx, entry)` writes a row in the caller's transaction: writes (integrations, tokens,
 *   keys) record themselves in the transaction of the change, so both commit or roll back together.
 * - `append(entry)` writes one row in a transaction of its own (denials, reads).
 * - `appendCommitted(entry)` is the lookup path's group commit. Rows from concurrent lookups queue up
 *   and are written together (store.appendLookupBatch), flushed on `setImmediate` (so all lookups that
 *   reached the audit step in one event-loop turn share it) or as soon as the queue holds
 *   `GROUP_COMMIT_MAX_ROWS`. One batch is in flight at a time; rows arriving meanwhile form the next.
 *   The promise resolves only after the transaction holding the row COMMITTED; if it fails, every
 *   waiter in the batch is rejected: "a lookup that cannot be audited is not served", per batch.
 *
 * The store assigns seqs and hashes (chain.ts) from the head it reads inside the transaction (and, on
 * PostgreSQL, locks), so rows written by other processes or other daemons in between always chain
 * correctly, and a row's seq is its commit order. A queued lookup is not answered before its row
 * commits, so no served lookup can be missing from the log. `verify` checks the chain here, in one
 * place for both store kinds.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, AuditOutcome, Role } from '@dcs/shared';
import type { AuditDraft, AuditFilter, AuditRow, Store, StoreTx } from '../store/store.js';
import { chainText, GENESIS_HASH, type ChainFields } from './chain.js';

export type { AuditFilter } from '../store/store.js';

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

/** Outcome of checking the hash chain; `head` is the last row checked (null for an empty or broken log). */
export type AuditVerifyResult =
  | { ok: true; rows: number; head: { seq: number; hash: string } | null }
  | { ok: false; rows: number; problem: string; head: null };

/** The append-only, hash-chained audit log. */
export interface AuditLog {
  /** Appends one row in the caller's transaction. */
  appendIn(tx: Pick<StoreTx, 'audit'>, entry: AuditEntry): Promise<void>;
  /** Appends one row in a transaction of its own; rejects when it cannot be written, so the caller's request fails. */
  append(entry: AuditEntry): Promise<void>;
  /**
   * Queues one row for the next group commit; resolves once the transaction holding it committed,
   * rejects (as does every other row of the batch) when it failed.
   */
  appendCommitted(entry: AuditEntry): Promise<void>;
  /** Writes the queued rows now (shutdown, tests); waiters are settled as by a scheduled flush. */
  flush(): Promise<void>;
  list(query: AuditFilter): Promise<AuditRecord[]>;
  verify(): Promise<AuditVerifyResult>;
}

/** A full queue is flushed at once instead of waiting for setImmediate. */
export const GROUP_COMMIT_MAX_ROWS = 256;

/** How many rows verify reads at a time. */
const VERIFY_PAGE_ROWS = 5_000;

/** Builds the audit log over a store; `now` is injected for tests. */
export function createAuditLog(store: Pick<Store, 'write' | 'appendLookupBatch' | 'lookupBatchLingerMs' | 'audit'>, now: () => Date = () => new Date()): AuditLog {
  /** The row an entry becomes, but its seq and hashes (the store assigns those as it appends). */
  const draftOf = (entry: AuditEntry): AuditDraft => ({
    at: now().toISOString(),
    requestId: entry.requestId ?? null,
    tokenId: entry.tokenId ?? null,
    tokenName: entry.tokenName ?? null,
    role: entry.role ?? null,
    action: entry.action,
    host: entry.host ?? null,
    targetId: entry.targetId ?? null,
    outcome: entry.outcome,
    detail: entry.detail ? JSON.stringify(entry.detail) : null,
  });

  interface Waiter {
    entry: AuditEntry;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  let queue: Waiter[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let inFlight: Promise<void> | undefined;

  /** Writes one batch and returns its size; the next one starts when it ends, so batches commit in order. */
  const writeBatch = async (): Promise<number> => {
    const batch = queue.slice(0, GROUP_COMMIT_MAX_ROWS);
    queue = queue.slice(batch.length);
    try {
      await store.appendLookupBatch(batch.map((waiter) => draftOf(waiter.entry)));
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return batch.length;
    }
    for (const waiter of batch) waiter.resolve();
    return batch.length;
  };

  /**
   * Writes the queued rows, batch after batch, until the queue is empty. Between two batches it
   * yields to the event loop once (setImmediate): the answer that ends a batch is one of the I/O
   * callbacks of a loop turn, and the lookups whose requests arrived in the same turn join the next
   * batch instead of each starting a smaller one. Then, on a store whose batches cost a round trip
   * (store.lookupBatchLingerMs), fewer waiting rows than the last batch held means more are on their
   * way: the next batch waits that long for them, so that under load fewer, fuller batches serve
   * more lookups; with nothing queued nothing waits.
   */
  const flush = (): Promise<void> => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    inFlight ??= (async () => {
      try {
        while (queue.length > 0) {
          const written = await writeBatch();
          if (queue.length === 0 || queue.length >= GROUP_COMMIT_MAX_ROWS) continue;
          await new Promise((resolve) => setImmediate(resolve));
          if (store.lookupBatchLingerMs > 0 && queue.length < written) await new Promise((resolve) => setTimeout(resolve, store.lookupBatchLingerMs));
        }
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    appendIn: (tx, entry) => tx.audit.append([draftOf(entry)]),

    append: (entry) => store.write((tx) => tx.audit.append([draftOf(entry)])),

    appendCommitted(entry) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        if (inFlight) return;
        if (queue.length >= GROUP_COMMIT_MAX_ROWS) void flush();
        else scheduled ??= setImmediate(() => void flush());
      });
    },

    async flush() {
      // A batch in flight leaves the rows queued meanwhile to the loop it runs; wait for both.
      await inFlight;
      await flush();
    },

    async list(query) {
      return (await store.audit.list(query)).map(toRecord);
    },

    async verify() {
      let expectedPrev = GENESIS_HASH;
      let expectedSeq = 1;
      /** Checks the rows of a page in order; returns the first problem. */
      const checkPage = (page: readonly AuditRow[]): string | undefined => {
        for (const row of page) {
          if (row.seq !== expectedSeq) return `row ${expectedSeq} is missing (next is ${row.seq})`;
          if (row.prevHash !== expectedPrev) return `row ${row.seq} does not follow row ${row.seq - 1}`;
          if (chainHash(row.prevHash, chainFields(row)) !== row.hash) return `row ${row.seq} was modified`;
          expectedPrev = row.hash;
          expectedSeq++;
        }
        return undefined;
      };
      const broken = (problem: string) => ({ ok: false as const, rows: expectedSeq, problem, head: null });
      // Page by page, without one long transaction: daemons keep appending meanwhile.
      for (;;) {
        const page = await store.audit.scan(expectedSeq - 1, VERIFY_PAGE_ROWS);
        const problem = checkPage(page);
        if (problem) return broken(problem);
        if (page.length < VERIFY_PAGE_ROWS) break;
      }
      // The head is written with the rows it ends: rows committed after the scan, up to the head, are checked too.
      const recorded = await store.audit.recordedHead();
      while (recorded !== undefined && headSeq(recorded) >= expectedSeq) {
        const page = await store.audit.scan(expectedSeq - 1, Math.min(VERIFY_PAGE_ROWS, headSeq(recorded) - expectedSeq + 1));
        if (page.length === 0) break;
        const problem = checkPage(page);
        if (problem) return broken(problem);
      }
      const rows = expectedSeq - 1;
      const head = rows === 0 ? null : { seq: rows, hash: expectedPrev };
      if (recorded !== (head ? `${head.seq}:${head.hash}` : undefined)) {
        return { ok: false, rows, problem: 'the last rows of the log were removed (the recorded head does not match)', head: null };
      }
      return { ok: true, rows, head };
    },
  };
}

/** The seq of a recorded head (`seq:hash`). */
function headSeq(recorded: string): number {
  return Number(recorded.slice(0, recorded.indexOf(':')));
}

function chainFields(row: AuditRow): ChainFields {
  return [row.seq, row.at, row.requestId, row.tokenId, row.tokenName, row.role, row.action, row.host, row.targetId, row.outcome, row.detail];
}

/** A row's hash: SHA-256 over the previous row's hash, a newline, and the JSON array of its fields. */
function chainHash(prevHash: string, fields: ChainFields): string {
  return createHash('sha256').update(chainText(prevHash, fields)).digest('hex');
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    requestId: row.requestId,
    tokenId: row.tokenId,
    tokenName: row.tokenName,
    role: row.role as Role | null,
    action: row.action,
    host: row.host,
    targetId: row.targetId,
    outcome: row.outcome as AuditOutcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    hash: row.hash,
  };
}
