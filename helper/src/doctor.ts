/**
 * `docker-credential-scalr doctor [--json]`: checks the current environment the way clients will meet
 * it. Is the helper on PATH under the name clients run; which config files name it, for which hosts,
 * and which still hold plaintext `auths`; does each daemon URL answer, and what is the token (role,
 * hosts, expiry); for every host, what each client sends and whether that resolves to a credential.
 * Lookups go through the daemon backend like a `get`, and the secret is dropped at once: doctor never
 * prints one. Not a protocol verb: the report goes to stdout; exit 0 only when no check failed.
 */
import { splitDaemonUrls } from '@dcs/shared/failover';
import { DOCKER_HUB_CLI_KEY, DOCKER_HUB_HOST, containersKey, dockerCliKey, parseServerUrl } from '@dcs/shared/registry-host';
import { toSafeLine, withoutUserInfo } from '@dcs/shared/safe-text';
import { readConfigFile } from './config-files.js';
import { defaultContainersAuthPath, defaultDockerConfigPath } from './configure-cli.js';
import { HELPER_SUFFIX, hostsFromCredentialList, parseJsonConfig, plaintextAuths, type JsonObject } from './configure.js';
import type { DaemonBackend, TokenIdentity } from './daemon-backend.js';
import { CredentialsNotFoundError, DaemonError } from './errors.js';
import type { HelperConfig } from './helper-config.js';
import { currentProgram, isProgram, lookPath, type Program } from './program-files.js';
import { HELPER_NAME } from './version.js';

/** The usage text of doctor. */
export const DOCTOR_USAGE =
  `Usage: ${HELPER_NAME} doctor [--json]\n` +
  '  checks PATH, the docker, containers and OpenTofu config files, each daemon URL, the token, and every configured host\n' +
  '  --json  print the report as JSON (shape: docs/helper.md)\n';

/** A check passed, passed with something to look at, or failed (exit 1). */
export type Status = 'ok' | 'warn' | 'fail';

/** One check: its outcome and one line for people. */
export interface Finding {
  readonly status: Status;
  readonly message: string;
}

/** The clients doctor speaks for: the docker CLI (and buildx, compose), containers' tools (podman, skopeo, buildah), OpenTofu. */
export type Client = 'docker' | 'containers' | 'opentofu';

/** The helper program on PATH. */
export interface HelperFinding extends Finding {
  /** What a client's PATH lookup finds, or null. */
  readonly path: string | null;
  /** Whether that is this program; null when nothing was found. */
  readonly thisProgram: boolean | null;
}

/** One config file a client reads. */
export interface FileFinding extends Finding {
  readonly kind: 'docker' | 'containers' | 'tofu';
  readonly path: string;
  readonly exists: boolean;
  /** The clients that read this file. */
  readonly readBy: readonly Client[];
  /** The `credHelpers` keys (or OpenTofu hosts) that name this helper; `credsStore` when that does. */
  readonly keys: readonly string[];
  /** The `auths` keys that hold a plaintext credential. */
  readonly plaintext: readonly string[];
}

/** One daemon URL. */
export interface DaemonFinding extends Finding {
  readonly url: string;
  readonly reachable: boolean;
  /** The token as this daemon describes it (GET /v1/whoami); null when it did not. */
  readonly token: (TokenIdentity & { readonly expiresSoon: boolean }) | null;
}

/** What a lookup of one spelling gave; the secret itself is never kept. */
export type LookupOutcome = 'found' | 'expires-soon' | 'expired' | 'not-found' | 'error' | 'not-checked';

/** One client's view of a host. */
export interface ClientFinding {
  readonly client: Client;
  /** What the client writes to the helper's stdin for this host. */
  readonly sends: string;
  /** Whether a file this client reads names the helper for that key. */
  readonly configured: boolean;
  readonly lookup: LookupOutcome;
  /** The daemon's words for an expiry or an error. */
  readonly detail?: string;
}

/** One host: listed by the daemon for this token, or named for the helper in a config file. */
export interface HostFinding extends Finding {
  readonly host: string;
  /** Whether the daemon lists a credential for it to this token. */
  readonly listed: boolean;
  readonly clients: readonly ClientFinding[];
}

