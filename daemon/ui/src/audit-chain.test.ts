import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { AuditEvent } from './contract.js';
import { checkChain } from './audit-chain.js';

/** Rows written by the daemon's audit log, as GET /v1/audit lists them. */
async function writtenEvents(): Promise<AuditEvent[]> {
  const audit = createAuditLog(openSqliteStore(':memory:'));
  await audit.append({ action: 'token.create', outcome: 'ok', tokenId: 'tok_0123456789abcdef', detail: { role: 'runner', hosts: ['ghcr.io'], expiresAt: null } });
  await audit.append({ action: 'integration.create', outcome: 'ok', host: 'ghcr.io', targetId: 'int_0123456789abcdef' });
  await audit.append({ action: 'credential.get', outcome: 'not_found', host: 'ghcr.io', requestId: 'r-1', detail: { count: 2, exported: false } });
  await audit.append({ action: 'auth.failed', outcome: 'denied', detail: { reason: 'expired', source: '127.0.0.1' } });
  return (await audit.list({ limit: 10 })) as AuditEvent[];
}

describe('checkChain (the console\'s check of the rows it shows)', () => {
  it('verifies the links between consecutive rows exactly as the daemon hashed them', async () => {
    const events = await writtenEvents();

    expect(await checkChain([...events].reverse())).toEqual({ kind: 'verified', links: 3, from: 1, to: 4 });
  });

  it('reports the first changed row: a changed field, or a detail with a value changed', async () => {
    const changedHost = (await writtenEvents()).map((event) => (event.seq === 2 ? { ...event, host: 'evil.example' } : event));
    const changedDetail = (await writtenEvents()).map((event) => (event.seq === 3 ? { ...event, detail: { count: 3, exported: false } } : event));

    expect(await checkChain(changedHost)).toEqual({ kind: 'broken', seq: 2 });
    expect(await checkChain(changedDetail)).toEqual({ kind: 'broken', seq: 3 });
  });

  it('checks nothing when no two shown rows are consecutive', async () => {
    const gapped = (await writtenEvents()).filter((event) => event.seq % 2 === 1);

    expect((await checkChain(gapped)).kind).toBe('unchecked');
  });
});
