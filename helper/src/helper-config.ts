/**
 * The helper's configuration, read from the environment once per process. Hand-written checks instead
 * of zod keep the helper's start-up cheap. Messages name variables and paths, never a token.
 */
import { chooseTlsFiles, chooseTokenSource, unreadableFileProblem } from '@dcs/shared/client-settings';
import { splitDaemonUrls } from '@dcs/shared/failover';
import { InvalidEndpointUrlError, parseEndpointUrl, type TlsSettings } from '@dcs/shared/http-client';
import { defaultDaemonUrl } from '@dcs/shared/paths';
import { withoutUserInfo } from '@dcs/shared/safe-text';
import { HelperConfigError } from './errors.js';

/** Where the daemon is, how to authenticate, and how long one request may take. */
export interface HelperConfig {
  /** `http://host:port`, `https://host:port` or `unix:/path/to.sock`; or several, separated by commas (failover). */
  readonly daemonUrl: string;
  readonly token: string;
  /** The deadline for one whole request to the daemon. */
  readonly timeoutMs: number;
  /** For an `https://` daemon URL: the CA and client certificate files' contents, when set. */
  readonly tls?: TlsSettings;
}

/** Reads a whole text file (the token file, TLS files), at once or later; rejects with the runtime's error (its `code` is read). */
export type LoadTextFile = (path: string) => Promise<string> | string;

/** The request deadline when SCALR_CREDD_TIMEOUT_MS is not set. */
export const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 600_000;
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * Loads and checks the helper's configuration; rejects with HelperConfigError listing every problem
 * at once. `homeDir` is asked only when SCALR_CREDD_URL is unset.
 */
export async function loadHelperConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: LoadTextFile,
  homeDir: () => string,
): Promise<HelperConfig> {
  const problems: string[] = [];

  const urlText = env['SCALR_CREDD_URL']?.trim();
  const daemonUrl = urlText ? urlText : defaultDaemonUrl(env, homeDir());
  const daemonUrls = splitDaemonUrls(daemonUrl);
  if (daemonUrls.length === 0) problems.push('SCALR_CREDD_URL names no URL');
  let https = false;
  for (const url of daemonUrls) {
    try {
      const endpoint = parseEndpointUrl(url);
      https ||= endpoint.kind === 'tcp' && endpoint.protocol === 'https:';
    } catch (error) {
      const reason = error instanceof InvalidEndpointUrlError ? error.message : 'invalid URL';
      const name = !urlText ? 'the default daemon URL' : daemonUrls.length === 1 ? 'SCALR_CREDD_URL' : `SCALR_CREDD_URL's ${withoutUserInfo(url)}`;
      problems.push(`${name} is not usable: ${reason}`);
    }
  }

  const token = await readToken(env, readFile, problems);
  const tls = https ? await readTls(env, readFile, problems) : undefined;

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeoutText = env['SCALR_CREDD_TIMEOUT_MS']?.trim();
  if (timeoutText) {
    const value = /^[0-9]{1,7}$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
    if (value >= 1 && value <= MAX_TIMEOUT_MS) timeoutMs = value;
    else problems.push(`SCALR_CREDD_TIMEOUT_MS must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }

  if (problems.length > 0) throw new HelperConfigError(problems.join('; '));
  return Object.freeze({ daemonUrl, token: token!, timeoutMs, ...(tls === undefined ? {} : { tls }) });
}

async function readToken(
  env: Readonly<Record<string, string | undefined>>,
  readFile: LoadTextFile,
  problems: string[],
): Promise<string | undefined> {
  const source = chooseTokenSource(env);
  let token: string;
  let origin = 'SCALR_CREDD_TOKEN';
  switch (source.kind) {
    case 'conflict':
      problems.push(source.problem);
      return undefined;
    case 'none':
      problems.push('no daemon token configured: set SCALR_CREDD_TOKEN_FILE (a file holding the token) or SCALR_CREDD_TOKEN');
      return undefined;
    case 'value':
      token = source.token;
      break;
    case 'file':
      origin = `the file named by SCALR_CREDD_TOKEN_FILE (${source.path})`;
      try {
        token = (await readFile(source.path)).trim();
      } catch (error) {
        problems.push(unreadableFileProblem(source.variable, source.path, error));
        return undefined;
      }
      if (token === '') {
        problems.push(`${origin} is empty`);
        return undefined;
      }
  }
  if (!TOKEN_CHARS.test(token)) {
    problems.push(`${origin} holds characters a token cannot have (spaces or non-ASCII)`);
    return undefined;
  }
  return token;
}

async function readTls(env: Readonly<Record<string, string | undefined>>, readFile: LoadTextFile, problems: string[]): Promise<TlsSettings> {
  const { files, problem } = chooseTlsFiles(env);
  if (problem !== undefined) problems.push(problem);
  const tls: { -readonly [K in keyof TlsSettings]: TlsSettings[K] } = {};
  for (const { field, variable, path } of files) {
    try {
      tls[field] = await readFile(path);
    } catch (error) {
      problems.push(unreadableFileProblem(variable, path, error));
    }
  }
  return tls;
}
