/**
 * The Docker credential-helper protocol (docs: protocol.md §1, §7), as a pure function of the verb,
 * the stdin text and a CredentialBackend. No process, fs, env, network or clock in here.
 *
 * Must never happen:
 * - stdout holding anything but the one answer: a `get` hit is exactly one JSON object and "\n";
 *   every failure is exactly one line; nothing is ever written to stderr (this module cannot);
 * - a secret in any output other than `get`'s JSON line (list, errors and store never echo a Secret);
 * - a daemon outage, timeout, 401, 5xx or bad answer reported as "credentials not found":
 *   that would make clients pull anonymously instead of failing loudly;
 * - an exit code other than 0 or 1, a stack trace, or a rejected promise escaping runHelper.
 */
import { DOCKER_HUB_HOST, InvalidRegistryHostError, isSubKey, parseServerUrl } from '@dcs/shared/registry-host';
import { toSafeLine } from '@dcs/shared/safe-text';
import type { CredentialBackend } from './credential-backend.js';
import {
  CredentialsNotFoundError,
  HelperError,
  InvalidInputError,
  MissingServerUrlError,
  MissingUsernameError,
  ProtocolError,
  RefusedStoreError,
} from './errors.js';
import { HELPER_NAME, HELPER_PACKAGE, HELPER_VERSION } from './version.js';

/** One invocation: `action` is the single argument, or undefined when the argument count was not one. */
export interface HelperRequest {
  readonly action: string | undefined;
  readonly stdin: string;
}

/** What to print on stdout and the exit code (always 0 or 1). */
export interface HelperResult {
  readonly stdout: string;
  readonly exitCode: 0 | 1;
}

/** The usage line of the reference helpers, with this helper's name. */
export const USAGE_LINE = `Usage: ${HELPER_NAME} <store|get|erase|list|version>`;

/** What `--help`, `-h` and `help` print: the protocol's usage line, then the commands for people. */
export const HELP_TEXT =
  `${USAGE_LINE}\n` +
  `       ${HELPER_NAME} configure|unconfigure [--config DIR] [--containers [PATH]] [--tofu PATH] [--dry-run] [--json]\n` +
  `       ${HELPER_NAME} doctor [--json]\n` +
  `       ${HELPER_NAME} install [--prefix DIR] [--binary] [--force]\n` +
  '  store, get, erase, list  the credential-helper protocol, run by docker, podman, skopeo, OpenTofu and others\n' +
  '  configure                name this helper in the docker, containers and OpenTofu config files (unconfigure removes it)\n' +
  '  doctor                   check the PATH, the config files, the daemon, the token and every configured host\n' +
  '  install                  put this helper on PATH as docker-credential-scalr (default ~/.local/bin)\n' +
  `Each command takes --help. Configuration: SCALR_CREDD_URL, SCALR_CREDD_TOKEN_FILE (docs/helper.md).\n`;

/** The version line: `<Name> (<Package>) <Version>`. */
export const VERSION_LINE = `${HELPER_NAME} (${HELPER_PACKAGE}) ${HELPER_VERSION}`;

/** Runs one protocol verb against a backend; never rejects. */
export async function runHelper(request: HelperRequest, backend: CredentialBackend): Promise<HelperResult> {
  try {
    return await dispatch(request, backend);
  } catch (error) {
    return { stdout: `${describeFailure(error)}\n`, exitCode: 1 };
  }
}

async function dispatch({ action, stdin }: HelperRequest, backend: CredentialBackend): Promise<HelperResult> {
  switch (action) {
    case undefined:
      return { stdout: `${USAGE_LINE}\n`, exitCode: 1 };
    case '--help':
    case '-h':
    case 'help':
      return success(HELP_TEXT);
    case '--version':
    case '-v':
    case 'version':
      return success(`${VERSION_LINE}\n`);
    case 'get': {
      const serverUrl = readServerUrl(stdin);
      // An address no registry can have was never stored: answer at once, without asking the daemon.
      if (!isRegistryAddress(serverUrl)) throw new CredentialsNotFoundError();
      const { username, secret } = await backend.get(serverUrl);
      // The reference helpers echo the trimmed input as ServerURL; clients ignore it but strict parsers need it.
      return success(`${JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret })}\n`);
    }
    case 'list':
      // stdin is ignored: the Go client writes the literal "unused".
      return success(`${JSON.stringify(await backend.list())}\n`);
    case 'store': {
      const input = parseStoreInput(stdin);
      refuseHubOAuthTokens(input.serverUrl);
      await backend.store(input);
      return success('');
    }
    case 'erase': {
      const serverUrl = readServerUrl(stdin);
      // Nothing can be stored under an invalid address, and erase of an absent entry succeeds.
      if (isRegistryAddress(serverUrl)) await backend.erase(serverUrl);
      return success('');
    }
    default:
      return { stdout: `${HELPER_NAME}: unknown action: ${toSafeLine(action)}\n`, exitCode: 1 };
  }
}

