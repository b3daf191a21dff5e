import type { CliIo } from '../../daemon/src/cli/io.js';

/** A CliIo that records stdout and stderr writes, with no environment, stdin or terminal. */
export function recordingIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    env: {},
    homeDir: '/nonexistent',
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    readStdin: async () => '',
    stdinIsTty: false,
    promptSecret: async () => '',
    onShutdownSignal: () => undefined,
  };
}