/** Everything doctor found; `ok` is false when any finding failed. */
export interface DoctorReport {
  readonly ok: boolean;
  readonly helper: HelperFinding;
  readonly files: readonly FileFinding[];
  readonly daemons: readonly DaemonFinding[];
  readonly hosts: readonly HostFinding[];
}

/** What doctor needs from its surroundings; the process tests run it for real, unit tests pass their own. */
export interface DoctorDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** The helper's configuration, as a `get` would load it. */
  loadConfig(): Promise<HelperConfig>;
  /** The daemon backend for a configuration, as a `get` would use it. */
  connect(config: HelperConfig): DaemonBackend;
  readonly program?: Program;
  readonly readFile?: (path: string) => string | undefined;
  readonly now?: () => Date;
}

/** How soon an expiry is worth a warning: the daemon's own lookup warning window. */
const SOON_MS = 7 * 24 * 3600 * 1000;

const CLIENT_NAMES: Record<Client, string> = { docker: 'docker CLI', containers: 'podman/skopeo/buildah', opentofu: 'OpenTofu' };

/** Runs doctor from its arguments (after `doctor`); never rejects. */
export async function runDoctorCommand(args: readonly string[], deps: DoctorDeps): Promise<{ stdout: string; stderr: string; exitCode: 0 | 1 }> {
  if (args.includes('--help') || args.includes('-h')) return { stdout: DOCTOR_USAGE, stderr: '', exitCode: 0 };
  const unknown = args.find((arg) => arg !== '--json');
  if (unknown !== undefined) {
    return { stdout: '', stderr: `${HELPER_NAME} doctor: unknown option: ${toSafeLine(unknown)}\n${DOCTOR_USAGE}`, exitCode: 1 };
  }
  try {
    const report = await diagnose(deps);
    const stdout = args.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report);
    return { stdout, stderr: '', exitCode: report.ok ? 0 : 1 };
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { stdout: '', stderr: `${HELPER_NAME} doctor: internal error: ${toSafeLine(detail, 4096)}\n`, exitCode: 1 };
  }
}

/** Runs every check. */
export async function diagnose(deps: DoctorDeps): Promise<DoctorReport> {
  const now = deps.now ?? (() => new Date());
  const helper = checkHelperOnPath(deps.env, deps.program ?? currentProgram());
  const files = readConfigFiles(deps.env, deps.homeDir, deps.readFile ?? readConfigFile);
  const { daemons, backend } = await checkDaemons(deps, now());

  let listed: string[] = [];
  let listError: string | undefined;
  if (backend !== undefined) {
    try {
      listed = hostsFromCredentialList(await backend.list());
    } catch (error) {
      listError = describe(error);
    }
  }
  const hostSet = new Set(listed);
  for (const file of files) for (const key of file.keys) hostOfKey(key, hostSet);
  const hosts: HostFinding[] = [];
  for (const host of [...hostSet].sort()) hosts.push(await checkHost(host, listed.includes(host), files, backend, listError));

  const served = new Set(hostSet);
  const checkedFiles = files.map((file) => judgeFile(file, served));
  const all: Finding[] = [helper, ...checkedFiles, ...daemons, ...hosts];
  return { ok: all.every((finding) => finding.status !== 'fail'), helper, files: checkedFiles, daemons, hosts };
}

function checkHelperOnPath(env: DoctorDeps['env'], program: Program): HelperFinding {
  const { found, skippedRelative } = lookPath(HELPER_NAME, env['PATH']);
  const relative = skippedRelative.length > 0 ? ` (relative PATH entries are not searched: ${skippedRelative.join(', ')})` : '';
  if (found === undefined) {
    return {
      status: 'fail',
      message: `${HELPER_NAME} is not on PATH, so clients cannot run it${relative}; run \`npx ${HELPER_NAME} install\` (or \`${HELPER_NAME} install\`)`,
      path: null,
      thisProgram: null,
    };
  }
  if (isProgram(program, found)) return { status: 'ok', message: `${found} is on PATH (this program)${relative}`, path: found, thisProgram: true };
  return {
    status: 'warn',
    message: `clients will run ${found}, which is not this program (${program.path})${relative}; \`${HELPER_NAME} install --force\` replaces it`,
    path: found,
    thisProgram: false,
  };
}

