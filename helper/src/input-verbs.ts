/** Which invocations read stdin: a module of its own, so that the binary's first module can ask it (bun-stdin.ts). */

/** The invocations that read stdin to EOF. */
const INPUT_ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);

/** Says whether the invocation reads its input to EOF (`get`, `store`, `erase` as the only argument). */
export function takesInput(args: readonly string[]): boolean {
  return args.length === 1 && INPUT_ACTIONS.has(args[0]!);
}
