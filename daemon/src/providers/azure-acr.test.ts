import { describe, expect, it } from 'vitest';
import { startFakeAzure, type FakeAzure } from '../../../test/support/cloud-fakes/azure-fake.js';
import { ACR_DEFAULT_LIFETIME_MS, ACR_USERNAME, mintAcrCredential, type AzureIdentity } from './azure-acr.js';
import { MintError } from './mint-error.js';
import { createOutbound } from './outbound.js';
import type { ProviderDeps } from './provider-common.js';

const IDENTITY: AzureIdentity = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: 'c1d2e3f4-0000-4000-8000-000000000001', clientSecret: 'fake~client~secret~value~0123456789' };

function depsFor(fake: FakeAzure, timeoutMs = 2_000): ProviderDeps {
  const env = { AZURE_AUTHORITY_HOST: fake.authority.href };
  return { send: createOutbound({ env, timeoutMs }), nowMs: Date.now, env };
}

describe('mintAcrCredential against the fake Entra ID and registry', () => {
  it('exchanges the Entra token for a refresh token under the all-zero username, expiring at its exp', async () => {
    const fake = await startFakeAzure({ ...IDENTITY, refreshTokenLifetimeSeconds: 3 * 3600 });
    const before = Date.now();

    const credential = await mintAcrCredential(fake.registryHost, IDENTITY, depsFor(fake));

    expect(credential.username).toBe(ACR_USERNAME);
    expect(fake.issuedSecrets).toContain(credential.secret);
    expect(credential.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3 * 3600 * 1000);
    expect(credential.expiresAt).toBeLessThanOrEqual(Date.now() + 3 * 3600 * 1000);
    expect(fake.calls).toEqual({ token: 1, exchange: 1 });
    expect(fake.rejections).toEqual([]);
  });

  it('assumes the documented 3 h when the refresh token carries no exp', async () => {
    const fake = await startFakeAzure({ ...IDENTITY, refreshTokenLifetimeSeconds: null });
    const now = Date.now();

    const credential = await mintAcrCredential(fake.registryHost, IDENTITY, { ...depsFor(fake), nowMs: () => now });

    expect(credential.expiresAt).toBe(now + ACR_DEFAULT_LIFETIME_MS);
  });

  it.each([
    ['clientSecret', { clientSecret: 'wrong' }, 'invalid_client'],
    ['clientId', { clientId: 'other' }, 'unauthorized_client'],
  ])('reports the Entra error code when %s is wrong, and never reaches the registry', async (_, change, code) => {
    const fake = await startFakeAzure(IDENTITY);

    const error = await mintAcrCredential(fake.registryHost, { ...IDENTITY, ...change }, depsFor(fake)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MintError);
    expect(error).toMatchObject({ provider: 'azure-acr', code });
    expect(fake.calls.exchange).toBe(0);
  });

  it('fails when the tenant is not the one the authority serves', async () => {
    const fake = await startFakeAzure(IDENTITY);

    await expect(mintAcrCredential(fake.registryHost, { ...IDENTITY, tenantId: 'contoso.onmicrosoft.com' }, depsFor(fake))).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('refuses a tenant id that would change the token URL path, before any call', async () => {
    const fake = await startFakeAzure(IDENTITY);

    await expect(mintAcrCredential(fake.registryHost, { ...IDENTITY, tenantId: '../common' }, depsFor(fake))).rejects.toMatchObject({ code: 'invalid_identity' });
    expect(fake.calls.token).toBe(0);
  });

  it.each([
    ['token', 'forbidden', 'invalid_client'],
    ['token', 'server_error', 'temporarily_unavailable'],
    ['token', 'malformed', 'malformed_response'],
    ['token', 'slow', 'timeout'],
    ['exchange', 'forbidden', 'unauthorized'],
    ['exchange', 'server_error', 'internal'],
    ['exchange', 'malformed', 'malformed_response'],
    ['exchange', 'slow', 'timeout'],
  ] as const)('turns a %s endpoint that is %s into a MintError %s', async (route, failure, code) => {
    const fake = await startFakeAzure(IDENTITY);
    fake.failures[route] = failure;

    await expect(mintAcrCredential(fake.registryHost, IDENTITY, depsFor(fake, 300))).rejects.toMatchObject({ provider: 'azure-acr', code });
  });
});
