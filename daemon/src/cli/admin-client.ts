/**
 * The admin CLI's view of the daemon's HTTP API: where it is and which token to send (flags, env,
 * token file), typed calls that validate each answer, and the one place that turns a failed call
 * into the line the operator reads.
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import {
  API_ROUTES,
  AuditEventSchema,
  CreatedTokenSchema,
  IntegrationSummarySchema,
  IntegrationTestReportSchema,
  TokenSummarySchema,
  WhoAmISchema,
  defaultDaemonUrl,
  type AuditPage,
  type CreatedToken,
  type IntegrationSummary,
  type IntegrationTestReport,
  type ReadTextFile,
  type Role,
  type TokenSummary,
  type WhoAmI,
} from '@dcs/shared';
import { chooseTlsFiles, chooseTokenSource, unreadableFileProblem } from '@dcs/shared/client-settings';
import {
  HttpClientError,
  InvalidEndpointUrlError,
  httpErrorFromResponse,
  parseEndpointUrl,
  requestJson,
  type JsonRequest,
  type JsonResponse,
  type TlsSettings,
} from '@dcs/shared/http-client';
import { toSafeLine } from '@dcs/shared/safe-text';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { UsageError, usageErrorFromParseArgs, type CliIo } from './io.js';

/** How long one admin request may take, connect to last byte. */
export const ADMIN_TIMEOUT_MS = 15_000;

/** Where the daemon is and the token to present. */
export interface AdminConnection {
  url: string;
  token: string;
  /** For an `https://` URL with SCALR_CREDD_CA_FILE or a client certificate set. */
  tls?: TlsSettings;
}

export type { ReadTextFile };

/** The production ReadTextFile. */
export const readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8');

/** The flags every admin verb accepts for the connection. */
export interface ConnectionFlags {
  url?: string | undefined;
  tokenFile?: string | undefined;
}

/**
 * Resolves the daemon URL (--url, SCALR_CREDD_URL, else the default data dir's socket) and the token
 * (--token-file, SCALR_CREDD_TOKEN, SCALR_CREDD_TOKEN_FILE). Throws ConfigError when there is no token.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  io: Pick<CliIo, 'env' | 'homeDir'>,
  readFile: ReadTextFile = readTextFile,
): AdminConnection {
  const url = flags.url || io.env['SCALR_CREDD_URL'] || defaultDaemonUrl(io.env, io.homeDir);
  checkDaemonUrl(url, flags.url ? '--url' : io.env['SCALR_CREDD_URL'] ? 'SCALR_CREDD_URL' : 'the default data dir');
  const fromFile = (path: string, origin: string): string => {
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`cannot read the token file ${path} given by ${origin} (${code})`);
    }
    const token = text.trim();
    if (!token) throw new ConfigError(`the token file ${path} given by ${origin} is empty`);
    return token;
  };
  let token: string | undefined;
  // --token-file is explicit and wins; the two variables are refused together, as the helper refuses them.
  const source = flags.tokenFile ? undefined : chooseTokenSource(io.env);
  if (flags.tokenFile) token = fromFile(flags.tokenFile, '--token-file');
  else if (source?.kind === 'conflict') throw new ConfigError(source.problem);
  else if (source?.kind === 'value') token = source.token;
  else if (source?.kind === 'file') token = fromFile(source.path, source.variable);
  if (token === undefined) {
    throw new ConfigError('no API token: set SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE, or pass --token-file FILE');
  }
  if (/[\u0000-\u001f\u007f\s]/.test(token)) throw new ConfigError('the API token contains whitespace or control characters');
  const tls = url.startsWith('https:') ? readTls(io.env, readFile) : undefined;
  return tls === undefined ? { url, token } : { url, token, tls };
}

/** The TLS files SCALR_CREDD_CA_FILE, SCALR_CREDD_CLIENT_CERT and SCALR_CREDD_CLIENT_KEY name, read now. */
function readTls(env: CliIo['env'], readFile: ReadTextFile): TlsSettings | undefined {
  const { files, problem } = chooseTlsFiles(env);
  if (problem !== undefined) throw new ConfigError(problem);
  if (files.length === 0) return undefined;
  const tls: { -readonly [K in keyof TlsSettings]: TlsSettings[K] } = {};
  for (const { field, variable, path } of files) {
    try {
      tls[field] = readFile(path);
    } catch (error) {
      throw new ConfigError(unreadableFileProblem(variable, path, error));
    }
  }
  return tls;
}

