/**
 * The helper's configuration, read from the environment once per process. Hand-written checks instead
 * of zod keep the helper's start-up cheap. Messages name variables and paths, never a token.
 */
import { InvalidEndpointUrlError, parseEndpointUrl } from '@dcs/shared/http-client';
import { defaultDaemonUrl, type ReadTextFile } from '@dcs/shared/paths';
import { HelperConfigError } from './errors.js';

/** Where the daemon is, how to authenticate, and how long one request may take. */
export interface HelperConfig {
  /** `http://host:port`, `https://host:port` or `unix:/path/to.sock`. */
  readonly daemonUrl: string;
  readonly token: string;
  /** The deadline for one whole request to the daemon. */
  readonly timeoutMs: number;
}

export type { ReadTextFile };

/** The request deadline when SCALR_CREDD_TIMEOUT_MS is not set. */
export const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 600_000;
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** Loads and checks the helper's configuration; throws HelperConfigError listing every problem at once. */
export function loadHelperConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadTextFile,
  homeDir: string,
): HelperConfig {
  const problems: string[] = [];

  const urlText = env['SCALR_CREDD_URL']?.trim();
  const daemonUrl = urlText ? urlText : defaultDaemonUrl(env, homeDir);
  try {
    parseEndpointUrl(daemonUrl);
  } catch (error) {
    const reason = error instanceof InvalidEndpointUrlError ? error.message : 'invalid URL';
    problems.push(`${urlText ? 'SCALR_CREDD_URL' : 'the default daemon URL'} is not usable: ${reason}`);
  }

  const token = readToken(env, readFile, problems);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeoutText = env['SCALR_CREDD_TIMEOUT_MS']?.trim();
  if (timeoutText) {
    const value = /^[0-9]{1,7}$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
    if (value >= 1 && value <= MAX_TIMEOUT_MS) timeoutMs = value;
    else problems.push(`SCALR_CREDD_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }

  if (problems.length > 0) throw new HelperConfigError(problems.join('; '));
  return Object.freeze({ daemonUrl, token: token!, timeoutMs });
}

function readToken(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadTextFile,
  problems: string[],
): string | undefined {
  const literal = env['SCALR_CREDD_TOKEN']?.trim();
  const file = env['SCALR_CREDD_TOKEN_FILE']?.trim();
  if (literal && file) {
    problems.push('set only one of SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE');
    return undefined;
  }
  if (!literal && !file) {
    problems.push('no daemon token configured: set SCALR_CREDD_TOKEN_FILE (a file holding the token) or SCALR_CREDD_TOKEN');
    return undefined;
  }
  let token = literal;
  let source = 'SCALR_CREDD_TOKEN';
  if (file) {
    source = `the file named by SCALR_CREDD_TOKEN_FILE (${file})`;
    try {
      token = readFile(file).trim();
    } catch (error) {
      problems.push(`cannot read SCALR_CREDD_TOKEN_FILE (${file}): ${describeFsError(error)}`);
      return undefined;
    }
    if (token === '') {
      problems.push(`${source} is empty`);
      return undefined;
    }
  }
  if (!TOKEN_CHARS.test(token!)) {
    problems.push(`${source} holds characters a token cannot have (spaces or non-ASCII)`);
    return undefined;
  }
  return token;
}

function describeFsError(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return typeof code === 'string' ? code : 'read failed';
  }
}
