/**
 * `docker-credential-scalr install [--prefix DIR] [--binary] [--force]`: puts this helper on PATH under
 * the name clients run. From a checkout it links DIR/docker-credential-scalr to the checkout's bin entry
 * (Node runs it); with --binary, or when this program is the packaged binary, it copies the binary.
 * A different file already there is replaced only with --force. Not a protocol verb: results go to
 * stdout, errors to stderr.
 */
import { chmodSync, constants, copyFileSync, lstatSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toSafeLine } from '@dcs/shared/safe-text';
import { renameIntoPlace } from './config-files.js';
import { checkoutBinary, currentProgram, isOnPath, lookPath, realPathOr, sameBytes, type Program } from './program-files.js';
import { HELPER_NAME } from './version.js';

/** The usage text of install. */
export const INSTALL_USAGE =
  `Usage: ${HELPER_NAME} install [--prefix DIR] [--binary] [--force]\n` +
  '  --prefix DIR  where to put it (default ~/.local/bin); /usr/local/bin also serves IDEs and GUI apps\n' +
  `  --binary      copy the packaged binary (dist/${HELPER_NAME}-linux-<arch>, from npm run build:binary) instead of linking the Node entry\n` +
  '  --force       replace a different file of that name\n';

/** What install needs from its surroundings; tests pass their own. */
export interface InstallDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  readonly program?: Program;
}

/** A command line or a target that install refuses, with the reason. */
class InstallError extends Error {
  override readonly name = 'InstallError';
}

/** Runs install from its arguments (after `install`); never rejects. */
export function runInstallCommand(args: readonly string[], deps: InstallDeps): { stdout: string; stderr: string; exitCode: 0 | 1 } {
  if (args.includes('--help') || args.includes('-h')) return { stdout: INSTALL_USAGE, stderr: '', exitCode: 0 };
  try {
    return { stdout: install(parseInstallArgs(args, deps.homeDir), deps), stderr: '', exitCode: 0 };
  } catch (error) {
    const known = error instanceof InstallError || (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string');
    const message = known ? (error as Error).message : `internal error: ${String(error)}`;
    const usage = error instanceof InstallError && error.message.startsWith('unknown option') ? INSTALL_USAGE : '';
    return { stdout: '', stderr: `${HELPER_NAME} install: ${toSafeLine(message, 4096)}\n${usage}`, exitCode: 1 };
  }
}

interface InstallOptions {
  readonly prefix: string;
  readonly binary: boolean;
  readonly force: boolean;
}

function parseInstallArgs(args: readonly string[], homeDir: string): InstallOptions {
  let prefix = join(homeDir, '.local', 'bin');
  let binary = false;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--binary') binary = true;
    else if (arg === '--force') force = true;
    else if (arg === '--prefix' || arg.startsWith('--prefix=')) {
      const value = arg === '--prefix' ? args[++i] : arg.slice('--prefix='.length);
      if (!value) throw new InstallError('--prefix needs a directory');
      prefix = resolve(value);
    } else throw new InstallError(`unknown option: ${arg}`);
  }
  return { prefix, binary, force };
}

function install(options: InstallOptions, deps: InstallDeps): string {
  const program = deps.program ?? currentProgram();
  const target = join(options.prefix, HELPER_NAME);
  const binary = program.kind === 'binary' ? program.path : options.binary ? checkoutBinary(program) : undefined;
  const copyFrom = binary === undefined ? undefined : realPathOr(binary);
  if (copyFrom !== undefined && !isRegularFile(copyFrom)) {
    throw new InstallError(`there is no packaged binary at ${copyFrom}: run npm run build:binary -- --arch ${process.arch} first, or install without --binary`);
  }
  const how =
    copyFrom === undefined
      ? `a symbolic link to ${program.path} (run by node from PATH, Node >= 20)`
      : `a copy of the packaged binary ${copyFrom}`;
  mkdirSync(options.prefix, { recursive: true, mode: 0o755 });
  const lines: string[] = [];
  if (alreadyInstalled(target, program, copyFrom)) {
    lines.push(`${target} is already ${how}`);
  } else {
    refuseOther(target, options.force);
    // Made beside the target and renamed over it: a client never finds a half-written helper.
    const staging = join(options.prefix, `.${HELPER_NAME}.${process.pid}.tmp`);
    renameIntoPlace(staging, target, () => {
      if (copyFrom === undefined) {
        symlinkSync(program.path, staging);
      } else {
        // COPYFILE_EXCL: never through a file or link someone planted at the staging name.
        copyFileSync(copyFrom, staging, constants.COPYFILE_EXCL);
        chmodSync(staging, 0o755);
      }
    });
    lines.push(`installed ${target}: ${how}`);
  }
  lines.push(pathAdvice(options.prefix, target, deps.env['PATH']));
  return `${lines.join('\n')}\n`;
}

/** The target is already what install would make: the same link, or a file with the same bytes. */
function alreadyInstalled(target: string, program: Program, copyFrom: string | undefined): boolean {
  const stats = lstatOrUndefined(target);
  if (stats === undefined) return false;
  if (copyFrom === undefined) return stats.isSymbolicLink() && realPathOr(target) === realPathOr(program.path);
  return stats.isFile() && sameBytes(target, copyFrom);
}

function refuseOther(target: string, force: boolean): void {
  const stats = lstatOrUndefined(target);
  if (stats === undefined || force) {
    if (stats?.isDirectory()) throw new InstallError(`${target} is a directory; remove it first`);
    return;
  }
  const what = stats.isSymbolicLink() ? `a symbolic link to ${readlinkSync(target)}` : stats.isDirectory() ? 'a directory' : 'another file';
  throw new InstallError(`${target} exists and is ${what}; pass --force to replace it`);
}

/** Says whether DIR is on PATH, and whether an earlier PATH entry would shadow the new file. */
function pathAdvice(prefix: string, target: string, pathValue: string | undefined): string {
  if (!isOnPath(prefix, pathValue)) {
    return `${prefix} is not on PATH: add it (e.g. export PATH="${prefix}:$PATH" in your shell profile) so that clients find ${HELPER_NAME}`;
  }
  const { found } = lookPath(HELPER_NAME, pathValue);
  if (found !== undefined && realPathOr(found) !== realPathOr(target)) {
    return `${prefix} is on PATH, but clients will run ${found}, which comes earlier on PATH`;
  }
  return `${prefix} is on PATH: clients will run ${target}`;
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function isRegularFile(path: string): boolean {
  return lstatOrUndefined(path)?.isFile() === true;
}
