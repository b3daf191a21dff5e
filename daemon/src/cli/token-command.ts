import { MAX_TOKEN_TTL_SECONDS, ROLES, type Role, type TokenSummary } from '@dcs/shared';
import { TOKEN_ID, connectAdmin, type ConnectAdmin, type NewToken } from './admin-client.js';
import { CONNECTION_HELP, hostArgument, parseAdminArgs, printResult, runAdminCommand, withAdminClient, type AdminVerbs } from './admin-verb.js';
import { UsageError, type CliIo } from './io.js';
import { formatFields, formatTable, jsonLine } from './output.js';

/** Help text of `scalr-credd token`. */
export const TOKEN_HELP = `Usage: scalr-credd token <verb> [options]

Manages API tokens (roles: ${ROLES.join(', ')}).

  create --name NAME --role ROLE [--ttl TTL] [--host HOST]...
                     mint a token; its value is printed once
  list               list tokens (never their values)
  revoke ID          revoke a token (tok_...)

${CONNECTION_HELP}
Example:
  scalr-credd token create --name ci-runner --role runner --ttl 1h --host ghcr.io

Run 'scalr-credd token <verb> --help' for a verb's options.
`;

const VERB_HELP: Record<string, string> = {
  create: `Usage: scalr-credd token create --name NAME --role ROLE [--ttl TTL] [--host HOST]... [--json]

Mints a token and prints its value once on stdout (details go to stderr), so that
  RUNNER_TOKEN=$(scalr-credd token create --name ci --role runner --ttl 1h --host ghcr.io)
captures just the value. With --json prints the created token, value included, as JSON.

  --name NAME    a label for people
  --role ROLE    ${ROLES.join(', ')}
  --ttl TTL      lifetime: SECONDS, or a number with s, m, h or d (30m, 1h, 7d); at least 60
                 seconds, at most 365 days; default: no expiry
  --host HOST    limit the token to a registry host; repeat for more hosts; default: every host

${CONNECTION_HELP}`,
  list: `Usage: scalr-credd token list [--json]

Lists tokens: id, name, role, hosts, expiry and status; never their values.
With --json prints {"tokens": [...]} as the API answers it.

${CONNECTION_HELP}`,
  revoke: `Usage: scalr-credd token revoke ID [--json]

Revokes the token with id ID (tok_..., see 'scalr-credd token list'). The last active admin
token cannot be revoked.

${CONNECTION_HELP}`,
};

/** Help text of `scalr-credd whoami`. */
export const WHOAMI_HELP = `Usage: scalr-credd whoami [--json]

Asks the daemon about the token this CLI presents: its id, name, role, hosts and expiry (never its
value). Any role may ask, so it also checks a runner's token. Exit status 0 when the daemon accepts
the token, 1 otherwise (the reason is printed). With --json prints the API's answer.

${CONNECTION_HELP}`;

/** Runs `scalr-credd whoami`; `connect` builds the API client (a fake in tests). */
export async function runWhoami(args: string[], io: CliIo, connect: ConnectAdmin = connectAdmin, now: () => Date = () => new Date()): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) return (io.stdout(WHOAMI_HELP), 0);
  const { values } = parseAdminArgs(args, 0);
  return withAdminClient(values, io, connect, async (client) => {
    const me = await client.whoami();
    return printResult(io, values, me, () =>
      formatFields([
        ['token', me.id],
        ['name', me.name],
        ['role', me.role],
        ['hosts', me.hosts?.join(', ') ?? 'all'],
        ['expires', me.expiresAt === null ? 'never' : `${me.expiresAt} (${timeLeft(me.expiresAt, now())})`],
        ['daemon', client.url],
      ]),
    );
  });
}

