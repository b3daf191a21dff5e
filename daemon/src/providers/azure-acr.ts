import { registryBaseUrl } from '../registry/registry-probe.js';
import { MintError } from './mint-error.js';
import { isSuccess, oauthError, parseEndpointUrl, parseJsonObject, postForm, readJwtClaims, requireString, type MintedCredential, type ProviderDeps } from './provider-common.js';

/**
 * Azure Container Registry: a client-credentials token from Entra ID, exchanged at the registry's
 * `/oauth2/exchange` for an ACR refresh token (Azure/acr docs/AAD-OAuth.md). The refresh token is the
 * secret and the username is the all-zero GUID — never `<token>`, on which ORAS and OpenTofu break.
 */

/** The Entra ID application an `azure-acr` integration stores. */
export interface AzureIdentity {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** The username ACR expects with a refresh token. */
export const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';
/** How long a refresh token is assumed to live when it carries no `exp` claim (`az acr login`'s documented 3 h). */
export const ACR_DEFAULT_LIFETIME_MS = 3 * 60 * 60 * 1000;
/** The audience ACR accepts for the exchange. */
export const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/;

/** Options of one ACR mint. */
export interface AcrMintOptions {
  /** Extra CA of the registry, as stored with the integration: the exchange then goes over HTTPS even on loopback. */
  caCert?: string | null;
}

/** Mints an ACR credential for the registry `host`. */
export async function mintAcrCredential(host: string, identity: AzureIdentity, deps: ProviderDeps, options: AcrMintOptions = {}): Promise<MintedCredential> {
  if (!TENANT_PATTERN.test(identity.tenantId)) throw new MintError('azure-acr', 'invalid_identity', 'tenantId is not a tenant id or domain name');
  const accessToken = await fetchEntraToken(identity, deps);

  const step = 'ACR token exchange';
  // The registry's own scheme rule: HTTPS, plain HTTP only for a loopback registry stored without a CA.
  const url = new URL('/oauth2/exchange', registryBaseUrl(host, Boolean(options.caCert)));
  const form = { grant_type: 'access_token', service: host, tenant: identity.tenantId, access_token: accessToken };
  const response = await postForm('azure-acr', step, deps, url, form, options.caCert ?? undefined);
  if (!isSuccess(response.status)) throw oauthError('azure-acr', step, response);
  const refreshToken = requireString('azure-acr', step, parseJsonObject('azure-acr', step, response), 'refresh_token');

  const exp = readJwtClaims(refreshToken)?.['exp'];
  const expiresAt = typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : deps.nowMs() + ACR_DEFAULT_LIFETIME_MS;
  return { username: ACR_USERNAME, secret: refreshToken, expiresAt };
}

/** Gets an Entra ID access token for ACR with the client-credentials grant (`AZURE_AUTHORITY_HOST` overrides the authority). */
async function fetchEntraToken(identity: AzureIdentity, deps: ProviderDeps): Promise<string> {
  const step = 'Entra ID client-credentials token';
  const authority = parseEndpointUrl('azure-acr', 'AZURE_AUTHORITY_HOST', deps.env['AZURE_AUTHORITY_HOST'] || DEFAULT_AUTHORITY);
  const url = new URL(`${authority.pathname.replace(/\/+$/, '')}/${encodeURIComponent(identity.tenantId)}/oauth2/v2.0/token`, authority);
  const response = await postForm('azure-acr', step, deps, url, {
    grant_type: 'client_credentials',
    client_id: identity.clientId,
    client_secret: identity.clientSecret,
    scope: ACR_SCOPE,
  });
  if (!isSuccess(response.status)) throw oauthError('azure-acr', step, response);
  return requireString('azure-acr', step, parseJsonObject('azure-acr', step, response), 'access_token');
}