/**
 * Refuses a daemon URL the client cannot use (`localhost:8700` has no scheme) as malformed, before
 * anything is sent, so that it is not reported as an unreachable daemon. A URL with user
 * credentials is not printed back.
 */
function checkDaemonUrl(url: string, origin: string): void {
  try {
    parseEndpointUrl(url);
  } catch (error) {
    if (!(error instanceof InvalidEndpointUrlError)) throw error;
    const shown = url.includes('@') ? '(not shown: it holds user credentials)' : JSON.stringify(url);
    const reason = /^(https?|unix):/i.test(url) ? error.message.replace(/;\s*use .*$/, '') : 'no http://, https:// or unix: scheme';
    throw new ConfigError(`malformed URL ${shown} from ${origin} (${reason}); use http://HOST:PORT, https://HOST:PORT or unix:PATH`);
  }
}

/** A cloud identity as the CLI sends it (read from stdin or a file; the daemon validates it). */
export type CloudIdentityFields =
  | { provider: 'aws-ecr'; aws: Record<string, unknown> }
  | { provider: 'azure-acr'; azure: Record<string, unknown> }
  | { provider: 'google'; google: Record<string, unknown> };

/** Fields of `POST /v1/integrations` as the CLI sends them: a static credential or a cloud identity. */
export type NewIntegration = IntegrationSettings & ({ username: string; secret: string } | CloudIdentityFields);

/** The fields of `POST /v1/integrations` besides the credential. */
export interface IntegrationSettings {
  host: string;
  export?: boolean;
  description?: string;
  /** ISO-8601 date-time with an offset: when the registry credential expires. */
  expiresAt?: string;
  /** PEM CA certificate(s) for testing the registry over TLS. */
  caCert?: string;
}

/** Fields of `PATCH /v1/integrations/:id` as the CLI sends them. */
export interface IntegrationChanges {
  username?: string;
  secret?: string;
  /** A replacement identity of the integration's provider. */
  aws?: Record<string, unknown>;
  azure?: Record<string, unknown>;
  google?: Record<string, unknown>;
  export?: boolean;
  description?: string | null;
  /** null clears it. */
  expiresAt?: string | null;
  /** null clears it. */
  caCert?: string | null;
}

/** Fields of `POST /v1/tokens` as the CLI sends them. */
export interface NewToken {
  name: string;
  role: Role;
  ttlSeconds?: number;
  hosts?: string[];
}

/** Query of `GET /v1/audit` as the CLI sends it. */
export interface AuditListQuery {
  since?: string;
  host?: string;
  action?: string;
  token?: string;
  limit: number;
  order: 'asc' | 'desc';
  cursor?: string;
}

/** The admin API calls. Every method throws HttpClientError on failure (kind `http` carries the API error code). */
export interface AdminClient {
  /** The daemon URL, for messages. */
  readonly url: string;
  listIntegrations(): Promise<IntegrationSummary[]>;
  getIntegration(id: string): Promise<IntegrationSummary>;
  createIntegration(body: NewIntegration): Promise<IntegrationSummary>;
  updateIntegration(id: string, changes: IntegrationChanges): Promise<IntegrationSummary>;
  removeIntegration(id: string): Promise<void>;
  /** Checks the stored credential against its registry; the outcome is also recorded on the integration. */
  testIntegration(id: string): Promise<IntegrationTestReport>;
  listTokens(): Promise<TokenSummary[]>;
  createToken(body: NewToken): Promise<CreatedToken>;
  revokeToken(id: string): Promise<void>;
  /** The token the client presents, as the daemon sees it (any role). */
  whoami(): Promise<WhoAmI>;
  /** One page of audit events (admin, auditor). */
  listAudit(query: AuditListQuery): Promise<AuditPage>;
}

