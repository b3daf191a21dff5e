/**
 * File I/O for `configure`: read a config if it exists, and replace it atomically. A config path that
 * is a symbolic link is refused, on read and on write: following it could replace whatever file the
 * link names (configure may run as root). A rewritten file keeps its owner and mode; a new one is 0600.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigureError } from './configure.js';

function symlinkRefused(path: string): ConfigureError {
  return new ConfigureError(`${path} is a symbolic link; configure does not write through links: name the file it points to instead`);
}

/** Returns a file's text, or undefined when it does not exist; a symbolic link is refused; other errors (permissions) propagate. */
export function readConfigFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw symlinkRefused(path);
    throw error;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Says whether a path exists and is not a directory (following links). */
export function isFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Replaces a file's contents atomically: writes a temporary file in the same directory with the
 * existing file's owner and mode (0600 for a new file), fsyncs it, renames it over the target and
 * fsyncs the directory. Missing directories are created with mode 0700. A symbolic link is refused.
 */
export function writeFileAtomic(path: string, text: string): void {
  const existing = existingFile(path);
  const target = path;
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let tmp = '';
  let fd = -1;
  for (let attempt = 0; fd < 0; attempt++) {
    tmp = join(dir, `.${basename(target)}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}.tmp`);
    try {
      fd = openSync(tmp, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
    }
  }
  renameIntoPlace(tmp, target, () => {
    try {
      fchmodSync(fd, existing === undefined ? 0o600 : existing.mode & 0o7777);
      if (existing !== undefined) keepOwner(fd, path, existing);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
  syncDirectory(dir);
}

/** Runs `prepare` (which fills the staged file `staging`), then renames it over `target`; on any failure removes `staging` and rethrows. */
export function renameIntoPlace(staging: string, target: string, prepare: () => void): void {
  try {
    prepare();
    renameSync(staging, target);
  } catch (error) {
    try {
      unlinkSync(staging);
    } catch {
      // The staged file is already gone (or was never made); the original error is the one to report.
    }
    throw error;
  }
}

/** The file's own stats (not a link's target), or undefined when there is none; a symbolic link is refused. */
function existingFile(path: string): Stats | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (stats.isSymbolicLink()) throw symlinkRefused(path);
  return stats;
}

/** Gives the replacement the old file's owner; refuses when that is not allowed (another user's file, not root). */
function keepOwner(fd: number, path: string, existing: Stats): void {
  if (existing.uid === process.getuid?.() && existing.gid === process.getgid?.()) return;
  try {
    fchownSync(fd, existing.uid, existing.gid);
  } catch {
    throw new ConfigureError(`${path} belongs to uid ${existing.uid} gid ${existing.gid}, and its replacement could not keep that owner; run configure as its owner`);
  }
}

function syncDirectory(dir: string): void {
  // Makes the rename durable. Best effort: some filesystems refuse fsync on a directory.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The rename itself has happened; only its durability across a power cut is not guaranteed here.
  }
}
