import { MintError, sanitizeErrorCode, type CloudProvider } from './mint-error.js';
import { OutboundError, type EnvironmentVariables, type OutboundRequest, type OutboundResponse, type SendOutbound } from './outbound.js';

/** A registry credential minted from a cloud identity, as the helper will hand it to a client. */
export interface MintedCredential {
  username: string;
  secret: string;
  /** Epoch milliseconds after which the credential must not be served (already capped by the identity's own expiry). */
  expiresAt: number;
}

/** What every provider needs from the daemon: the outbound request function, the clock and the environment. */
export interface ProviderDeps {
  send: SendOutbound;
  nowMs: () => number;
  env: EnvironmentVariables;
}

/**
 * Sends a request for one step of a flow (`step` names it in errors: "STS AssumeRole"). An outbound
 * failure becomes a MintError with the outbound code; the answer is returned whatever its status.
 */
export async function sendStep(provider: CloudProvider, step: string, deps: ProviderDeps, request: OutboundRequest): Promise<OutboundResponse> {
  try {
    return await deps.send(request);
  } catch (error) {
    if (error instanceof OutboundError) throw new MintError(provider, error.code, `${step}: ${error.message}`);
    throw new MintError(provider, 'unreachable', `${step}: the request to ${request.url.host} failed`);
  }
}

/** Posts an application/x-www-form-urlencoded body (`ca`: an extra PEM CA trusted for this request). */
export function postForm(
  provider: CloudProvider,
  step: string,
  deps: ProviderDeps,
  url: URL,
  form: Record<string, string>,
  ca?: string,
): Promise<OutboundResponse> {
  return sendStep(provider, step, deps, {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
    ca,
  });
}

/** Parses a JSON object body; anything else is a `malformed_response` MintError. */
export function parseJsonObject(provider: CloudProvider, step: string, response: OutboundResponse): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MintError(provider, 'malformed_response', `${step}: the answer (HTTP ${response.status}) is not a JSON object`, response.status);
  }
  return parsed as Record<string, unknown>;
}

/**
 * The MintError for a non-2xx answer of an OAuth 2.0 endpoint: its `error` field is the code. The
 * `error_description` is never copied: it is remote text, and some servers echo what they received.
 */
export function oauthError(provider: CloudProvider, step: string, response: OutboundResponse): MintError {
  let code: unknown;
  try {
    code = (JSON.parse(response.body.toString('utf8')) as { error?: unknown }).error;
  } catch {
    code = undefined;
  }
  return refusedError(provider, step, code, response.status);
}

/** The MintError for a refused step: the provider's code when it is a plain token, else `http_<status>`. */
export function refusedError(provider: CloudProvider, step: string, providerCode: unknown, status: number): MintError {
  const fallback = `http_${status}`;
  const code = sanitizeErrorCode(providerCode, fallback);
  return new MintError(provider, code, `${step} was refused (${code === fallback ? '' : `${code}, `}HTTP ${status})`, status);
}

/** Reads a required non-empty string field of a parsed answer, or throws `malformed_response`. */
export function requireString(provider: CloudProvider, step: string, object: Record<string, unknown>, field: string): string {
  const value = object[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MintError(provider, 'malformed_response', `${step}: the answer has no ${field}`);
  }
  return value;
}

/** Whether a status is 2xx. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Parses an endpoint URL from configuration (an env override, a key file's token_uri). */
export function parseEndpointUrl(provider: CloudProvider, name: string, value: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url;
  } catch {
    // Reported below.
  }
  throw new MintError(provider, 'invalid_endpoint', `${name} is not an http(s) URL`);
}

/** Decodes the claims of a JWT without verifying it (only to read `exp` of a token we were just given). */
export function readJwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length > 16 * 1024) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes bytes or text as base64url without padding (JWT segments). */
export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}
