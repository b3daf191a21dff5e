/**
 * The binary's first module (bin-bun.ts imports it before anything else): for a verb that reads its
 * input, it starts reading stdin at once. Bun reads a file descriptor on its thread pool, and that
 * pool's start (about half a millisecond) then overlaps the evaluation of the rest of the binary
 * instead of following it (docs/performance.md). The read never rejects: a failed one reads as empty.
 */
import { takesInput } from './input-verbs.js';

declare const Bun: { file(fd: number): { arrayBuffer(): Promise<ArrayBuffer> } };

/** stdin to its end, already on its way for `get`, `store` and `erase`; undefined for other invocations. */
export const stdinRead: Promise<ArrayBuffer | undefined> | undefined = takesInput(process.argv.slice(2))
  ? Bun.file(0).arrayBuffer().catch(() => undefined)
  : undefined;
