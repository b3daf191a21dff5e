/**
 * `docker-credential-scalr configure|unconfigure [--config DIR] [--containers [PATH]] [--tofu PATH] [--dry-run] [--json]`.
 * Not a protocol verb: results go to stdout, warnings and errors to stderr. Every file is read and
 * checked before the first one is written, so a broken file leaves all of them untouched.
 */
import { toSafeLine } from '@dcs/shared/safe-text';
import { dirname } from 'node:path';
import { isFile, readConfigFile, writeFileAtomic } from './config-files.js';
import { ConfigureError, hostsFromCredentialList, planJsonConfig, planTofuConfig } from './configure.js';
import type { ConfigChange, JsonConfigKind } from './configure.js';
import type { CredentialBackend } from './credential-backend.js';
import { HelperError } from './errors.js';
import { HELPER_NAME } from './version.js';

/** The usage text of configure and unconfigure. */
export const CONFIGURE_USAGE =
  `Usage: ${HELPER_NAME} configure|unconfigure [--config DIR] [--containers [PATH]] [--tofu PATH] [--dry-run] [--json]\n` +
  '  --config DIR         the Docker config directory, as docker --config DIR: DIR/config.json; default $DOCKER_CONFIG or ~/.docker\n' +
  '  --containers [PATH]  also podman/skopeo/buildah auth.json; default ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json\n' +
  '  --tofu PATH          also an OpenTofu CLI config file (e.g. ~/.tofurc): one oci_credentials block per host\n' +
  '  --dry-run            show what would change, write nothing\n' +
  '  --json               print the result as JSON\n';

/** What configure or unconfigure should do, after parsing the command line. */
export interface ConfigureOptions {
  readonly command: 'configure' | 'unconfigure';
  readonly dockerConfigPath: string;
  readonly containersPath: string | undefined;
  readonly tofuPath: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** A command line that configure cannot make sense of. */
export class ConfigureUsageError extends Error {
  override readonly name = 'ConfigureUsageError';
}

/** Parses configure's command line; throws ConfigureUsageError. `isFile` says whether a path exists and is not a directory. */
export function parseConfigureArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  homeDir: string,
  isFile: (path: string) => boolean,
): ConfigureOptions {
  const [command, ...rest] = args;
  if (command !== 'configure' && command !== 'unconfigure') throw new ConfigureUsageError('expected configure or unconfigure');
  let dockerConfigPath: string | undefined;
  let containersPath: string | undefined;
  let tofuPath: string | undefined;
  let dryRun = false;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const next = rest[i + 1];
    const takeValue = (optional: boolean): string | undefined => {
      if (inline !== undefined) {
        if (inline === '') throw new ConfigureUsageError(`${flag} needs a path`);
        return inline;
      }
      if (next !== undefined && !next.startsWith('-')) {
        i++;
        return next;
      }
      if (optional) return undefined;
      throw new ConfigureUsageError(`${flag} needs a path`);
    };
    switch (flag) {
      case '--config':
        dockerConfigPath = configJsonIn(takeValue(false)!, isFile);
        break;
      case '--containers':
        containersPath = takeValue(true) ?? defaultContainersAuthPath(env, homeDir);
        break;
      case '--tofu':
        tofuPath = takeValue(false);
        break;
      case '--dry-run':
        if (inline !== undefined) throw new ConfigureUsageError('--dry-run takes no value');
        dryRun = true;
        break;
      case '--json':
        if (inline !== undefined) throw new ConfigureUsageError('--json takes no value');
        json = true;
        break;
      default:
        throw new ConfigureUsageError(`unknown option: ${arg}`);
    }
  }
  return {
    command,
    dockerConfigPath: dockerConfigPath ?? defaultDockerConfigPath(env, homeDir),
    containersPath,
    tofuPath,
    dryRun,
    json,
  };
}

