/** The HelperPlatform on Node: the npm `.bin` entry (helper/dist/docker-credential-scalr.cjs) and the tests. */
import { fstatSync, readFileSync, readSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { requestJson } from '@dcs/shared/http-client';
import type { HelperPlatform, MainResult } from './platform.js';
import { readInput } from './read-input.js';

/** The Node platform over this process. */
export function createNodePlatform(): HelperPlatform {
  return {
    args: process.argv.slice(2),
    env: process.env,
    readInput: (args) => readInput(args, isCharacterDevice(0), () => process.stdin, (buffer) => readSync(0, buffer)),
    // A synchronous read is cheaper than fs/promises' first use, and nothing else runs meanwhile.
    readTextFile: async (path) => readFileSync(path, 'utf8'),
    homeDir: homedir,
    hostName: hostname,
    requestJson,
    finish: async ({ stdout, stderr, exitCode }: MainResult) => {
      await Promise.all([written(process.stdout, stdout), written(process.stderr, stderr)]);
      // Nothing is left to do once the answer is out: waiting for the event loop to wind down (the
      // daemon connection closing) only costs time (docs/performance.md, change 13).
      process.exit(exitCode);
    },
  };
}

/**
 * Resolves once `text` was handed to the OS (at once when empty). A failed write (the client closed
 * its end: EPIPE) resolves too, instead of surfacing as an uncaught stream error with a stack trace.
 */
function written(stream: NodeJS.WriteStream, text: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!text) return resolve();
    stream.on('error', () => resolve());
    stream.write(text, () => resolve());
  });
}

/** Says whether a file descriptor is a character device (a terminal, /dev/null); an unusable one counts as one. */
export function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return true;
  }
}
