/** Reading the helper's stdin on Node: all of it, as UTF-8, without ever failing. */
import { NON_INPUT_STDIN_WAIT_MS, takesInput } from './platform.js';

/**
 * Reads stdin as the invocation needs it:
 * - get, store and erase read until EOF, as the reference helpers do (their input ends there), from a terminal too;
 * - anything else drains a pipe or file so that a writing client sees no EPIPE, waiting at most
 *   NON_INPUT_STDIN_WAIT_MS, and leaves a device alone: from a terminal, waiting for Ctrl-D before printing
 *   a version would look like a hang, and /dev/null has nothing to drain.
 */
export function readInput(
  args: readonly string[],
  stdinIsDevice: boolean,
  openStdin: () => NodeJS.ReadableStream,
  readChunkSync?: (buffer: Buffer) => number,
): Promise<string> {
  if (takesInput(args)) return readChunksThenStream(openStdin, readChunkSync);
  if (stdinIsDevice) return Promise.resolve('');
  return readStream(openStdin(), NON_INPUT_STDIN_WAIT_MS);
}

/**
 * Reads to EOF with blocking reads when it can: no stream and no event-loop turns, which is
 * measurably cheaper than `process.stdin` (docs/performance.md, change 12). A descriptor that would block (a client
 * that handed over a non-blocking pipe: EAGAIN) continues as a stream after what was already read;
 * any other read error ends the input there, as a stream error does.
 */
async function readChunksThenStream(openStdin: () => NodeJS.ReadableStream, readChunkSync?: (buffer: Buffer) => number): Promise<string> {
  if (!readChunkSync) return readStream(openStdin());
  const chunks: Buffer[] = [];
  for (;;) {
    const buffer = Buffer.allocUnsafe(16 * 1024);
    let count: number;
    try {
      count = readChunkSync(buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') break;
      // Joined as bytes: a character may be split between the two reads.
      return Buffer.concat([...chunks, await readStreamBytes(openStdin())]).toString('utf8');
    }
    if (count === 0) break;
    chunks.push(buffer.subarray(0, count));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Resolves with everything the stream yields until it ends, or until `waitLimitMs` has passed (the stream
 * is then destroyed so that it keeps no process alive). An error or a closed stream yields what was read so far.
 */
export async function readStream(stream: NodeJS.ReadableStream, waitLimitMs?: number): Promise<string> {
  return (await readStreamBytes(stream, waitLimitMs)).toString('utf8');
}

function readStreamBytes(stream: NodeJS.ReadableStream, waitLimitMs?: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    };
    stream.on('data', (chunk: Buffer | string) => chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    if (waitLimitMs !== undefined) {
      timer = setTimeout(() => {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        done();
      }, waitLimitMs);
    }
  });
}
