/** What a CLI command may touch of the process: passed in by main.ts, faked by tests. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of standard input (for secrets); resolves '' when stdin is a terminal with nothing piped. */
  readStdin: () => Promise<string>;
  /** Whether stdin is a terminal (then secrets are prompted for). */
  stdinIsTty: boolean;
  /** Prompts on the terminal without echo. */
  promptSecret: (question: string) => Promise<string>;
  /** Registers a handler for SIGTERM and SIGINT. */
  onShutdownSignal: (handler: (signal: string) => void) => void;
  /** Registers a handler for SIGHUP (reload); absent where there is no such signal. */
  onReloadSignal?: (handler: () => void) => void;
}

/** A usage error: printed with the command's help hint, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
