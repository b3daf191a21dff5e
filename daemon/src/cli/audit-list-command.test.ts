import { describe, expect, it } from 'vitest';
import { recordingIo } from '../../../test/support/cli-io.js';
import type { AdminClient, AuditListQuery } from './admin-client.js';
import { runAuditList, sinceArgument } from './audit-list-command.js';
import { UsageError } from './io.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');

/** A client whose listAudit records each query and answers an empty last page. */
function recordingClient() {
  const queries: AuditListQuery[] = [];
  const client = {
    url: 'unix:/fake',
    listAudit: async (query: AuditListQuery) => (queries.push(query), { events: [], nextCursor: null }),
  } as unknown as AdminClient;
  return { queries, connect: () => client };
}

describe('audit list arguments', () => {
  it('turns an age into the instant that long ago and passes a date-time as is', () => {
    expect(sinceArgument('30m', NOW)).toBe('2026-03-10T11:30:00.000Z');
    expect(sinceArgument('12h', NOW)).toBe('2026-03-10T00:00:00.000Z');
    expect(sinceArgument('7d', NOW)).toBe('2026-03-03T12:00:00.000Z');
    expect(sinceArgument('2026-03-01T00:00:00+01:00', NOW)).toBe('2026-03-01T00:00:00+01:00');
    expect(() => sinceArgument('yesterday', NOW)).toThrow(UsageError);
  });

  it('asks newest first by default, with the filters in canonical form', async () => {
    const { queries, connect } = recordingClient();
    const io = recordingIo();

    const code = await runAuditList(['--since', '1h', '--host', 'https://GHCR.io/', '--action', 'credential.get', '--token', 'tok_0000000000000001'], io, connect, () => NOW);

    expect(code).toBe(0);
    expect(queries).toEqual([
      { order: 'desc', since: '2026-03-10T11:00:00.000Z', host: 'ghcr.io', action: 'credential.get', token: 'tok_0000000000000001', limit: 50 },
    ]);
    expect(io.out.join('')).toBe('no events\n');
  });

  it('asks in log order with --oldest-first and refuses a limit out of range before connecting', async () => {
    const { queries, connect } = recordingClient();
    await runAuditList(['--oldest-first', '--limit', '3'], recordingIo(), connect);
    expect(queries).toEqual([{ order: 'asc', limit: 3 }]);

    await expect(runAuditList(['--limit', '0'], recordingIo(), connect)).rejects.toThrow('--limit takes a number from 1 to 10000');
    await expect(runAuditList(['--limit', '10001'], recordingIo(), connect)).rejects.toThrow(UsageError);
    expect(queries).toHaveLength(1);
  });
});
