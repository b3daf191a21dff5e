/** Checks one helper run's output against the protocol rules (docs: protocol.md §1). */
import { HELP_TEXT } from '../../../helper/src/run-helper.js';

/** Lines the reference helpers print verbatim. */
export const NOT_FOUND_LINE = 'credentials not found in native keychain';
export const KNOWN_PROTOCOL_LINES: ReadonlySet<string> = new Set([
  NOT_FOUND_LINE,
  'no credentials server URL',
  'no credentials username',
]);
export const HELPER_PREFIX = 'docker-credential-scalr: ';
export const USAGE_PREFIX = 'Usage: docker-credential-scalr ';
export const VERSION_PREFIX = 'docker-credential-scalr (';

/** What kind of line the helper printed. */
export type OutputKind = 'empty' | 'json' | 'protocol' | 'message' | 'usage' | 'version';

/** Classifies stdout; returns a problem text when it breaks the rules. */
export function classifyStdout(stdout: string): { kind: OutputKind; line: string } | { problem: string } {
  if (stdout === '') return { kind: 'empty', line: '' };
  // `--help`, `-h` and `help` are for people, not clients: the one answer of several lines, the usage
  // line first. Nothing else may span lines.
  if (stdout === HELP_TEXT) return { kind: 'usage', line: stdout.slice(0, stdout.indexOf('\n')) };
  if (!stdout.endsWith('\n')) return { problem: 'stdout does not end with a newline' };
  const line = stdout.slice(0, -1);
  if (line.includes('\n')) return { problem: `stdout has ${stdout.split('\n').length - 1} lines` };
  if (line.includes('\r')) return { problem: 'stdout holds a carriage return' };
  if (line.startsWith('{')) {
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'stdout JSON is not an object' };
      return { kind: 'json', line };
    } catch {
      return { problem: 'stdout starts like JSON but does not parse' };
    }
  }
  if (/\n\s+at\s/.test(line) || /[\w/.-]+\.(?:c?js|mjs|ts):\d+:\d+/.test(line) || /node:internal|\bat async\b/.test(line)) {
    return { problem: 'stdout looks like a stack trace' };
  }
  if (KNOWN_PROTOCOL_LINES.has(line)) return { kind: 'protocol', line };
  if (line.startsWith(USAGE_PREFIX)) return { kind: 'usage', line };
  if (line.startsWith(VERSION_PREFIX)) return { kind: 'version', line };
  if (line.startsWith(HELPER_PREFIX)) {
    // The helper's own bug path prints `docker-credential-scalr: internal error...`.
    if (line.startsWith(`${HELPER_PREFIX}internal error`)) return { problem: `the helper reported an internal error (a bug): ${line.slice(0, 300)}` };
    return { kind: 'message', line };
  }
  return { problem: `stdout is not a protocol line: ${JSON.stringify(line.slice(0, 200))}` };
}
