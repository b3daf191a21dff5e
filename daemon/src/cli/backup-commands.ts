import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backupStore, restoreStore } from '../lifecycle/backup.js';
import { type CliIo, UsageError } from './io.js';
import { pathsFromOptions, STORE_OPTIONS } from './store-options.js';

/** Help text of `scalr-credd backup`. */
export const BACKUP_HELP = `Usage: scalr-credd backup --out FILE [--data-dir DIR]

Writes a consistent copy of the database to FILE (mode 0600; refuses to overwrite), online, while
the daemon serves. The backup holds only ciphertext: it is useless without the root key, which is
not in it. Keep the root key somewhere else than the backups.
`;

/** Help text of `scalr-credd restore`. */
export const RESTORE_HELP = `Usage: scalr-credd restore --from FILE [--data-dir DIR] [--root-key-file FILE] [--force]

Replaces the store's database with a backup. Stop the daemon first: restore refuses while a daemon
answers on DIR's socket. The root key file must already be in place; the backup is checked with it
(check value, keyring, every secret) before anything is replaced. An existing database is replaced
only with --force, and is kept as credd.sqlite.pre-restore.
`;

/** Runs `scalr-credd backup`. */
export async function runBackup(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(BACKUP_HELP), 0);
  if (!values.out) throw new UsageError('--out FILE is required');
  const { file, bytes } = await backupStore(pathsFromOptions(values, io), resolve(values.out));
  io.stdout(`backup written: ${file} (${bytes} bytes, mode 0600); it needs the root key to be of any use\n`);
  return 0;
}

/** Runs `scalr-credd restore`. */
export async function runRestore(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STORE_OPTIONS, from: { type: 'string' }, force: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) return (io.stdout(RESTORE_HELP), 0);
  if (!values.from) throw new UsageError('--from FILE is required');
  const result = await restoreStore(pathsFromOptions(values, io), resolve(values.from), { force: values.force ?? false });
  io.stdout(
    `restored: ${result.integrations} integration(s), ${result.tokens} token(s), ${result.auditRows} audit row(s)` +
      `${result.previous ? `; the replaced database is kept as ${result.previous}` : ''}\n`,
  );
  if (result.auditProblem) io.stderr(`scalr-credd: warning: the backup's audit chain is broken: ${result.auditProblem}\n`);
  return 0;
}