/** The files each client reads, in the clients' own order (protocol.md §3), with what names the helper. */
function readConfigFiles(env: DoctorDeps['env'], homeDir: string, readFile: (path: string) => string | undefined): FileFinding[] {
  const authFile = env['REGISTRY_AUTH_FILE'];
  // Given REGISTRY_AUTH_FILE, containers' tools read only that file.
  const containers: Client[] = authFile ? [] : ['containers'];
  const dockerPath = defaultDockerConfigPath(env, homeDir);
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  const runtimeAuth = runtimeDir ? `${runtimeDir.replace(/\/+$/, '')}/containers/auth.json` : `/run/containers/${process.getuid?.() ?? 0}/auth.json`;
  const wanted: { kind: FileFinding['kind']; path: string; readBy: Client[] }[] = [
    // OpenTofu reads ~/.docker/config.json and ignores DOCKER_CONFIG.
    { kind: 'docker', path: dockerPath, readBy: ['docker', ...containers, ...(dockerPath === `${homeDir}/.docker/config.json` ? ['opentofu' as const] : [])] },
    ...(authFile ? [{ kind: 'containers' as const, path: authFile, readBy: ['containers' as const] }] : []),
    { kind: 'containers', path: runtimeAuth, readBy: [...containers, ...(env['XDG_RUNTIME_DIR'] ? ['opentofu' as const] : [])] },
    { kind: 'containers', path: defaultContainersAuthPath(env, homeDir), readBy: [...containers, 'opentofu'] },
    { kind: 'tofu', path: env['TF_CLI_CONFIG_FILE'] || `${homeDir}/.tofurc`, readBy: ['opentofu'] },
  ];
  return wanted.filter(({ readBy }) => readBy.length > 0).map(({ kind, path, readBy }) => readOneFile(kind, path, readBy, readFile));
}

function readOneFile(kind: FileFinding['kind'], path: string, readBy: Client[], readFile: (path: string) => string | undefined): FileFinding {
  const base = { kind, path, readBy, keys: [] as string[], plaintext: [] as string[] };
  let text: string | undefined;
  try {
    text = readFile(path);
  } catch (error) {
    return { ...base, exists: true, status: 'fail', message: `${path} cannot be read: ${describe(error)}` };
  }
  if (text === undefined) return { ...base, exists: false, status: 'ok', message: `${path}: absent` };
  if (kind === 'tofu') return { ...base, exists: true, keys: tofuHelperHosts(text), status: 'ok', message: '' };
  let document: JsonObject;
  try {
    document = parseJsonConfig(text, path);
  } catch (error) {
    return { ...base, exists: true, status: 'fail', message: describe(error) };
  }
  const helpers = document['credHelpers'];
  const keys = typeof helpers === 'object' && helpers !== null ? Object.keys(helpers).filter((key) => (helpers as JsonObject)[key] === HELPER_SUFFIX) : [];
  if (document['credsStore'] === HELPER_SUFFIX && kind === 'docker') keys.push('credsStore');
  return { ...base, exists: true, keys, plaintext: plaintextAuths(document).map(({ key }) => key), status: 'ok', message: '' };
}

/** The hosts of `oci_credentials "<host>" { docker_credentials_helper = "scalr" }` blocks. */
function tofuHelperHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const match of text.matchAll(/^[ \t]*oci_credentials[ \t]+"([^"]*)"[ \t]*\{([^}]*)\}/gm)) {
    if (new RegExp(`docker_credentials_helper[ \\t]*=[ \\t]*"${HELPER_SUFFIX}"`).test(match[2]!)) hosts.push(match[1]!);
  }
  return hosts;
}

