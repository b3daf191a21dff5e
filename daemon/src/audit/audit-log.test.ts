import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import { GROUP_COMMIT_MAX_ROWS, createAuditLog, type AuditEntry, type AuditLog } from './audit-log.js';

let store: SqliteStore;
let audit: AuditLog;
let clock: number;

const EVENTS: AuditEntry[] = [
  { action: 'token.create', outcome: 'ok', targetId: 'tok_0000000000000001', detail: { role: 'admin', bootstrap: true } },
  { action: 'integration.create', outcome: 'ok', requestId: 'r1', tokenId: 'tok_0000000000000001', host: 'ghcr.io', targetId: 'int_0000000000000001' },
  { action: 'credential.get', outcome: 'ok', requestId: 'r2', tokenId: 'tok_0000000000000002', role: 'runner', host: 'ghcr.io' },
  { action: 'credential.get', outcome: 'not_found', requestId: 'r3', tokenId: 'tok_0000000000000002', host: 'quay.io' },
  { action: 'auth.failed', outcome: 'denied', requestId: 'r4', detail: { reason: 'unknown', source: '127.0.0.1' } },
];

beforeEach(() => {
  store = openSqliteStore(':memory:');
  clock = Date.parse('2026-03-02T09:00:00.000Z');
  audit = createAuditLog(store, () => new Date((clock += 1000)));
});

afterEach(() => store.close());

async function appendAll(events: AuditEntry[] = EVENTS): Promise<void> {
  for (const event of events) await audit.append(event);
}

/** What verify reports for an intact log of `rows` rows: ok, and its last row as the head. */
function intact(rows: number) {
  return { ok: true, rows, head: rows === 0 ? null : { seq: rows, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } };
}

describe('AuditLog.verify', () => {
  it('reports ok with the row count when nothing was touched', async () => {
    await appendAll();

    expect(await audit.verify()).toEqual(intact(EVENTS.length));
  });

  it('reports ok for an empty log', async () => {
    expect(await audit.verify()).toEqual(intact(0));
  });

  it.each([
    ['the outcome', "outcome = 'ok'"],
    ['the host', "host = 'evil.example.com'"],
    ['the time', "at = '2020-01-01T00:00:00.000Z'"],
    ['the detail', `detail = '{"reason":"mismatch","source":"127.0.0.1"}'`],
  ])('detects a row whose %s was changed', async (_field, assignment) => {
    await appendAll();

    store.db.prepare(`UPDATE audit_events SET ${assignment} WHERE seq = 4`).run();

    expect(await audit.verify()).toMatchObject({ ok: false, rows: 4 });
  });

  it('detects a row whose stored hash was replaced', async () => {
    await appendAll();
    const row3 = store.db.prepare('SELECT hash FROM audit_events WHERE seq = 3').pluck().get() as string;

    store.db.prepare("UPDATE audit_events SET hash = ? WHERE seq = 3").run(row3.replace(/^./, row3.startsWith('0') ? '1' : '0'));

    expect(await audit.verify()).toMatchObject({ ok: false, rows: 3 });
  });

  it.each([
    ['a deleted middle row', 'DELETE FROM audit_events WHERE seq = 3', 3],
    ['a deleted last row through the recorded head', `DELETE FROM audit_events WHERE seq = ${EVENTS.length}`, EVENTS.length - 1],
    ['that every row was deleted through the recorded head', 'DELETE FROM audit_events', 0],
  ])('detects %s', async (_what, sql, rows) => {
    await appendAll();

    store.db.prepare(sql).run();

    expect(await audit.verify()).toMatchObject({ ok: false, rows });
  });

  it('keeps verifying after more rows are appended to a verified log', async () => {
    await appendAll();
    await audit.verify();

    await appendAll();

    expect(await audit.verify()).toEqual(intact(EVENTS.length * 2));
  });
});

describe('AuditLog.append', () => {
  it('stores the event fields, a timestamp from the clock and a chained hash', async () => {
    await appendAll(EVENTS.slice(0, 2));

    const rows = await audit.list({ limit: 10 });

    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      seq: 2,
      at: '2026-03-02T09:00:02.000Z',
      requestId: 'r1',
      tokenId: 'tok_0000000000000001',
      tokenName: null,
      action: 'integration.create',
      host: 'ghcr.io',
      targetId: 'int_0000000000000001',
      outcome: 'ok',
      detail: null,
    });
    expect(rows[0]!.detail).toEqual({ role: 'admin', bootstrap: true });
    expect(rows[1]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.hash).not.toBe(rows[0]!.hash);
  });

  it('throws when the row cannot be written', async () => {
    await store.close();

    await expect(audit.append(EVENTS[0]!)).rejects.toThrow();
  });
});

describe('AuditLog.list', () => {
  it.each([
    ['host', { host: 'ghcr.io' }, [2, 3]],
    ['action', { action: 'credential.get' }, [3, 4]],
    ['token id', { tokenId: 'tok_0000000000000002' }, [3, 4]],
    ['cursor', { after: 3 }, [4, 5]],
    ['since', { since: '2026-03-02T09:00:04.000Z' }, [4, 5]],
    ['limit', { limit: 2 }, [1, 2]],
  ])('filters by %s', async (_label, query, seqs) => {
    await appendAll();

    const rows = await audit.list({ limit: 100, ...query });

    expect(rows.map((row) => row.seq)).toEqual(seqs);
  });
});

