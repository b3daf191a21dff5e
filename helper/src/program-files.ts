/**
 * Where this program lives and where clients look for it: the files `install` puts on PATH and
 * `doctor` looks for. Loaded only by those commands (node:fs is no part of a lookup's start-up).
 */
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { HELPER_NAME } from './version.js';

/** How this program runs: the packaged binary (one executable file) or a script run by Node. */
export interface Program {
  readonly kind: 'binary' | 'script';
  /** The file that is this program: the binary, or the checkout's bin entry (helper/bin/docker-credential-scalr.cjs). */
  readonly path: string;
  /** Paths whose real path is this program (the bin entry and the bundle it loads). */
  readonly realPaths: readonly string[];
}

/** The checkout's entry, relative to the bundle (helper/dist/docker-credential-scalr.cjs) that Node runs. */
const BIN_ENTRY_FROM_BUNDLE = `../bin/${HELPER_NAME}.cjs`;

/** This program, from the running process (Bun's compiled binary sets process.versions.bun). */
export function currentProgram(): Program {
  if (process.versions['bun'] !== undefined) {
    return { kind: 'binary', path: process.execPath, realPaths: realPaths([process.execPath]) };
  }
  const script = realPathOr(process.argv[1] ?? '');
  // A Node single executable runs with argv[1] = its own path.
  if (script === realPathOr(process.execPath)) return { kind: 'binary', path: process.execPath, realPaths: [script] };
  const entry = script.endsWith('.cjs') && dirname(script).endsWith('/dist') ? join(dirname(script), BIN_ENTRY_FROM_BUNDLE) : script;
  return { kind: 'script', path: entry, realPaths: realPaths([script, entry]) };
}

/** The packaged binary a checkout builds for this machine (`npm run build:binary`), next to helper/. */
export function checkoutBinary(program: Program): string {
  return join(dirname(program.path), '../../dist', `${HELPER_NAME}-linux-${process.arch}`);
}

/** What a PATH lookup finds: the first executable `docker-credential-scalr`, as Go's exec.LookPath does (no relative directories). */
export interface PathLookup {
  readonly found: string | undefined;
  /** Relative PATH entries, which Go (since 1.19) does not use. */
  readonly skippedRelative: readonly string[];
}

/** Looks a program name up on a PATH value the way the docker CLI, podman, skopeo and OpenTofu (Go) do. */
export function lookPath(name: string, pathValue: string | undefined): PathLookup {
  const skippedRelative: string[] = [];
  for (const dir of (pathValue ?? '').split(':')) {
    if (dir === '') continue;
    if (!isAbsolute(dir)) {
      skippedRelative.push(dir);
      continue;
    }
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return { found: candidate, skippedRelative };
  }
  return { found: undefined, skippedRelative };
}

/** Whether a directory is one of PATH's entries (compared by real path). */
export function isOnPath(dir: string, pathValue: string | undefined): boolean {
  const wanted = realPathOr(dir);
  return (pathValue ?? '').split(':').some((entry) => entry !== '' && isAbsolute(entry) && realPathOr(entry) === wanted);
}

/** Whether a path is this program: one of its real paths, or (for the binary) a copy with the same bytes. */
export function isProgram(program: Program, path: string): boolean {
  if (program.realPaths.includes(realPathOr(path))) return true;
  return program.kind === 'binary' && sameBytes(path, program.path);
}

/** Whether two files hold the same bytes (sizes first, so different files are rarely read). */
export function sameBytes(a: string, b: string): boolean {
  try {
    return statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function realPaths(paths: readonly string[]): string[] {
  return [...new Set(paths.map(realPathOr))];
}

/** The real path, or the path itself when it does not resolve. */
export function realPathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
