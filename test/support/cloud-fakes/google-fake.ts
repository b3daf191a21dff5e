/**
 * A strict stand-in for Google's OAuth token endpoint (JWT-bearer grant): it verifies the assertion's
 * RS256 signature with the test key's public half and checks alg, kid, iss, scope, aud, iat and exp.
 * Test keys are generated when a test asks for one and never written to the repository.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { applyFailure, isForm, json, listenFake, newLedger, parseForm, type FakeAnswer, type FakeLedger, type FakeRequest } from './fake-http.js';

/** A freshly generated service account: its JSON key (as the admin would paste it) and the public half. */
export interface TestServiceAccount {
  clientEmail: string;
  keyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
  /** The service-account key JSON for a token URI. */
  keyJson(tokenUri: string): string;
}

/** Generates a 2048-bit RSA service account key. */
export function generateServiceAccount(clientEmail = 'puller@project-1.iam.gserviceaccount.com'): TestServiceAccount {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyId = randomBytes(20).toString('hex');
  return {
    clientEmail,
    keyId,
    privateKeyPem,
    publicKey: createPublicKey(privateKey),
    keyJson: (tokenUri) =>
      JSON.stringify({
        type: 'service_account',
        project_id: 'project-1',
        private_key_id: keyId,
        private_key: privateKeyPem,
        client_email: clientEmail,
        client_id: '100000000000000000001',
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: tokenUri,
      }),
  };
}

/** What the fake accepts. */
export interface FakeGoogleOptions {
  account: Pick<TestServiceAccount, 'clientEmail' | 'keyId' | 'publicKey'>;
  /** The access token every grant issues (default: a random one each time), for a registry told to accept it. */
  accessToken?: string;
  /** Lifetime of the access tokens issued (default 3599 s). */
  accessTokenLifetimeSeconds?: number;
  nowMs?: () => number;
  tls?: { key: string; cert: string };
}

/** A running fake. */
export interface FakeGoogle extends FakeLedger<'token'> {
  /** The token URI to put in the key file (also the `aud` it demands). */
  tokenUri: string;
  close(): Promise<void>;
}

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Starts the token endpoint on 127.0.0.1 (`/token`). */
export async function startFakeGoogle(options: FakeGoogleOptions): Promise<FakeGoogle> {
  const nowMs = options.nowMs ?? Date.now;
  const ledger = newLedger(['token'] as const);
  const { calls, failures, rejections, issuedSecrets } = ledger;
  let tokenUri = '';

  const refuse = (status: number, error: string, reason: string, request: FakeRequest): FakeAnswer => {
    rejections.push(reason);
    return json(status, { error, error_description: `${reason} (received ${request.body})` });
  };

  const listener = await listenFake((request) => {
    if (request.method !== 'POST' || request.target !== '/token') return json(404, { error: 'not_found' });
    calls.token++;
    const failed = applyFailure(failures.token, (status) => refuse(status, status === 403 ? 'invalid_grant' : 'internal_failure', 'failure switched on', request));
    if (failed) return failed;
    const form = parseForm(request.body);
    if (!isForm(request) || form['grant_type'] !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse(400, 'unsupported_grant_type', 'grant_type', request);
    const problem = checkAssertion(form['assertion'] ?? '', options.account, tokenUri, Math.floor(nowMs() / 1000));
    if (problem) return refuse(400, 'invalid_grant', problem, request);
    const accessToken = options.accessToken ?? `ya29.${randomBytes(32).toString('base64url')}`;
    issuedSecrets.push(accessToken);
    return json(200, { access_token: accessToken, expires_in: options.accessTokenLifetimeSeconds ?? 3599, token_type: 'Bearer' });
  }, options.tls);
  tokenUri = new URL('/token', listener.url).href;

  return { tokenUri, ...ledger, close: listener.close };
}

/** Verifies the JWT; returns what is wrong with it, or undefined. */
function checkAssertion(assertion: string, account: FakeGoogleOptions['account'], audience: string, now: number): string | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'assertion is not a JWT';
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decode(headerPart);
    claims = decode(claimsPart);
  } catch {
    return 'assertion segments are not JSON';
  }
  if (header['alg'] !== 'RS256' || header['typ'] !== 'JWT') return 'alg must be RS256';
  if (header['kid'] !== account.keyId) return 'kid does not name the key';
  const signatureOk = verify('RSA-SHA256', Buffer.from(`${headerPart}.${claimsPart}`), account.publicKey, Buffer.from(signaturePart, 'base64url'));
  if (!signatureOk) return 'Invalid JWT Signature.';
  const { iss, scope, aud, iat, exp } = claims;
  if (iss !== account.clientEmail) return 'iss is not the service account';
  if (scope !== SCOPE) return 'scope is not cloud-platform';
  if (aud !== audience) return 'aud is not the token URI';
  if (typeof iat !== 'number' || Math.abs(iat - now) > 300) return 'iat is not now';
  if (typeof exp !== 'number' || exp <= now || exp - iat > 3600) return 'exp is past or more than an hour after iat';
  return undefined;
}