/** `--config DIR` names the directory that holds config.json, as docker's `--config` and DOCKER_CONFIG do. */
function configJsonIn(dir: string, isFile: (path: string) => boolean): string {
  if (isFile(dir)) {
    throw new ConfigureUsageError(
      `--config names the directory that holds config.json, as docker's --config does, and ${dir} is a file: use --config ${dirname(dir)}`,
    );
  }
  return `${dir.replace(/\/+$/, '')}/config.json`;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the Docker CLI looks it up. */
export function defaultDockerConfigPath(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const dir = env['DOCKER_CONFIG'];
  return dir ? `${dir.replace(/\/+$/, '')}/config.json` : `${homeDir}/.docker/config.json`;
}

/** `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`: the persistent auth file of podman, skopeo and buildah. */
export function defaultContainersAuthPath(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return `${xdg && xdg.startsWith('/') ? xdg.replace(/\/+$/, '') : `${homeDir}/.config`}/containers/auth.json`;
}

/** What configure did (or, with --dry-run, would do) to one file. */
export interface FileReport extends Omit<ConfigChange<unknown>, 'result' | 'warnings'> {
  readonly kind: JsonConfigKind | 'tofu';
  readonly path: string;
  readonly written: boolean;
}

/** The outcome of configure or unconfigure. */
export interface ConfigureReport {
  readonly command: 'configure' | 'unconfigure';
  readonly dryRun: boolean;
  /** The canonical hosts the daemon lists for this token (empty for unconfigure). */
  readonly hosts: readonly string[];
  readonly files: readonly FileReport[];
  readonly warnings: readonly string[];
}

/** The file system configure works on; tests pass a temporary directory's real files or fakes. */
export interface ConfigureFiles {
  readFile(path: string): string | undefined;
  writeFile(path: string, text: string): void;
}

/** The real file system. */
export const REAL_CONFIGURE_FILES: ConfigureFiles = { readFile: readConfigFile, writeFile: writeFileAtomic };

/** Asks the daemon for the hosts (configure only), plans every file, then writes the changed ones unless dry-run. */
export async function runConfigure(
  options: ConfigureOptions,
  backend: Pick<CredentialBackend, 'list'>,
  files: ConfigureFiles,
): Promise<ConfigureReport> {
  const configuring = options.command === 'configure';
  const hosts = configuring ? hostsFromCredentialList(await backend.list()) : [];
  const warnings: string[] = [];
  if (configuring && hosts.length === 0) {
    warnings.push('scalr-credd lists no credentials this token can read; nothing to configure');
  }

  const plans: { kind: FileReport['kind']; path: string; change: ConfigChange<unknown>; text: string }[] = [];
  const jsonFiles: [JsonConfigKind, string][] = [['docker', options.dockerConfigPath]];
  if (options.containersPath !== undefined) jsonFiles.push(['containers', options.containersPath]);
  const tofuConfigured = options.tofuPath !== undefined;
  for (const [kind, path] of jsonFiles) {
    const label = kind === 'docker' ? `docker config ${path}` : `containers auth file ${path}`;
    plans.push({ kind, path, ...planJsonConfig(kind, files.readFile(path), hosts, { configuring, label, tofuConfigured }) });
  }
  if (options.tofuPath !== undefined) {
    const change = planTofuConfig(files.readFile(options.tofuPath), hosts, { configuring, label: `OpenTofu config ${options.tofuPath}`, tofuConfigured });
    plans.push({ kind: 'tofu', path: options.tofuPath, change, text: change.result });
  }

  const reports: FileReport[] = [];
  for (const { kind, path, change, text } of plans) {
    const { result: _result, warnings: changeWarnings, ...counts } = change;
    warnings.push(...changeWarnings);
    const write = change.changed && !options.dryRun;
    if (write) files.writeFile(path, text);
    reports.push({ kind, path, ...counts, written: write });
  }
  return { command: options.command, dryRun: options.dryRun, hosts, files: reports, warnings };
}

/** Renders a report for people: one line per file, plus a dry-run note. */
export function formatReport(report: ConfigureReport): string {
  const lines: string[] = [];
  const names: Record<FileReport['kind'], string> = { docker: 'docker config', containers: 'containers auth', tofu: 'OpenTofu config' };
  for (const file of report.files) {
    const parts: string[] = [];
    if (file.added.length > 0) parts.push(`added ${file.added.join(', ')}`);
    if (file.replaced.length > 0) parts.push(`replaced ${file.replaced.map((entry) => `${entry.key} (was ${entry.previous})`).join(', ')}`);
    if (file.removed.length > 0) parts.push(`removed ${file.removed.join(', ')}`);
    if (file.unchanged.length > 0) parts.push(`${file.unchanged.length} already set`);
    if (file.skipped.length > 0) parts.push(`skipped ${file.skipped.join(', ')}`);
    if (!file.changed) parts.unshift('no change');
    lines.push(`${names[file.kind]} ${file.path}: ${parts.join('; ')}`);
  }
  if (report.dryRun) lines.push('dry run: nothing was written');
  return `${lines.join('\n')}\n`;
}

/** Runs configure or unconfigure from a command line; never rejects. */
export async function runConfigureCommand(
  args: readonly string[],
  deps: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly homeDir: string;
    readonly backend: Pick<CredentialBackend, 'list'>;
    readonly files?: ConfigureFiles;
    readonly isFile?: (path: string) => boolean;
  },
): Promise<{ stdout: string; stderr: string; exitCode: 0 | 1 }> {
  const prefix = `${HELPER_NAME} ${args[0] ?? 'configure'}`;
  if (args.includes('--help') || args.includes('-h')) return { stdout: CONFIGURE_USAGE, stderr: '', exitCode: 0 };
  let options: ConfigureOptions;
  try {
    options = parseConfigureArgs(args, deps.env, deps.homeDir, deps.isFile ?? isFile);
  } catch (error) {
    return { stdout: '', stderr: `${prefix}: ${(error as Error).message}\n${CONFIGURE_USAGE}`, exitCode: 1 };
  }
  try {
    const report = await runConfigure(options, deps.backend, deps.files ?? REAL_CONFIGURE_FILES);
    const stdout = options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report);
    const stderr = report.warnings.map((warning) => `warning: ${toSafeLine(warning, 4096)}\n`).join('');
    return { stdout, stderr, exitCode: 0 };
  } catch (error) {
    const known = error instanceof HelperError || error instanceof ConfigureError || isFsError(error);
    const message = known ? (error as Error).message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
    return { stdout: '', stderr: `${prefix}: ${toSafeLine(message, 4096)}\n`, exitCode: 1 };
  }
}

function isFsError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
