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

/**
 * Turns an error of node:util's parseArgs into a UsageError in the CLI's own words: one line, lower
 * case, naming the option but never echoing an argument's value (a secret typed by mistake must not
 * be printed back). Anything else is returned unchanged.
 */
export function usageErrorFromParseArgs(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return error;
  const message = error instanceof Error ? error.message : '';
  // "Option '-h, --help <value>' argument missing": the long name, else the short one.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[A-Za-z0-9][\w-]*/.exec(quoted)?.[0] ?? /^-[^\s=,]+/.exec(quoted)?.[0];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(option ? `unknown option ${option}` : 'unknown option');
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (option && /does not take an argument/.test(message)) return new UsageError(`${option} takes no value`);
      if (option && /ambiguous/.test(message)) return new UsageError(`${option} needs a value (for one that starts with a dash, write ${option}=-VALUE)`);
      if (option) return new UsageError(`${option} needs a value`);
      return new UsageError('an option has an invalid value');
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError('unexpected argument: this command takes no positional argument');
    default:
      return new UsageError('invalid arguments');
  }
}