describe('AuditLog.appendCommitted (group commit)', () => {
  const lookupEvent = (n: number, host = 'ghcr.io'): AuditEntry => ({
    action: 'credential.get',
    outcome: 'ok',
    requestId: `lookup-${n}`,
    tokenId: 'tok_0000000000000002',
    host,
  });
  let dirs: string[] = [];

  afterEach(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  /** Two connections to one database file, as the daemon and an offline CLI command have. */
  function twoConnections(): { first: SqliteStore; second: SqliteStore } {
    const dir = mkdtempSync(join(tmpdir(), 'scalr-audit-batch-'));
    dirs.push(dir);
    const path = join(dir, 'store.db');
    return { first: openSqliteStore(path), second: openSqliteStore(path) };
  }

  it('writes nothing until the flush, then every row in call order in one transaction', async () => {
    const commits: number[] = [];
    const waiters = [1, 2, 3, 4, 5].map((n) => audit.appendCommitted(lookupEvent(n)).then(() => commits.push(n)));

    expect(await audit.list({ limit: 100 })).toEqual([]);
    await Promise.all(waiters);

    expect((await audit.list({ limit: 100 })).map((row) => [row.seq, row.requestId])).toEqual([1, 2, 3, 4, 5].map((n) => [n, `lookup-${n}`]));
    expect(commits).toEqual([1, 2, 3, 4, 5]);
    expect(await audit.verify()).toEqual(intact(5));
  });

  it('resolves each waiter only once its row is committed and visible to another connection', async () => {
    const { first, second } = twoConnections();
    const writer = createAuditLog(first);
    const reader = createAuditLog(second);
    const seen: number[] = [];

    await Promise.all([1, 2, 3].map((n) => writer.appendCommitted(lookupEvent(n)).then(async () => seen.push((await reader.list({ limit: 100 })).length))));

    expect(seen).toEqual([3, 3, 3]);
    await first.close();
    await second.close();
  });

  it('flushes at once when the queue is full', async () => {
    const waiters = Array.from({ length: GROUP_COMMIT_MAX_ROWS }, (_, i) => audit.appendCommitted(lookupEvent(i + 1)));

    expect(await audit.list({ limit: 1_000 })).toHaveLength(GROUP_COMMIT_MAX_ROWS);
    await Promise.all(waiters);
    expect(await audit.verify()).toEqual(intact(GROUP_COMMIT_MAX_ROWS));
  });

  it('keeps one valid chain while another connection appends between and around the batches', async () => {
    const { first, second } = twoConnections();
    const daemon = createAuditLog(first);
    const cli = createAuditLog(second);
    const pending: Promise<void>[] = [];

    for (let round = 0; round < 5; round++) {
      for (let n = 0; n < 4; n++) pending.push(daemon.appendCommitted(lookupEvent(round * 10 + n)));
      // The other process commits while the daemon's rows are queued: the batch must read the new tail.
      await cli.append({ action: 'key.rotate', outcome: 'ok', detail: { round } });
      await daemon.append({ action: 'token.create', outcome: 'ok', targetId: `tok_${round}` });
      await Promise.all(pending);
    }

    expect(await cli.verify()).toEqual(intact(30));
    expect(await daemon.verify()).toEqual(intact(30));
    const actions = (await daemon.list({ limit: 100 })).map((row) => row.action);
    // Per round: the two synchronous rows committed first, then the batch of four lookups.
    expect(actions.slice(0, 6)).toEqual(['key.rotate', 'token.create', 'credential.get', 'credential.get', 'credential.get', 'credential.get']);
    await first.close();
    await second.close();
  });

  it('rejects every waiter of a batch and writes none of its rows when one row fails', async () => {
    await appendAll();
    store.db.exec(`CREATE TRIGGER refuse_one BEFORE INSERT ON audit_events WHEN NEW.host = 'fail.example' BEGIN SELECT RAISE(ABORT, 'audit disk full'); END`);

    const results = await Promise.allSettled([
      audit.appendCommitted(lookupEvent(1)),
      audit.appendCommitted(lookupEvent(2, 'fail.example')),
      audit.appendCommitted(lookupEvent(3)),
    ]);

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await audit.list({ limit: 100 })).toHaveLength(EVENTS.length);
    expect(await audit.verify()).toEqual(intact(EVENTS.length));
    // The next batch starts clean and extends the chain.
    await audit.appendCommitted(lookupEvent(4));
    expect(await audit.verify()).toEqual(intact(EVENTS.length + 1));
  });

  it('rejects every waiter when another process holds the write lock past the busy timeout', async () => {
    const { first, second } = twoConnections();
    first.db.pragma('busy_timeout = 50');
    const daemon = createAuditLog(first);
    second.db.exec('BEGIN IMMEDIATE');

    const results = await Promise.allSettled([daemon.appendCommitted(lookupEvent(1)), daemon.appendCommitted(lookupEvent(2))]);

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    second.db.exec('ROLLBACK');
    expect(await daemon.verify()).toEqual(intact(0));
    await first.close();
    await second.close();
  });

  it('writes the queued rows on flush() without waiting for the next turn', async () => {
    void audit.appendCommitted(lookupEvent(1));

    await audit.flush();

    expect(await audit.list({ limit: 100 })).toHaveLength(1);
  });
});
