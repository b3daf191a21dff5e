/**
 * A strict stand-in for Entra ID's token endpoint (client credentials) and an Azure Container
 * Registry's `/oauth2/exchange`, on two loopback servers: the authority (`AZURE_AUTHORITY_HOST`) and
 * the registry host. The exchange only accepts access tokens the authority issued, for its tenant.
 * Refusals echo what they received, so tests can prove the client never copies remote text.
 */
import { randomBytes } from 'node:crypto';
import { applyFailure, isForm, json, listenFake, newLedger, parseForm, type FakeAnswer, type FakeLedger, type FakeRequest } from './fake-http.js';

/** What the fake accepts. */
export interface FakeAzureOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Lifetime put in the refresh token's `exp` claim (default 3 h); `null` leaves `exp` out. */
  refreshTokenLifetimeSeconds?: number | null;
  /** The refresh token every exchange issues, verbatim (default: a fresh JWT each time), for a token server told to accept it. */
  refreshToken?: string;
  /** A real registry behind the fake one: every request but the exchange is passed on to it. */
  registryUpstream?: URL;
  nowMs?: () => number;
}

/** A running fake; its issued secrets are every access and refresh token. */
export interface FakeAzure extends FakeLedger<'token' | 'exchange'> {
  /** The authority to set as AZURE_AUTHORITY_HOST. */
  authority: URL;
  /** The registry's `host:port`. */
  registryHost: string;
  close(): Promise<void>;
}

const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

/** Starts the authority and the registry on 127.0.0.1. */
export async function startFakeAzure(options: FakeAzureOptions): Promise<FakeAzure> {
  const nowMs = options.nowMs ?? Date.now;
  const ledger = newLedger(['token', 'exchange'] as const);
  const { calls, failures, rejections, issuedSecrets } = ledger;
  const accessTokens = new Map<string, number>();
  let registryHost = '';

  const refuse = (status: number, error: string, request: FakeRequest): FakeAnswer => {
    rejections.push(error);
    return json(status, { error, error_description: `AADSTS: refused (received ${request.body})` });
  };

  const authority = await listenFake((request) => {
    if (request.method !== 'POST' || request.target !== `/${options.tenantId}/oauth2/v2.0/token`) return refuse(400, 'invalid_request', request);
    calls.token++;
    const failed = applyFailure(failures.token, (status) => refuse(status, status === 403 ? 'invalid_client' : 'temporarily_unavailable', request));
    if (failed) return failed;
    const form = parseForm(request.body);
    if (!isForm(request) || form['grant_type'] !== 'client_credentials') return refuse(400, 'unsupported_grant_type', request);
    if (form['client_id'] !== options.clientId) return refuse(400, 'unauthorized_client', request);
    if (form['client_secret'] !== options.clientSecret) return refuse(401, 'invalid_client', request);
    if (form['scope'] !== ACR_SCOPE) return refuse(400, 'invalid_scope', request);
    const accessToken = `aad-${randomBytes(24).toString('hex')}`;
    accessTokens.set(accessToken, nowMs() + 3599 * 1000);
    issuedSecrets.push(accessToken);
    return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
  });

  const registry = await listenFake((request) => {
    if (request.method !== 'POST' || request.target !== '/oauth2/exchange') return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    calls.exchange++;
    const failed = applyFailure(failures.exchange, (status) => refuse(status, status === 403 ? 'unauthorized' : 'internal', request));
    if (failed) return failed;
    const form = parseForm(request.body);
    const validUntil = accessTokens.get(form['access_token'] ?? '');
    if (!isForm(request) || form['grant_type'] !== 'access_token') return refuse(400, 'unsupported_grant_type', request);
    if (form['service'] !== registryHost) return refuse(400, 'invalid_service', request);
    if (form['tenant'] !== options.tenantId) return refuse(401, 'invalid_tenant', request);
    if (validUntil === undefined || validUntil <= nowMs()) return refuse(401, 'invalid_access_token', request);
    const lifetime = options.refreshTokenLifetimeSeconds === undefined ? 3 * 3600 : options.refreshTokenLifetimeSeconds;
    const iat = Math.floor(nowMs() / 1000);
    const claims = { jti: randomBytes(8).toString('hex'), sub: options.clientId, aud: registryHost, grant_type: 'refresh_token', tenant: options.tenantId, iat, ...(lifetime === null ? {} : { exp: iat + lifetime }) };
    const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const refreshToken = options.refreshToken ?? `${segment({ alg: 'RS256', typ: 'JWT' })}.${segment(claims)}.${randomBytes(32).toString('base64url')}`;
    issuedSecrets.push(refreshToken);
    return json(200, { refresh_token: refreshToken });
  }, undefined, options.registryUpstream ? { target: options.registryUpstream, when: (req) => req.url !== '/oauth2/exchange' } : undefined);
  registryHost = registry.url.host;

  return {
    authority: authority.url,
    registryHost,
    ...ledger,
    close: async () => {
      await Promise.all([authority.close(), registry.close()]);
    },
  };
}
