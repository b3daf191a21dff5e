import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, IntegrityError } from '../errors.js';
import { KEY_BYTES, Keyring } from './keyring.js';
import { openWithKey, sealWithKey } from './secretbox-barrier.js';

const CHECK_CONTEXT = 'root-key-check';
/**
 * v1: a store from before row MACs. v2: every token and integration row carries a MAC. The version
 * sits inside the sealed check value, so only the root key's holder can say that a store's rows are
 * authenticated; a v1 store has its MACs computed once, on its next unlock (lifecycle/unlock-store.ts).
 */
const CHECK_VALUES = { 'scalr-credd root key check v1': 1, 'scalr-credd root key check v2': 2 } as const;
const CURRENT_CHECK_VALUE = 'scalr-credd root key check v2';

/** The check-value format: 1 before row MACs, 2 with them. */
export type CheckVersion = 1 | 2;

/** Reads the root key file; refuses a file readable by group or others, or one that holds no 32-byte key. */
export function loadRootKey(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `root key file ${path} is missing` : `cannot read root key file ${path} (${code ?? 'error'})`,
    );
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ConfigError(
        `root key file ${path} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
      );
    }
    const key = Buffer.from(readFileSync(fd, 'utf8').trim(), 'base64');
    if (key.length !== KEY_BYTES) {
      throw new ConfigError(`root key file ${path} does not hold a base64 ${KEY_BYTES}-byte key`);
    }
    return new Uint8Array(key);
  } finally {
    closeSync(fd);
  }
}

/** Throws ConfigError unless `path` holds a readable, private root key (the key is not kept). */
export function assertRootKeyReadable(path: string): void {
  loadRootKey(path).fill(0);
}

/** Writes a new root key file with mode 0600; refuses to overwrite an existing file. */
export function writeRootKey(path: string, key: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${Buffer.from(key).toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Returns the check value stored beside the keyring, which proves a root key matches the database. */
export function buildRootKeyCheck(rootKey: Uint8Array): Uint8Array {
  return sealWithKey(rootKey, 0, CHECK_CONTEXT, CURRENT_CHECK_VALUE);
}

/** Whether `rootKey` opens the database's check value. */
export function rootKeyMatches(rootKey: Uint8Array, check: Uint8Array): boolean {
  return checkVersion(rootKey, check) !== undefined;
}

/** The format of the check value `rootKey` opens, or undefined when it does not open it. */
export function checkVersion(rootKey: Uint8Array, check: Uint8Array): CheckVersion | undefined {
  try {
    const value = openWithKey(rootKey, CHECK_CONTEXT, check);
    return Object.hasOwn(CHECK_VALUES, value) ? CHECK_VALUES[value as keyof typeof CHECK_VALUES] : undefined;
  } catch (error) {
    if (error instanceof IntegrityError) return undefined;
    throw error;
  }
}

/** A check value of format 1 (a store from before row MACs), for the upgrade tests. */
export function buildLegacyRootKeyCheck(rootKey: Uint8Array): Uint8Array {
  return sealWithKey(rootKey, 0, CHECK_CONTEXT, 'scalr-credd root key check v1');
}

/** Seals one data key of the keyring under the root key, bound to its term. */
export function sealDataKey(rootKey: Uint8Array, term: number, key: Uint8Array): Uint8Array {
  return sealWithKey(rootKey, 0, `keyring:${term}`, Buffer.from(key).toString('base64'));
}

/** Opens the sealed keyring rows into a Keyring; a row that fails to open is an IntegrityError. */
export function openKeyring(rootKey: Uint8Array, rows: ReadonlyArray<{ term: number; sealedKey: Uint8Array }>): Keyring {
  return Keyring.fromEntries(
    rows.map(({ term, sealedKey }) => {
      const key = new Uint8Array(Buffer.from(openWithKey(rootKey, `keyring:${term}`, sealedKey), 'base64'));
      return [term, key] as const;
    }),
  );
}

/** Where rekey stages the new root key beside the current one until the database commit is done. */
export function stagedRootKeyPath(rootKeyPath: string): string {
  return `${rootKeyPath}.new`;
}

/**
 * Finishes a rekey that committed but was interrupted before it moved the new key into place: when the
 * staged key opens the check value and the key file does not, the staged file replaces it. Returns
 * whether it did. A staged file that does not match is left alone (a rekey may be running right now).
 */
export function completePendingRekey(rootKeyPath: string, check: Uint8Array): boolean {
  const staged = stagedRootKeyPath(rootKeyPath);
  if (!existsSync(staged)) return false;
  const candidate = tryLoadRootKey(staged);
  const current = tryLoadRootKey(rootKeyPath);
  try {
    if (!candidate || !rootKeyMatches(candidate, check)) return false;
    if (current && rootKeyMatches(current, check)) return false;
    moveIntoPlace(staged, rootKeyPath);
    return true;
  } finally {
    candidate?.fill(0);
    current?.fill(0);
  }
}

/** Reads a root key file, or undefined when it is missing, too open or malformed. */
export function tryLoadRootKey(path: string): Uint8Array | undefined {
  try {
    return loadRootKey(path);
  } catch {
    return undefined;
  }
}

/** Writes a key file 0600 and fsyncs it, replacing a file of that name. */
export function writeKeyFileDurably(path: string, key: Uint8Array): void {
  if (existsSync(path)) unlinkSync(path);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${Buffer.from(key).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames `from` over `to` and fsyncs the directory, so the move survives a crash. */
export function moveIntoPlace(from: string, to: string): void {
  renameSync(from, to);
  const dir = openSync(dirname(to), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
