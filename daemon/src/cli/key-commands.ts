import { parseArgs } from 'node:util';
import { openKeyStore, rekeyStore, resealIntegrations, rotateKeyring, type KeyStore } from '../lifecycle/key-management.js';
import type { StorePaths } from '../lifecycle/store-paths.js';
import { type CliIo, UsageError } from './io.js';
import { pathsFromOptions, STORE_OPTIONS } from './store-options.js';

/** Help text of `scalr-credd rotate`. */
export const ROTATE_HELP = `Usage: scalr-credd rotate [--data-dir DIR] [--store URL] [--root-key-file FILE] [--reseal] [--batch-size N]

Adds a new data-key term to the keyring. New secrets are sealed with it; secrets sealed under older
terms stay readable. With --reseal, every secret sealed under an older term is then re-sealed with
the new one, N rows per transaction (default 100). A running daemon picks the new term up on its
next request. Safe to interrupt; run 'scalr-credd reseal' to finish re-sealing.
`;

/** Help text of `scalr-credd reseal`. */
export const RESEAL_HELP = `Usage: scalr-credd reseal [--data-dir DIR] [--store URL] [--root-key-file FILE] [--batch-size N]

Re-seals every secret sealed under an older data-key term with the active term, N rows per
transaction (default 100). Safe to interrupt and to run again.
`;

/** Help text of `scalr-credd rekey`. */
export const REKEY_HELP = `Usage: scalr-credd rekey --new-key-file FILE [--data-dir DIR] [--store URL] [--root-key-file FILE]

Replaces the root key with the base64 32-byte key in FILE (mode 0600), e.g. made with
  (umask 077; openssl rand -base64 32 > new.key)
The keyring and the root-key check value are re-sealed in one transaction; secrets are not touched.
Then FILE is moved over the root key file. The old root key no longer opens this store, but it
still opens backups made before the rekey: archive it with them, offline, before you run this.
A running daemon re-reads the root key file on its next request.
`;

/** Runs `scalr-credd rotate`. */
export async function runRotate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...STORE_OPTIONS, reseal: { type: 'boolean' }, 'batch-size': { type: 'string' } }, strict: true });
  if (values.help) return (io.stdout(ROTATE_HELP), 0);
  const batchSize = parseBatchSize(values['batch-size']);
  await withKeyStore(pathsFromOptions(values, io), async (keys) => {
    const { term } = await rotateKeyring(keys);
    io.stdout(`rotated: data-key term ${term} is active for new secrets; older terms stay readable\n`);
    if (values.reseal) await reseal(keys, batchSize, io);
  });
  return 0;
}

/** Runs `scalr-credd reseal`. */
export async function runReseal(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...STORE_OPTIONS, 'batch-size': { type: 'string' } }, strict: true });
  if (values.help) return (io.stdout(RESEAL_HELP), 0);
  const batchSize = parseBatchSize(values['batch-size']);
  await withKeyStore(pathsFromOptions(values, io), (keys) => reseal(keys, batchSize, io));
  return 0;
}

/** Runs `scalr-credd rekey`. */
export async function runRekey(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...STORE_OPTIONS, 'new-key-file': { type: 'string' } }, strict: true });
  if (values.help) return (io.stdout(REKEY_HELP), 0);
  const newKeyFile = values['new-key-file'];
  if (!newKeyFile) throw new UsageError('--new-key-file FILE is required');
  const paths = pathsFromOptions(values, io);
  const { terms, checkpointed } = await rekeyStore(paths, newKeyFile);
  io.stdout(`rekeyed: ${terms} keyring term(s) re-sealed; ${paths.rootKeyPath} now holds the new root key\n`);
  if (!checkpointed) {
    io.stderr('scalr-credd: note: the WAL could not be checkpointed yet (a reader was busy); it will be at the next checkpoint\n');
  }
  return 0;
}

/** Opens the store's keyring, runs `use` on it, and closes the store. */
async function withKeyStore(paths: StorePaths, use: (keys: KeyStore) => Promise<void>): Promise<void> {
  const keys = await openKeyStore(paths);
  try {
    await use(keys);
  } finally {
    await keys.close();
  }
}

async function reseal(keys: KeyStore, batchSize: number, io: CliIo): Promise<void> {
  const { resealed, term } = await resealIntegrations(keys, {
    batchSize,
    onBatch: (done) => io.stderr(`resealing: ${done} done\n`),
  });
  io.stdout(`resealed: ${resealed} secret(s) moved to term ${term}\n`);
}

function parseBatchSize(text: string | undefined): number {
  if (text === undefined) return 100;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new UsageError('--batch-size must be an integer from 1 to 10000');
  return value;
}