/** Sends one request; requestJson in production, a fake in tests. */
export type SendJson = (request: JsonRequest) => Promise<JsonResponse>;

// Answers are checked against the shared schemas, but fields a newer daemon adds are kept, not refused.
const IntegrationAnswer = IntegrationSummarySchema.loose();
const IntegrationListAnswer = z.object({ integrations: z.array(IntegrationAnswer) });
const IntegrationTestAnswer = IntegrationTestReportSchema.loose();
const TokenListAnswer = z.object({ tokens: z.array(TokenSummarySchema.loose()) });
const CreatedTokenAnswer = CreatedTokenSchema.loose();
const WhoAmIAnswer = WhoAmISchema.loose();
const AuditPageAnswer = z.object({ events: z.array(AuditEventSchema.loose()), nextCursor: z.string().nullable() });

/** Builds an AdminClient over `send` (requestJson by default). */
export function createAdminClient(connection: AdminConnection, send: SendJson = requestJson, timeoutMs = ADMIN_TIMEOUT_MS): AdminClient {
  const { url, token, tls } = connection;
  const call = async (method: JsonRequest['method'], path: string, expected: number, body?: unknown): Promise<unknown> => {
    const response = await send({ url, token, method, path, timeoutMs, ...(body === undefined ? {} : { body }), ...(tls === undefined ? {} : { tls }) });
    if (response.status !== expected) throw httpErrorFromResponse(url, response);
    return response.body;
  };
  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const detail = 'the answer does not match the scalr-credd API (is the URL a scalr-credd daemon of the same version?)';
    throw new HttpClientError('protocol', `${url}: ${detail}`, { target: url, detail });
  };
  const integrationPath = (id: string) => API_ROUTES.integration.replace(':id', encodeURIComponent(id));
  const tokenPath = (id: string) => API_ROUTES.token.replace(':id', encodeURIComponent(id));

  return {
    url,
    async listIntegrations() {
      return parse(IntegrationListAnswer, await call('GET', API_ROUTES.integrations, 200)).integrations;
    },
    async getIntegration(id) {
      return parse(IntegrationAnswer, await call('GET', integrationPath(id), 200));
    },
    async createIntegration(body) {
      return parse(IntegrationAnswer, await call('POST', API_ROUTES.integrations, 201, body));
    },
    async updateIntegration(id, changes) {
      return parse(IntegrationAnswer, await call('PATCH', integrationPath(id), 200, changes));
    },
    async removeIntegration(id) {
      await call('DELETE', integrationPath(id), 204);
    },
    async testIntegration(id) {
      const path = API_ROUTES.integrationTest.replace(':id', encodeURIComponent(id));
      return parse(IntegrationTestAnswer, await call('POST', path, 200));
    },
    async listTokens() {
      return parse(TokenListAnswer, await call('GET', API_ROUTES.tokens, 200)).tokens;
    },
    async createToken(body) {
      return parse(CreatedTokenAnswer, await call('POST', API_ROUTES.tokens, 201, body));
    },
    async revokeToken(id) {
      await call('DELETE', tokenPath(id), 204);
    },
    async whoami() {
      return parse(WhoAmIAnswer, await call('GET', API_ROUTES.whoami, 200));
    },
    async listAudit(query) {
      const search = new URLSearchParams(Object.entries(query).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)] as [string, string]])));
      return parse(AuditPageAnswer, await call('GET', `${API_ROUTES.audit}?${search}`, 200));
    },
  };
}

/** A failure the CLI finds itself (e.g. no integration for a host), reported like an API error. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Builds the client an admin verb uses from its connection flags; injected by tests. */
export type ConnectAdmin = (flags: ConnectionFlags, io: CliIo) => AdminClient;

