import { ConfigError } from '../errors.js';
import { VERSION } from '../version.js';
import { type CliIo, UsageError, usageErrorFromParseArgs } from './io.js';

/** Top-level help. */
export const MAIN_HELP = `Usage: scalr-credd <command> [options]

Daemon:
  init                      create a new store and print the first admin token
  serve                     serve the API (creates an SQLite store on first run)
  migrate                   bring a store's schema up to date (PostgreSQL: before restarting daemons)

Operations (offline, on the data dir or --store URL; safe while serve runs, except restore):
  audit verify              check the audit log's hash chain (no key needed)
  verify                    check schema, keyring, row MACs and audit chain (with the root key)
  rotate [--reseal]         add a data-key term (and re-seal older secrets)
  reseal                    re-seal secrets of older terms with the active term
  rekey --new-key-file F    replace the root key
  backup --out FILE         consistent online copy of the database (ciphertext only)
  restore --from FILE       replace the database with a backup (daemon stopped)
  token recover-admin       mint a new admin token with the root key (lost admin access)

Admin (over the HTTP API; SCALR_CREDD_URL and SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE):
  integration add|list|show|update|test|rm
                            manage registry credentials (secrets are read from stdin)
  token create|list|revoke  manage API tokens
  whoami                    the token's id, name, role, hosts and expiry (any role)
  audit list                audit events, newest first (admin, auditor)

  version                   print the version
Run 'scalr-credd <command> --help' for a command's options.
`;

type Command = (args: string[], io: CliIo) => number | Promise<number>;

// Each command loads its own modules on first use: `scalr-credd token list` need not load
// express, SQLite and the barrier, and `serve` need not load the admin client.
const COMMANDS: Record<string, Command> = {
  init: async (args, io) => (await import('./init-command.js')).runInit(args, io),
  serve: async (args, io) => (await import('./serve-command.js')).runServe(args, io),
  migrate: async (args, io) => (await import('./migrate-command.js')).runMigrate(args, io),
  integration: async (args, io) => (await import('./integration-command.js')).runIntegrationCommand(args, io),
  // recover-admin is offline (root key, no API); the other token verbs talk to the daemon.
  token: async (args, io) =>
    args[0] === 'recover-admin'
      ? (await import('./recover-admin-command.js')).runRecoverAdmin(args.slice(1), io)
      : (await import('./token-command.js')).runTokenCommand(args, io),
  version: (_args, io) => (io.stdout(`scalr-credd ${VERSION}\n`), 0),
  whoami: async (args, io) => (await import('./token-command.js')).runWhoami(args, io),
  // audit list reads over the API; audit verify opens the database file.
  audit: async (args, io) =>
    args[0] === 'list'
      ? (await import('./audit-list-command.js')).runAuditList(args.slice(1), io)
      : (await import('./audit-command.js')).runAuditCommand(args, io),
  verify: async (args, io) => (await import('./verify-command.js')).runVerify(args, io),
  rotate: async (args, io) => (await import('./key-commands.js')).runRotate(args, io),
  reseal: async (args, io) => (await import('./key-commands.js')).runReseal(args, io),
  rekey: async (args, io) => (await import('./key-commands.js')).runRekey(args, io),
  backup: async (args, io) => (await import('./backup-commands.js')).runBackup(args, io),
  restore: async (args, io) => (await import('./backup-commands.js')).runRestore(args, io),
};

/** Dispatches argv to a command; turns expected errors into one line on stderr and an exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return COMMANDS['version']!(args, io);
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`scalr-credd: unknown command "${name}"; run 'scalr-credd --help'\n`);
    return 2;
  }
  try {
    return await command(args, io);
  } catch (thrown) {
    const error = usageErrorFromParseArgs(thrown);
    if (error instanceof UsageError) {
      io.stderr(`scalr-credd ${name}: ${error.message}; run 'scalr-credd ${name} --help'\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`scalr-credd: ${error.message}\n`);
      return 1;
    }
    io.stderr(`scalr-credd: unexpected error: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}