/** How long until `at`, roughly: "in 3 days", "in 5 hours", "in 12 minutes", "expired". */
function timeLeft(at: string, now: Date): string {
  const minutes = Math.floor((Date.parse(at) - now.getTime()) / 60_000);
  if (minutes < 0) return 'expired';
  const [count, unit] = minutes >= 2 * 1440 ? [Math.floor(minutes / 1440), 'day'] : minutes >= 120 ? [Math.floor(minutes / 60), 'hour'] : [minutes, 'minute'];
  return `in ${count} ${unit}${count === 1 ? '' : 's'}`;
}

const TTL_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** Runs `scalr-credd token <verb>`; `connect` builds the API client (a fake in tests). */
export function runTokenCommand(args: string[], io: CliIo, connect: ConnectAdmin = connectAdmin): Promise<number> {
  return runAdminCommand(args, io, { command: TOKEN_HELP, verbs: VERB_HELP }, VERBS, connect);
}

const VERBS: AdminVerbs = {
  async create(args, io, connect) {
    const { values } = parseAdminArgs(args, 0, {
      name: { type: 'string' },
      role: { type: 'string' },
      ttl: { type: 'string' },
      host: { type: 'string', multiple: true },
    });
    if (values.name === undefined) throw new UsageError('--name is required');
    if (values.role === undefined) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
    if (!(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const body: NewToken = { name: values.name, role: values.role as Role };
    if (values.ttl !== undefined) body.ttlSeconds = parseTtl(values.ttl);
    if (values.host?.length) body.hosts = values.host.map((host) => hostArgument(host, '--host'));
    return withAdminClient(values, io, connect, async (client) => {
      const created = await client.createToken(body);
      if (values.json) {
        io.stdout(jsonLine(created));
      } else {
        io.stdout(`${created.token}\n`);
        io.stderr(
          `scalr-credd: created token ${created.id} "${created.name}" (role ${created.role}, hosts ${created.hosts?.join(', ') ?? 'all'}, ` +
            `expires ${created.expiresAt ?? 'never'}); the value above is shown only once\n`,
        );
      }
      return 0;
    });
  },

  async list(args, io, connect) {
    const { values } = parseAdminArgs(args, 0);
    return withAdminClient(values, io, connect, async (client) => {
      const tokens = await client.listTokens();
      return printResult(io, values, { tokens }, () => {
        const now = new Date().toISOString();
        const rows = tokens.map((t) => [t.id, t.name, t.role, t.hosts?.join(',') ?? '*', t.expiresAt ?? 'never', status(t, now)]);
        return formatTable(['ID', 'NAME', 'ROLE', 'HOSTS', 'EXPIRES', 'STATUS'], rows, 'no tokens');
      });
    });
  },

  async revoke(args, io, connect) {
    const { values, positionals } = parseAdminArgs(args, 1);
    const id = positionals[0];
    if (id === undefined) throw new UsageError('give the id of the token to revoke: scalr-credd token revoke tok_...');
    // Never echo it: a token value pasted here by mistake must not be printed back.
    if (!TOKEN_ID.test(id)) throw new UsageError("that is not a token id (tok_ and 16 hex digits; see 'scalr-credd token list')");
    return withAdminClient(values, io, connect, async (client) => {
      await client.revokeToken(id);
      return printResult(io, values, { id, revoked: true }, () => `revoked token ${id}\n`);
    });
  },
};

/** Parses `SECONDS` or a number with s, m, h or d; checks the API's bounds. */
export function parseTtl(text: string): number {
  const match = /^([0-9]{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) throw new UsageError('--ttl must be SECONDS or a number with s, m, h or d (e.g. 3600, 30m, 1h, 7d)');
  const seconds = Number(match[1]) * TTL_UNITS[match[2]!]!;
  if (seconds < 60) throw new UsageError('--ttl must be at least 60 seconds');
  if (seconds > MAX_TOKEN_TTL_SECONDS) throw new UsageError('--ttl must be at most 365 days');
  return seconds;
}

function status(token: TokenSummary, now: string): string {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return 'active';
}
