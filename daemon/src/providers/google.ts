import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { MintError } from './mint-error.js';
import { base64url, isSuccess, oauthError, parseEndpointUrl, parseJsonObject, postForm, requireString, type MintedCredential, type ProviderDeps } from './provider-common.js';

/**
 * Google Artifact Registry and Container Registry: a service-account key signs an RS256 JWT, which
 * the key's `token_uri` exchanges for an OAuth access token (RFC 7523 JWT-bearer grant). The access
 * token is the password of the user `oauth2accesstoken`. One token serves every Google registry host.
 */

/** The identity a `google` integration stores: the service-account JSON key, as text. */
export interface GoogleIdentity {
  serviceAccountKey: string;
}

/** The parts of a service-account key the grant uses. */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: KeyObject;
  privateKeyId: string | undefined;
  tokenUri: URL;
}

/** The username Google registries expect with an access token. */
export const GOOGLE_USERNAME = 'oauth2accesstoken';
/** The scope asked for; the service account's IAM roles (roles/artifactregistry.reader) do the narrowing. */
export const GOOGLE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const JWT_LIFETIME_SECONDS = 3600;
const MAX_KEY_CHARS = 16 * 1024;

/**
 * Whether a google integration serves `host` (lower case, no port): `gcr.io` and its one-label
 * subdomains (`us.gcr.io`, `eu.gcr.io`, `asia.gcr.io`, `marketplace.gcr.io`), Artifact Registry's
 * `<location>-docker.pkg.dev`, and its regional endpoints `docker.<location>.rep.pkg.dev`.
 */
export function googleHostMatches(host: string): boolean {
  return /^(?:(?:[a-z0-9-]{1,63}\.)?gcr\.io|[a-z0-9][a-z0-9-]{0,62}-docker\.pkg\.dev|docker\.[a-z0-9-]{1,63}\.rep\.pkg\.dev)$/.test(host);
}

/** Parses and checks a service-account JSON key; a MintError `invalid_identity` names the bad field, never its value. */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  const invalid = (what: string) => new MintError('google', 'invalid_identity', `the service account key ${what}`);
  if (text.length > MAX_KEY_CHARS) throw invalid(`is longer than ${MAX_KEY_CHARS} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('is not a JSON object');
  const key = parsed as Record<string, unknown>;
  if (key['type'] !== 'service_account') throw invalid('is not of type service_account');
  const clientEmail = key['client_email'];
  if (typeof clientEmail !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(clientEmail)) throw invalid('has no valid client_email');
  const pem = key['private_key'];
  if (typeof pem !== 'string' || !pem.includes('PRIVATE KEY-----')) throw invalid('has no PEM private_key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw invalid('private_key cannot be read');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw invalid('private_key is not an RSA key');
  const privateKeyId = key['private_key_id'];
  if (privateKeyId !== undefined && typeof privateKeyId !== 'string') throw invalid('private_key_id is not a string');
  const tokenUri = key['token_uri'] ?? DEFAULT_TOKEN_URI;
  if (typeof tokenUri !== 'string') throw invalid('token_uri is not a string');
  let tokenUrl: URL;
  try {
    tokenUrl = parseEndpointUrl('google', 'token_uri', tokenUri);
  } catch {
    throw invalid('token_uri is not an http(s) URL');
  }
  return { clientEmail, privateKey, privateKeyId: privateKeyId || undefined, tokenUri: tokenUrl };
}

/** Builds the signed JWT assertion: iss = client_email, aud = token_uri, one hour from `nowMs`. */
export function buildJwtAssertion(key: ServiceAccountKey, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.privateKeyId ? { kid: key.privateKeyId } : {}) };
  const claims = { iss: key.clientEmail, scope: GOOGLE_SCOPE, aud: key.tokenUri.href, iat, exp: iat + JWT_LIFETIME_SECONDS };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${base64url(sign('RSA-SHA256', Buffer.from(signingInput), key.privateKey))}`;
}

/** Mints a Google registry credential from a service-account key. */
export async function mintGoogleCredential(identity: GoogleIdentity, deps: ProviderDeps): Promise<MintedCredential> {
  const key = parseServiceAccountKey(identity.serviceAccountKey);
  const step = 'Google JWT-bearer token grant';
  const startedAt = deps.nowMs();
  const response = await postForm('google', step, deps, key.tokenUri, {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: buildJwtAssertion(key, startedAt),
  });
  if (!isSuccess(response.status)) throw oauthError('google', step, response);
  const answer = parseJsonObject('google', step, response);
  const accessToken = requireString('google', step, answer, 'access_token');
  const expiresIn = answer['expires_in'];
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new MintError('google', 'malformed_response', `${step}: the answer has no positive expires_in`, response.status);
  }
  return { username: GOOGLE_USERNAME, secret: accessToken, expiresAt: startedAt + expiresIn * 1000 };
}
