import { verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateServiceAccount, startFakeGoogle, type TestServiceAccount } from '../../../test/support/cloud-fakes/google-fake.js';
import { buildJwtAssertion, GOOGLE_SCOPE, GOOGLE_USERNAME, googleHostMatches, mintGoogleCredential, parseServiceAccountKey } from './google.js';
import { MintError } from './mint-error.js';
import { createOutbound } from './outbound.js';
import type { ProviderDeps } from './provider-common.js';

const account: TestServiceAccount = generateServiceAccount();
const deps = (timeoutMs = 2_000): ProviderDeps => ({ send: createOutbound({ env: {}, timeoutMs }), nowMs: Date.now, env: {} });

describe('googleHostMatches', () => {
  it.each(['gcr.io', 'us.gcr.io', 'eu.gcr.io', 'asia.gcr.io', 'marketplace.gcr.io', 'europe-west4-docker.pkg.dev', 'us-docker.pkg.dev', 'docker.us-central1.rep.pkg.dev'])(
    'serves %s',
    (host) => {
      expect(googleHostMatches(host)).toBe(true);
    },
  );

  it.each([
    'evilgcr.io',
    'a.b.gcr.io',
    'gcr.io.evil.example',
    'gcr.io:443',
    'docker.pkg.dev',
    '-docker.pkg.dev',
    'europe-west4-npm.pkg.dev',
    'x.europe-west4-docker.pkg.dev',
    'docker.a.b.rep.pkg.dev',
    'GCR.IO',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  ])('does not serve %s', (host) => {
    expect(googleHostMatches(host)).toBe(false);
  });
});

describe('parseServiceAccountKey', () => {
  const valid = JSON.parse(account.keyJson('https://oauth2.googleapis.com/token')) as Record<string, unknown>;

  it('reads the email, key, key id and token URI', () => {
    const key = parseServiceAccountKey(JSON.stringify(valid));

    expect(key.clientEmail).toBe(account.clientEmail);
    expect(key.privateKeyId).toBe(account.keyId);
    expect(key.tokenUri.href).toBe('https://oauth2.googleapis.com/token');
    expect(key.privateKey.asymmetricKeyType).toBe('rsa');
  });

  it('defaults token_uri to Google when the key has none', () => {
    expect(parseServiceAccountKey(JSON.stringify({ ...valid, token_uri: undefined })).tokenUri.href).toBe('https://oauth2.googleapis.com/token');
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', '[]'],
    ['another type', JSON.stringify({ ...valid, type: 'authorized_user' })],
    ['no client_email', JSON.stringify({ ...valid, client_email: undefined })],
    ['a broken private_key', JSON.stringify({ ...valid, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })],
    ['a token_uri that is not a URL', JSON.stringify({ ...valid, token_uri: 'ftp:/x' })],
  ])('refuses a key with %s, naming no value', (_, text) => {
    const error = (() => {
      try {
        parseServiceAccountKey(text);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(MintError);
    expect(error).toMatchObject({ provider: 'google', code: 'invalid_identity' });
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });
});

describe('buildJwtAssertion', () => {
  it('signs an RS256 JWT with iss, scope, aud = token_uri and a one-hour life', () => {
    const key = parseServiceAccountKey(account.keyJson('https://oauth2.example.test/token'));
    const now = Date.UTC(2030, 0, 1);

    const [header, claims, signature] = buildJwtAssertion(key, now).split('.') as [string, string, string];

    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: account.keyId });
    expect(JSON.parse(Buffer.from(claims, 'base64url').toString())).toEqual({
      iss: account.clientEmail,
      scope: GOOGLE_SCOPE,
      aud: 'https://oauth2.example.test/token',
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });
    expect(verify('RSA-SHA256', Buffer.from(`${header}.${claims}`), account.publicKey, Buffer.from(signature, 'base64url'))).toBe(true);
  });
});

describe('mintGoogleCredential against the fake token endpoint', () => {
  it('mints an access token for oauth2accesstoken, expiring after expires_in', async () => {
    const fake = await startFakeGoogle({ account });
    const now = Date.now();

    const credential = await mintGoogleCredential({ serviceAccountKey: account.keyJson(fake.tokenUri) }, { ...deps(), nowMs: () => now });

    expect(credential).toEqual({ username: GOOGLE_USERNAME, secret: fake.issuedSecrets[0], expiresAt: now + 3599 * 1000 });
    expect(fake.rejections).toEqual([]);
  });

  it('is refused with invalid_grant when the key is not the one the fake knows', async () => {
    const fake = await startFakeGoogle({ account });
    const stranger = generateServiceAccount(account.clientEmail);

    const result = mintGoogleCredential({ serviceAccountKey: stranger.keyJson(fake.tokenUri) }, deps());

    await expect(result).rejects.toMatchObject({ provider: 'google', code: 'invalid_grant', upstreamStatus: 400 });
    expect(fake.rejections).toEqual(['kid does not name the key']);
  });

  it('is refused when the clock is off by more than the fake allows', async () => {
    const fake = await startFakeGoogle({ account });

    const result = mintGoogleCredential({ serviceAccountKey: account.keyJson(fake.tokenUri) }, { ...deps(), nowMs: () => Date.now() - 2 * 3600 * 1000 });

    await expect(result).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(fake.rejections).toEqual(['iat is not now']);
  });

  it.each([
    ['forbidden', 'invalid_grant'],
    ['server_error', 'internal_failure'],
    ['malformed', 'malformed_response'],
    ['slow', 'timeout'],
  ] as const)('turns a token endpoint that is %s into a MintError %s', async (failure, code) => {
    const fake = await startFakeGoogle({ account });
    fake.failures.token = failure;

    await expect(mintGoogleCredential({ serviceAccountKey: account.keyJson(fake.tokenUri) }, deps(300))).rejects.toMatchObject({ provider: 'google', code });
  });

  it('refuses a token_uri over plain HTTP to a non-loopback host without sending the assertion', async () => {
    const result = mintGoogleCredential({ serviceAccountKey: account.keyJson('http://oauth2.example.test/token') }, deps());

    await expect(result).rejects.toMatchObject({ code: 'insecure_endpoint' });
  });

  it('refuses a token_uri pointing at a metadata service', async () => {
    const result = mintGoogleCredential({ serviceAccountKey: account.keyJson('http://169.254.169.254/computeMetadata/v1/') }, deps());

    await expect(result).rejects.toMatchObject({ code: 'forbidden_endpoint' });
  });
});