/** The production ConnectAdmin: resolves the connection and talks HTTP with requestJson. */
export const connectAdmin: ConnectAdmin = (flags, io) => createAdminClient(resolveConnection(flags, io));

/**
 * Runs an admin verb and turns a failed API call into one line on stderr and exit code 1:
 * `scalr-credd: <message> (<code>)` for an API error, what to check when the daemon is unreachable.
 * Any other error is rethrown (usage errors exit 2 in runCli).
 */
export async function reportApiErrors(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AdminError) {
      io.stderr(`scalr-credd: ${oneLine(error.message)} (${error.code})\n`);
      return 1;
    }
    if (!(error instanceof HttpClientError)) throw error;
    io.stderr(`scalr-credd: ${describeApiError(error)}\n`);
    return 1;
  }
}

/** The one-line description of a failed API call. */
export function describeApiError(error: HttpClientError): string {
  const check = `check that 'scalr-credd serve' is running there and that SCALR_CREDD_URL (or --url) names its listen address`;
  switch (error.kind) {
    case 'http':
      return `${oneLine(error.serverMessage ?? `the daemon answered HTTP ${error.status ?? '?'}`)} (${error.code ?? `http ${error.status ?? '?'}`})`;
    case 'unreachable':
      if (error.detail.startsWith('TLS:')) return `${oneLine(error.message)}; check the URL's host name and SCALR_CREDD_CA_FILE (and SCALR_CREDD_CLIENT_CERT/KEY if the daemon asks for a client certificate)`;
      return `${oneLine(error.message)}; ${check}`;
    case 'timeout':
      return `${oneLine(error.message)}; ${check}, and that it is not overloaded`;
    case 'closed':
    case 'protocol':
      return `${oneLine(error.message)}; is SCALR_CREDD_URL a scalr-credd daemon?`;
  }
}

function oneLine(text: string): string {
  return toSafeLine(text, 2048);
}

/** The options every admin verb takes. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** A token's id (never its value): `tok_` and 16 hex digits. */
export const TOKEN_ID = /^tok_[0-9a-f]{16}$/;

/**
 * Runs an admin verb's parseArgs (strict, positionals allowed) with messages that never echo an
 * argument's value (a secret typed by mistake must not be printed back), and refuses the flags that
 * would carry a secret or a token, saying what to do instead.
 */
export function parseVerbArgs<T extends { positionals: string[] }>(args: string[], maxPositionals: number, parse: (args: string[]) => T): T {
  for (const [index, arg] of args.entries()) {
    if (arg === '--') break;
    if (/^--(secret|password|passwd|pass|pat)(=|$)/i.test(arg)) {
      throw new UsageError(
        `${arg.split('=')[0]} is not accepted: a secret on the command line ends up in shell history and the process list; pipe it on stdin instead, e.g. printf '%s' "$REGISTRY_PAT" | scalr-credd integration add --host HOST --username USER`,
      );
    }
    // A token id (`audit list --token tok_…`) is no credential; anything else given to --token may be one.
    const tokenValue = arg === '--token' ? args[index + 1] : arg.startsWith('--token=') ? arg.slice('--token='.length) : undefined;
    if ((arg === '--token' || arg.startsWith('--token=')) && !TOKEN_ID.test(tokenValue ?? '')) {
      throw new UsageError(
        '--token takes a token id (tok_...) to filter by, never a token: a token on the command line ends up in shell history; set SCALR_CREDD_TOKEN or pass --token-file FILE',
      );
    }
  }
  const parsed = (() => {
    try {
      return parse(args);
    } catch (error) {
      const usage = usageErrorFromParseArgs(error);
      throw usage instanceof UsageError ? usage : new UsageError('invalid arguments');
    }
  })();
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(
      maxPositionals === 0 ? 'this command takes no positional argument (secrets are read from stdin)' : 'too many arguments (secrets are read from stdin)',
    );
  }
  return parsed;
}
