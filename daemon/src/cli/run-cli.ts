import { ConfigError } from '../errors.js';
import { VERSION } from '../version.js';
import { runAuditCommand } from './audit-command.js';
import { runBackup, runRestore } from './backup-commands.js';
import { runInit } from './init-command.js';
import { runIntegrationCommand } from './integration-command.js';
import { type CliIo, UsageError } from './io.js';
import { runRekey, runReseal, runRotate } from './key-commands.js';
import { runServe } from './serve-command.js';
import { runTokenCommand } from './token-command.js';

/** Top-level help. */
export const MAIN_HELP = `Usage: scalr-credd <command> [options]

Daemon:
  init                      create a new store and print the first admin token
  serve                     serve the API (creates the store on first run)

Operations (offline, on the data dir; safe while serve runs, except restore):
  audit verify              check the audit log's hash chain
  rotate [--reseal]         add a data-key term (and re-seal older secrets)
  reseal                    re-seal secrets of older terms with the active term
  rekey --new-key-file F    replace the root key
  backup --out FILE         consistent online copy of the database (ciphertext only)
  restore --from FILE       replace the database with a backup (daemon stopped)

Admin (over the HTTP API; SCALR_CREDD_URL and SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE):
  integration add|list|show|update|rm
                            manage registry credentials (secrets are read from stdin)
  token create|list|revoke  manage API tokens

  version                   print the version
Run 'scalr-credd <command> --help' for a command's options.
`;

type Command = (args: string[], io: CliIo) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  init: runInit,
  serve: runServe,
  integration: runIntegrationCommand,
  token: runTokenCommand,
  version: (_args, io) => (io.stdout(`scalr-credd ${VERSION}\n`), 0),
  audit: runAuditCommand,
  rotate: runRotate,
  reseal: runReseal,
  rekey: runRekey,
  backup: runBackup,
  restore: runRestore,
};

/** Registers another top-level command (the admin verbs live in their own modules). */
export function registerCommand(name: string, command: Command): void {
  COMMANDS[name] = command;
}

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
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`scalr-credd ${name}: ${(error as Error).message}; run 'scalr-credd ${name} --help'\n`);
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
