import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/**
 * Writes a token value to a new file created 0600 (whatever the umask), fsynced; refuses to replace
 * an existing file. The admin CLI reads it with --token-file or SCALR_CREDD_TOKEN_FILE.
 */
export function writeTokenFile(path: string, token: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'EEXIST' ? `${path} already exists; choose a new file name` : `cannot create ${path} (${code ?? 'error'})`);
  }
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
