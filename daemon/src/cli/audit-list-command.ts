import type { AuditEvent } from '@dcs/shared';
import { connectAdmin, type AuditListQuery, type ConnectAdmin } from './admin-client.js';
import { CONNECTION_HELP, hostArgument, parseAdminArgs, printResult, withAdminClient } from './admin-verb.js';
import { UsageError, type CliIo } from './io.js';
import { formatTable } from './output.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;
/** Events asked per request; a page of the API may hold up to 500. */
const PAGE_SIZE = 200;
const AGE_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Help text of `scalr-credd audit list`. */
export const AUDIT_LIST_HELP = `Usage: scalr-credd audit list [--since WHEN] [--host HOST] [--action ACTION] [--token ID]
                              [--limit N] [--oldest-first] [--json]

Prints audit events over the API (admin or auditor token; a host-limited token sees its hosts' events),
newest first.

  --since WHEN     events at or after WHEN: an ISO-8601 date-time with Z or an offset
                   (2026-04-01T00:00:00Z), or an age: a number with m, h or d (30m, 12h, 7d)
  --host HOST      events naming this registry host (any client form)
  --action ACTION  events of this action, e.g. credential.get, auth.failed, token.create
  --token ID       events of this token (tok_...)
  --limit N        at most N events (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})
  --oldest-first   in log order instead
  --json           print {"events": [...]} with every field (hash included)

Each page read is itself recorded in the log (audit.read). To check the chain and export its head,
run 'scalr-credd audit verify' on the daemon's host.

${CONNECTION_HELP}`;

/** Runs `scalr-credd audit list`; `connect` builds the API client (a fake in tests), `now` dates an age. */
export async function runAuditList(args: string[], io: CliIo, connect: ConnectAdmin = connectAdmin, now: () => Date = () => new Date()): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) return (io.stdout(AUDIT_LIST_HELP), 0);
  const { values } = parseAdminArgs(args, 0, {
    since: { type: 'string' },
    host: { type: 'string' },
    action: { type: 'string' },
    token: { type: 'string' },
    limit: { type: 'string' },
    'oldest-first': { type: 'boolean' },
  });
  const limit = values.limit === undefined ? DEFAULT_LIMIT : limitArgument(values.limit);
  const query: Omit<AuditListQuery, 'limit'> = {
    order: values['oldest-first'] ? 'asc' : 'desc',
    ...(values.since === undefined ? {} : { since: sinceArgument(values.since, now()) }),
    ...(values.host === undefined ? {} : { host: hostArgument(values.host, '--host') }),
    ...(values.action === undefined ? {} : { action: values.action }),
    ...(values.token === undefined ? {} : { token: values.token }),
  };
  return withAdminClient(values, io, connect, async (client) => {
    const events: AuditEvent[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await client.listAudit({ ...query, limit: Math.min(PAGE_SIZE, limit - events.length), ...(cursor ? { cursor } : {}) });
      events.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor !== null && events.length < limit);
    return printResult(io, values, { events }, () =>
      formatTable(
        ['SEQ', 'AT', 'ACTION', 'OUTCOME', 'HOST', 'TOKEN', 'ROLE', 'DETAIL'],
        events.map((e) => [String(e.seq), e.at, e.action, e.outcome, e.host ?? '-', e.tokenId ?? '-', e.role ?? '-', detailText(e.detail)]),
        'no events',
      ),
    );
  });
}

/** An ISO-8601 date-time passes as is (the API checks it); an age such as 7d becomes the instant that long ago. */
export function sinceArgument(text: string, now: Date): string {
  const age = /^([0-9]{1,6})([mhd])$/.exec(text.trim());
  if (age) return new Date(now.getTime() - Number(age[1]) * AGE_UNITS[age[2]!]!).toISOString();
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(text)) return text;
  throw new UsageError('--since takes an ISO-8601 date-time (2026-04-01T00:00:00Z) or an age such as 30m, 12h or 7d');
}

function limitArgument(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_LIMIT) {
    throw new UsageError(`--limit takes a number from 1 to ${MAX_LIMIT}`);
  }
  return Number(text);
}

/** `key=value` pairs on one line; values that are not strings as JSON. */
function detailText(detail: AuditEvent['detail']): string {
  if (!detail) return '';
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}
