/** Reading the helper's stdin: all of it, as UTF-8, without ever failing. */

const INPUT_ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);

/**
 * Says whether to read stdin before answering. The verbs that take input always read it (a terminal
 * user types a host and Ctrl-D, as with the reference helpers). Every other invocation drains stdin too,
 * so a client writing to it never gets EPIPE, except from a terminal, where waiting for Ctrl-D
 * before printing a version or usage line would look like a hang.
 */
export function shouldReadStdin(args: readonly string[], stdinIsTerminal: boolean): boolean {
  const action = args.length === 1 ? args[0]! : undefined;
  return (action !== undefined && INPUT_ACTIONS.has(action)) || !stdinIsTerminal;
}

/** Resolves with everything the stream yields until it ends; an error or a closed stream yields what was read so far. */
export function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    stream.on('data', (chunk: Buffer | string) => chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
