import { parseArgs } from 'node:util';
import { InvalidRegistryHostError, MAX_TOKEN_TTL_SECONDS, ROLES, normalizeRegistryHost, type Role, type TokenSummary } from '@dcs/shared';
import { CONNECTION_OPTIONS, connectAdmin, parseVerbArgs, reportApiErrors, type ConnectAdmin, type NewToken } from './admin-client.js';
import { UsageError, type CliIo } from './io.js';
import { formatTable, jsonLine } from './output.js';

const COMMON_HELP = `Connection (every verb):
  --url URL          the daemon: http://HOST:PORT, https://HOST:PORT or unix:PATH
                     (default $SCALR_CREDD_URL, else the socket in the default data dir)
  --token-file FILE  read the API token from FILE (default $SCALR_CREDD_TOKEN, else the file
                     named by $SCALR_CREDD_TOKEN_FILE); the token is never taken from an argument
  --json             print JSON instead of text
`;

/** Help text of `scalr-credd token`. */
export const TOKEN_HELP = `Usage: scalr-credd token <verb> [options]

Manages API tokens (roles: ${ROLES.join(', ')}).

  create --name NAME --role ROLE [--ttl TTL] [--host HOST]...
                     mint a token; its value is printed once
  list               list tokens (never their values)
  revoke ID          revoke a token (tok_...)

${COMMON_HELP}
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

${COMMON_HELP}`,
  list: `Usage: scalr-credd token list [--json]

Lists tokens: id, name, role, hosts, expiry and status; never their values.
With --json prints {"tokens": [...]} as the API answers it.

${COMMON_HELP}`,
  revoke: `Usage: scalr-credd token revoke ID [--json]

Revokes the token with id ID (tok_..., see 'scalr-credd token list'). The last active admin
token cannot be revoked.

${COMMON_HELP}`,
};

const TOKEN_ID = /^tok_[0-9a-f]{16}$/;
const TTL_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** Runs `scalr-credd token <verb>`; `connect` builds the API client (a fake in tests). */
export async function runTokenCommand(args: string[], io: CliIo, connect: ConnectAdmin = connectAdmin): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    io.stdout(TOKEN_HELP);
    return verb === undefined ? 2 : 0;
  }
  const run = VERBS[verb];
  if (!run) throw new UsageError('unknown verb; use create, list or revoke');
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(VERB_HELP[verb]!);
    return 0;
  }
  return run(rest, io, connect);
}

type Verb = (args: string[], io: CliIo, connect: ConnectAdmin) => Promise<number>;

const VERBS: Record<string, Verb> = {
  async create(args, io, connect) {
    const { values } = parseVerbArgs(args, 0, (a) =>
      parseArgs({
        args: a,
        options: {
          ...CONNECTION_OPTIONS,
          name: { type: 'string' },
          role: { type: 'string' },
          ttl: { type: 'string' },
          host: { type: 'string', multiple: true },
        },
        strict: true,
        allowPositionals: true,
      }),
    );
    if (values.name === undefined) throw new UsageError('--name is required');
    if (values.role === undefined) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
    if (!(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const body: NewToken = { name: values.name, role: values.role as Role };
    if (values.ttl !== undefined) body.ttlSeconds = parseTtl(values.ttl);
    if (values.host?.length) body.hosts = values.host.map(hostArgument);
    const client = connect({ url: values.url, tokenFile: values['token-file'] }, io);
    return reportApiErrors(io, async () => {
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
    const { values } = parseVerbArgs(args, 0, (a) => parseArgs({ args: a, options: CONNECTION_OPTIONS, strict: true, allowPositionals: true }));
    const client = connect({ url: values.url, tokenFile: values['token-file'] }, io);
    return reportApiErrors(io, async () => {
      const tokens = await client.listTokens();
      if (values.json) {
        io.stdout(jsonLine({ tokens }));
        return 0;
      }
      const now = new Date().toISOString();
      const rows = tokens.map((t) => [t.id, t.name, t.role, t.hosts?.join(',') ?? '*', t.expiresAt ?? 'never', status(t, now)]);
      io.stdout(formatTable(['ID', 'NAME', 'ROLE', 'HOSTS', 'EXPIRES', 'STATUS'], rows, 'no tokens'));
      return 0;
    });
  },

  async revoke(args, io, connect) {
    const { values, positionals } = parseVerbArgs(args, 1, (a) =>
      parseArgs({ args: a, options: CONNECTION_OPTIONS, strict: true, allowPositionals: true }),
    );
    const id = positionals[0];
    if (id === undefined) throw new UsageError('give the id of the token to revoke: scalr-credd token revoke tok_...');
    // Never echo it: a token value pasted here by mistake must not be printed back.
    if (!TOKEN_ID.test(id)) throw new UsageError("that is not a token id (tok_ and 16 hex digits; see 'scalr-credd token list')");
    const client = connect({ url: values.url, tokenFile: values['token-file'] }, io);
    return reportApiErrors(io, async () => {
      await client.revokeToken(id);
      io.stdout(values.json ? jsonLine({ id, revoked: true }) : `revoked token ${id}\n`);
      return 0;
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

function hostArgument(text: string): string {
  try {
    return normalizeRegistryHost(text);
  } catch (error) {
    if (error instanceof InvalidRegistryHostError) throw new UsageError(`--host: ${error.message}`);
    throw error;
  }
}

function status(token: TokenSummary, now: string): string {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return 'active';
}
