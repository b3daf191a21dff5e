import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidRegistryHostError, normalizeRegistryHost } from '@dcs/shared';
import { CONNECTION_OPTIONS, parseVerbArgs, reportApiErrors, type AdminClient, type ConnectAdmin } from './admin-client.js';
import { UsageError, type CliIo } from './io.js';
import { jsonLine } from './output.js';

/**
 * The skeleton every admin verb shares: parse (the connection options included), check what can be
 * checked before anything is sent, connect, call the API, and print JSON or text; a failed call is one
 * line on stderr and exit 1 (reportApiErrors).
 */

/** A command's verbs, each run with its own arguments (after the verb), the CLI's io and the connector. */
export type AdminVerbs<Extra extends unknown[] = []> = Record<string, (args: string[], io: CliIo, connect: ConnectAdmin, ...extra: Extra) => Promise<number>>;

/**
 * Dispatches `scalr-credd <command> <verb> …`: prints the command's help for no verb or `help`
 * (exit 2 and 0), a verb's help for `--help`, and refuses an unknown verb with the list of known ones.
 */
export async function runAdminCommand<Extra extends unknown[]>(
  args: string[],
  io: CliIo,
  help: { command: string; verbs: Record<string, string> },
  verbs: AdminVerbs<Extra>,
  connect: ConnectAdmin,
  ...extra: Extra
): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    io.stdout(help.command);
    return verb === undefined ? 2 : 0;
  }
  const run = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
  if (!run) throw new UsageError(`unknown verb; use ${listWords(Object.keys(verbs))}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(help.verbs[verb]!);
    return 0;
  }
  return run(rest, io, connect, ...extra);
}

/** The connection options' help, shared by every admin verb. */
export const CONNECTION_HELP = `Connection (every verb):
  --url URL          the daemon: http://HOST:PORT, https://HOST:PORT or unix:PATH
                     (default $SCALR_CREDD_URL, else the socket in the default data dir)
  --token-file FILE  read the API token from FILE (default $SCALR_CREDD_TOKEN, else the file
                     named by $SCALR_CREDD_TOKEN_FILE); the token is never taken from an argument
  --json             print JSON instead of text
`;

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseAdminArgs returns for a verb's own options `O`. */
export type AdminArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: typeof CONNECTION_OPTIONS & O; strict: true; allowPositionals: true }>>;

/** Parses an admin verb's arguments: the connection options plus `options`, at most `maxPositionals` positionals. */
export function parseAdminArgs<const O extends Options = Record<never, never>>(args: string[], maxPositionals: number, options?: O): AdminArgs<O> {
  const all = { ...CONNECTION_OPTIONS, ...options } as typeof CONNECTION_OPTIONS & O;
  return parseVerbArgs(args, maxPositionals, (a) => parseArgs({ args: a, options: all, strict: true, allowPositionals: true }));
}

/** Connects with the verb's --url and --token-file and runs `call`; API errors become one line and exit 1. */
export function withAdminClient(
  values: { url?: string | undefined; 'token-file'?: string | undefined },
  io: CliIo,
  connect: ConnectAdmin,
  call: (client: AdminClient) => Promise<number>,
): Promise<number> {
  const client = connect({ url: values.url, tokenFile: values['token-file'] }, io);
  return reportApiErrors(io, () => call(client));
}

/** Prints `value` as one JSON line with --json, else `text`; returns exit code 0. */
export function printResult(io: CliIo, values: { json?: boolean | undefined }, value: unknown, text: () => string): number {
  io.stdout(values.json ? jsonLine(value) : text());
  return 0;
}

/** A registry host argument in canonical form; `label` prefixes the error (e.g. `--host`). */
export function hostArgument(text: string, label: string): string {
  try {
    return normalizeRegistryHost(text);
  } catch (error) {
    if (error instanceof InvalidRegistryHostError) throw new UsageError(`${label}: ${error.message}`);
    throw error;
  }
}

function listWords(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