/** Gives a file its verdict once the helper's hosts are known: plaintext for them, or docker.io without the docker CLI's Hub key. */
function judgeFile(file: FileFinding, served: ReadonlySet<string>): FileFinding {
  if (file.status === 'fail' || !file.exists) return file;
  const problems: string[] = [];
  const notes: string[] = [];
  for (const key of file.plaintext) {
    const host = hostOfKey(key);
    const line = `auths["${key}"] holds a plaintext credential`;
    if (host !== undefined && served.has(host)) problems.push(`${line} for ${host}, which the helper serves: delete that entry by hand`);
    else notes.push(line);
  }
  if (file.kind === 'docker' && file.keys.includes(DOCKER_HUB_HOST) && !file.keys.includes(DOCKER_HUB_CLI_KEY) && !file.keys.includes('credsStore')) {
    problems.push(`credHelpers names the helper for "docker.io" but not "${DOCKER_HUB_CLI_KEY}", the key the docker CLI uses for Docker Hub; run configure`);
  }
  const names = file.kind === 'tofu' ? 'oci_credentials blocks name the helper for' : 'names the helper for';
  const summary = file.keys.length > 0 ? `${names} ${file.keys.join(', ')}` : 'names the helper for no host';
  const status: Status = problems.length > 0 ? 'fail' : notes.length > 0 ? 'warn' : 'ok';
  return { ...file, status, message: [`${file.path}: ${summary}`, ...problems, ...notes].join('; ') };
}

async function checkDaemons(deps: DoctorDeps, now: Date): Promise<{ daemons: DaemonFinding[]; backend: DaemonBackend | undefined }> {
  let config: HelperConfig;
  try {
    config = await deps.loadConfig();
  } catch (error) {
    const url = withoutUserInfo(deps.env['SCALR_CREDD_URL']?.trim() || 'the default daemon URL');
    return { daemons: [{ status: 'fail', message: describe(error), url, reachable: false, token: null }], backend: undefined };
  }
  const daemons: DaemonFinding[] = [];
  let backend: DaemonBackend | undefined;
  // A comma-separated SCALR_CREDD_URL lists daemons tried in order; each is checked on its own.
  const urls = splitDaemonUrls(config.daemonUrl);
  for (const daemonUrl of urls) {
    const candidate = deps.connect({ ...config, daemonUrl });
    // Shown and reported without any user information the URL carries (a password has no place in a report).
    const url = withoutUserInfo(daemonUrl);
    try {
      const me = await candidate.whoami();
      const left = me.expiresAt === null ? Infinity : Date.parse(me.expiresAt) - now.getTime();
      const expiresSoon = left <= SOON_MS;
      const readOnly = me.role === 'runner' || me.role === 'auditor' ? ' (read-only: docker login and logout change nothing in scalr-credd)' : '';
      const hosts = me.hosts === null ? 'every host' : me.hosts.join(', ');
      const expiry = me.expiresAt === null ? 'never expires' : `${expiresSoon ? 'expires soon, at' : 'expires'} ${me.expiresAt}`;
      daemons.push({
        status: expiresSoon ? 'warn' : 'ok',
        message: `${url}: answers; token ${me.id} "${me.name}", role ${me.role}${readOnly}, hosts: ${hosts}, ${expiry}`,
        url,
        reachable: true,
        token: { ...me, expiresSoon },
      });
      backend ??= candidate;
    } catch (error) {
      const reachable = error instanceof DaemonError && error.kind !== 'unreachable' && error.kind !== 'timeout';
      daemons.push({ status: 'fail', message: describe(error), url, reachable, token: null });
    }
  }
  return { daemons, backend };
}

/** What each client sends for a host (protocol.md §2): Docker Hub is `https://index.docker.io/v1/` to docker and `docker.io` to the rest. */
export function clientSpellings(host: string): { client: Client; sends: string; keys: string[] }[] {
  return [
    { client: 'docker', sends: dockerCliKey(host), keys: [dockerCliKey(host), 'credsStore'] },
    { client: 'containers', sends: containersKey(host), keys: [containersKey(host)] },
    { client: 'opentofu', sends: `https://${host}`, keys: [containersKey(host), 'credsStore', host] },
  ];
}

