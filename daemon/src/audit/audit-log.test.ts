import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../store/database.js';
import { createAuditLog, type AuditEvent, type AuditLog } from './audit-log.js';

let db: Db;
let audit: AuditLog;
let clock: number;

const EVENTS: AuditEvent[] = [
  { action: 'token.create', outcome: 'ok', targetId: 'tok_0000000000000001', detail: { role: 'admin', bootstrap: true } },
  { action: 'integration.create', outcome: 'ok', requestId: 'r1', tokenId: 'tok_0000000000000001', host: 'ghcr.io', targetId: 'int_0000000000000001' },
  { action: 'credential.get', outcome: 'ok', requestId: 'r2', tokenId: 'tok_0000000000000002', role: 'runner', host: 'ghcr.io' },
  { action: 'credential.get', outcome: 'not_found', requestId: 'r3', tokenId: 'tok_0000000000000002', host: 'quay.io' },
  { action: 'auth.failed', outcome: 'denied', requestId: 'r4', detail: { reason: 'unknown', source: '127.0.0.1' } },
];

beforeEach(() => {
  db = openDatabase(':memory:');
  clock = Date.parse('2026-03-02T09:00:00.000Z');
  audit = createAuditLog(db, () => new Date((clock += 1000)));
});

function appendAll(events: AuditEvent[] = EVENTS): void {
  for (const event of events) audit.append(event);
}

describe('AuditLog.verify', () => {
  it('reports ok with the row count when nothing was touched', () => {
    appendAll();

    expect(audit.verify()).toEqual({ ok: true, rows: EVENTS.length });
  });

  it('reports ok for an empty log', () => {
    expect(audit.verify()).toEqual({ ok: true, rows: 0 });
  });

  it.each([
    ['the outcome', "outcome = 'ok'"],
    ['the host', "host = 'evil.example.com'"],
    ['the time', "at = '2020-01-01T00:00:00.000Z'"],
    ['the detail', `detail = '{"reason":"mismatch","source":"127.0.0.1"}'`],
  ])('detects a row whose %s was changed', (_field, assignment) => {
    appendAll();

    db.prepare(`UPDATE audit_events SET ${assignment} WHERE seq = 4`).run();

    expect(audit.verify()).toMatchObject({ ok: false, rows: 4 });
  });

  it('detects a row whose stored hash was replaced', () => {
    appendAll();
    const row3 = db.prepare('SELECT hash FROM audit_events WHERE seq = 3').pluck().get() as string;

    db.prepare("UPDATE audit_events SET hash = ? WHERE seq = 3").run(row3.replace(/^./, row3.startsWith('0') ? '1' : '0'));

    expect(audit.verify()).toMatchObject({ ok: false, rows: 3 });
  });

  it('detects a deleted middle row', () => {
    appendAll();

    db.prepare('DELETE FROM audit_events WHERE seq = 3').run();

    expect(audit.verify()).toMatchObject({ ok: false, rows: 3 });
  });

  it('detects a deleted last row through the recorded head', () => {
    appendAll();

    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(EVENTS.length);

    expect(audit.verify()).toMatchObject({ ok: false, rows: EVENTS.length - 1 });
  });

  it('detects that every row was deleted through the recorded head', () => {
    appendAll();

    db.prepare('DELETE FROM audit_events').run();

    expect(audit.verify()).toMatchObject({ ok: false, rows: 0 });
  });

  it('keeps verifying after more rows are appended to a verified log', () => {
    appendAll();
    audit.verify();

    appendAll();

    expect(audit.verify()).toEqual({ ok: true, rows: EVENTS.length * 2 });
  });
});

describe('AuditLog.append', () => {
  it('stores the event fields, a timestamp from the clock and a chained hash', () => {
    appendAll(EVENTS.slice(0, 2));

    const rows = audit.list({ limit: 10 });

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

  it('throws when the row cannot be written', () => {
    db.close();

    expect(() => audit.append(EVENTS[0]!)).toThrow();
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
  ])('filters by %s', (_label, query, seqs) => {
    appendAll();

    const rows = audit.list({ limit: 100, ...query });

    expect(rows.map((row) => row.seq)).toEqual(seqs);
  });
});