function success(stdout: string): HelperResult {
  return { stdout, exitCode: 0 };
}

/** Joins stdin's lines without a separator and trims, as the reference helpers do; empty → MissingServerUrlError. */
function readServerUrl(stdin: string): string {
  const serverUrl = joinLines(stdin).trim();
  if (serverUrl === '') throw new MissingServerUrlError();
  return serverUrl;
}

function isRegistryAddress(serverUrl: string): boolean {
  try {
    parseServerUrl(serverUrl);
    return true;
  } catch (error) {
    if (error instanceof InvalidRegistryHostError) return false;
    throw error;
  }
}

/**
 * The docker CLI's web (device-code) login to Docker Hub stores two OAuth tokens under sub-keys of the
 * Hub key (protocol.md §2.1) before the login itself. scalr-credd keeps one credential per registry, so
 * those are refused here, in one line that says what works, before the daemon is asked at all.
 */
function refuseHubOAuthTokens(serverUrl: string): void {
  let key;
  try {
    key = parseServerUrl(serverUrl);
  } catch (error) {
    if (error instanceof InvalidRegistryHostError) return; // the daemon says why it refuses the address
    throw error;
  }
  if (key.host === DOCKER_HUB_HOST && isSubKey(key)) throw new RefusedStoreError(HUB_OAUTH_REFUSAL);
}

/** The line `store` prints for Docker Hub's OAuth sub-keys. */
export const HUB_OAUTH_REFUSAL =
  "Docker Hub's web sign-in stores OAuth tokens, which scalr-credd does not keep; " +
  'log in with your username and a personal access token instead: docker login -u USER --password-stdin';

const STORE_SHAPE = 'store expects one JSON object {"ServerURL","Username","Secret"} on stdin';

/** Parses `store` input like Go's encoding/json: field names match case-insensitively, null leaves a field unset. */
function parseStoreInput(stdin: string): { serverUrl: string; username: string; secret: string } {
  const text = joinLines(stdin).replace(/^\uFEFF/, '').trim();
  if (text === '') throw new MissingServerUrlError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input, which may hold the secret: never print it.
    throw new InvalidInputError(`${STORE_SHAPE}; the input is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidInputError(`${STORE_SHAPE}; got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}`);
  }
  const fields: Record<'ServerURL' | 'Username' | 'Secret', string> = { ServerURL: '', Username: '', Secret: '' };
  for (const [key, value] of Object.entries(parsed)) {
    const field = (Object.keys(fields) as Array<keyof typeof fields>).find((name) => name.toLowerCase() === key.toLowerCase());
    if (field === undefined || value === null) continue;
    if (typeof value !== 'string') throw new InvalidInputError(`${STORE_SHAPE}; ${field} must be a string`);
    fields[field] = value;
  }
  if (fields.ServerURL.trim() === '') throw new MissingServerUrlError();
  if (fields.Username === '') throw new MissingUsernameError();
  return { serverUrl: fields.ServerURL.trim(), username: fields.Username, secret: fields.Secret };
}

/** Removes line breaks (`\n` and `\r\n`) the way bufio.ScanLines plus a join with no separator does. */
function joinLines(text: string): string {
  return text.replace(/\r?\n/g, '').replace(/\r$/, '');
}

function describeFailure(error: unknown): string {
  if (error instanceof ProtocolError) return error.message;
  if (error instanceof HelperError) return `${HELPER_NAME}: ${toSafeLine(error.message)}`;
  // A bug, not an expected failure: still one line, still no stack trace.
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `${HELPER_NAME}: internal error: ${toSafeLine(detail)}`;
}