async function checkHost(
  host: string,
  listed: boolean,
  files: readonly FileFinding[],
  backend: DaemonBackend | undefined,
  listError: string | undefined,
): Promise<HostFinding> {
  const lookups = new Map<string, { lookup: LookupOutcome; detail?: string }>();
  const clients: ClientFinding[] = [];
  for (const { client, sends, keys } of clientSpellings(host)) {
    const configured = files.some(
      (file) => file.readBy.includes(client) && keys.some((key) => file.keys.includes(key) && (key !== 'credsStore' || file.kind === 'docker')),
    );
    let outcome = lookups.get(sends);
    if (outcome === undefined) {
      outcome = await lookUp(backend, sends, listError);
      lookups.set(sends, outcome);
    }
    clients.push({ client, sends, configured, ...outcome });
  }
  const used = clients.filter((client) => client.configured);
  const views = clients.map(
    ({ client, sends, configured, lookup }) => `${CLIENT_NAMES[client]} sends "${sends}": ${configured ? 'configured' : 'not configured'}, ${lookup}`,
  );
  let status: Status = 'ok';
  let verdict = '';
  if (used.length === 0) {
    status = 'fail';
    verdict = 'scalr-credd holds a credential for it, but no config file names the helper for it; run `docker-credential-scalr configure`';
  } else if (used.some(({ lookup }) => lookup === 'not-checked')) {
    status = 'warn';
    verdict = 'not checked: no daemon answered';
  } else if (used.some(({ lookup }) => lookup !== 'found' && lookup !== 'expires-soon')) {
    status = 'fail';
    const bad = used.find(({ lookup }) => lookup !== 'found' && lookup !== 'expires-soon')!;
    verdict = `${CLIENT_NAMES[bad.client]} would get ${bad.lookup === 'not-found' ? 'no credential (it pulls anonymously)' : bad.lookup}${bad.detail ? `: ${bad.detail}` : ''}`;
  } else if (used.some(({ lookup }) => lookup === 'expires-soon')) {
    status = 'warn';
    verdict = used.find(({ detail }) => detail !== undefined)?.detail ?? 'the credential expires soon';
  }
  const message = `${host}${verdict ? `: ${verdict}` : ''}\n${views.map((line) => `      ${line}`).join('\n')}`;
  return { status, message, host, listed, clients };
}

/** One lookup as `get` makes it; only the outcome is kept, never the secret. */
async function lookUp(backend: DaemonBackend | undefined, serverUrl: string, listError: string | undefined): Promise<{ lookup: LookupOutcome; detail?: string }> {
  if (backend === undefined) return { lookup: 'not-checked' };
  if (listError !== undefined) return { lookup: 'error', detail: listError };
  try {
    const { warning } = await backend.get(serverUrl);
    return warning === undefined ? { lookup: 'found' } : { lookup: 'expires-soon', detail: toSafeLine(warning) };
  } catch (error) {
    if (error instanceof CredentialsNotFoundError) return { lookup: 'not-found' };
    if (error instanceof DaemonError && error.code === 'credential_expired') return { lookup: 'expired', detail: describe(error) };
    return { lookup: 'error', detail: describe(error) };
  }
}

/** The canonical host of a config key (added to `into` when given); undefined for a key that names no host. */
function hostOfKey(key: string, into?: Set<string>): string | undefined {
  if (key === 'credsStore') return undefined;
  try {
    const { host, path } = parseServerUrl(key);
    if (path !== '') return undefined;
    into?.add(host);
    return host;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return toSafeLine(error instanceof Error ? error.message : String(error), 4096);
}

const MARKS: Record<Status, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]' };

/** Renders a report for people: one line per check (hosts add one line per client), then a count. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  const add = (area: string, finding: Finding) => lines.push(`${MARKS[finding.status]} ${area.padEnd(7)} ${finding.message}`);
  add('helper', report.helper);
  for (const file of report.files) if (file.exists || file.status !== 'ok') add('config', file);
  const absent = report.files.filter((file) => !file.exists && file.status === 'ok').map((file) => file.path);
  if (absent.length > 0) lines.push(`       config  not present: ${absent.join(', ')}`);
  for (const daemon of report.daemons) add('daemon', daemon);
  for (const host of report.hosts) add('host', host);
  if (report.hosts.length === 0) lines.push('       host    none: scalr-credd lists no credential for this token and no config file names the helper');
  const all: Finding[] = [report.helper, ...report.files, ...report.daemons, ...report.hosts];
  const count = (status: Status) => all.filter((finding) => finding.status === status).length;
  lines.push(`${report.ok ? 'all checks passed' : 'some checks failed'}: ${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed`);
  return `${lines.join('\n')}\n`;
}
