import { describe, expect, it } from 'vitest';
import { startFakeAws } from '../../../test/support/cloud-fakes/aws-fake.js';
import { startFakeAzure } from '../../../test/support/cloud-fakes/azure-fake.js';
import type { FakeFailure } from '../../../test/support/cloud-fakes/fake-http.js';
import { generateServiceAccount, startFakeGoogle } from '../../../test/support/cloud-fakes/google-fake.js';
import { createMintCache, type CachedIntegration } from './mint-cache.js';
import { mintCredential } from './mint-credential.js';
import { MintError } from './mint-error.js';
import { createOutbound, type EnvironmentVariables } from './outbound.js';
import type { ProviderDeps } from './provider-common.js';

const HOUR = 3600 * 1000;
const AWS_KEY = { accessKeyId: 'AKIAFAKEACCESSKEY02', secretAccessKey: 'fake/aws+secret/access/key/abcdef0123456789' };
const ROLE = { arn: 'arn:aws:iam::123456789012:role/puller', externalId: 'external-id-value' };
const AZURE = { tenantId: 'contoso.onmicrosoft.com', clientId: 'client-id-0001', clientSecret: 'fake~azure~client~secret~0123456789' };
const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const account = generateServiceAccount();

/** One provider wired to its fake: the integration to mint, the fake's switches, and every secret in play. */
interface Scenario {
  integration: CachedIntegration;
  env: EnvironmentVariables;
  routes: string[];
  calls(): number;
  fail(route: string, failure: FakeFailure | undefined): void;
  secrets(): string[];
  lifetimeMs: number;
}

type Clock = { now: number };

const SCENARIOS: Record<string, (clock: Clock) => Promise<Scenario>> = {
  'aws-ecr': async (clock) => {
    const fake = await startFakeAws({ ...AWS_KEY, region: 'eu-west-1', role: ROLE, nowMs: () => clock.now });
    return {
      integration: { id: 'ecr', revision: '1', host: ECR_HOST, identity: { provider: 'aws-ecr', aws: { ...AWS_KEY, roleArn: ROLE.arn, externalId: ROLE.externalId } } },
      env: { AWS_ENDPOINT_URL_STS: fake.url.href, AWS_ENDPOINT_URL_ECR: fake.url.href },
      routes: ['sts', 'ecr'],
      calls: () => fake.calls.ecr,
      fail: (route, failure) => (fake.failures[route as 'sts' | 'ecr'] = failure),
      secrets: () => [AWS_KEY.accessKeyId, AWS_KEY.secretAccessKey, ...fake.issuedSecrets],
      lifetimeMs: HOUR,
    };
  },
  'azure-acr': async (clock) => {
    const fake = await startFakeAzure({ ...AZURE, nowMs: () => clock.now });
    return {
      integration: { id: 'acr', revision: '1', host: fake.registryHost, identity: { provider: 'azure-acr', azure: AZURE } },
      env: { AZURE_AUTHORITY_HOST: fake.authority.href },
      routes: ['token', 'exchange'],
      calls: () => fake.calls.exchange,
      fail: (route, failure) => (fake.failures[route as 'token' | 'exchange'] = failure),
      secrets: () => [AZURE.clientSecret, ...fake.issuedSecrets],
      lifetimeMs: 3 * HOUR,
    };
  },
  google: async (clock) => {
    const fake = await startFakeGoogle({ account, nowMs: () => clock.now });
    const keyBody = account.privateKeyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    return {
      integration: { id: 'gar', revision: '1', host: 'europe-docker.pkg.dev', identity: { provider: 'google', google: { serviceAccountKey: account.keyJson(fake.tokenUri) } } },
      env: {},
      routes: ['token'],
      calls: () => fake.calls.token,
      fail: (_, failure) => (fake.failures.token = failure),
      secrets: () => [...keyBody, ...fake.issuedSecrets],
      lifetimeMs: 3599 * 1000,
    };
  },
};

function depsFor(env: EnvironmentVariables, clock: Clock): ProviderDeps {
  return { send: createOutbound({ env, timeoutMs: 300, connectTimeoutMs: 300 }), nowMs: () => clock.now, env };
}

describe.each(Object.keys(SCENARIOS))('%s: minting through the cache against its fake', (provider) => {
  it('mints once, serves from memory within half the lifetime, mints again after it, and fails clearly past expiry', async () => {
    const clock = { now: Date.now() };
    const scenario = await SCENARIOS[provider]!(clock);
    const deps = depsFor(scenario.env, clock);
    const cache = createMintCache({ mint: (integration) => mintCredential(integration, deps), nowMs: () => clock.now });

    const first = await cache.get(scenario.integration);
    clock.now += scenario.lifetimeMs / 2 - 5_000;
    const second = await cache.get(scenario.integration);
    const callsWithinHalfLife = scenario.calls();
    clock.now += 10_000;
    const third = await cache.get(scenario.integration);
    const callsAfterHalfLife = scenario.calls();
    scenario.fail(scenario.routes.at(-1)!, 'server_error');
    clock.now += scenario.lifetimeMs;
    const late = await cache.get(scenario.integration).catch((caught: unknown) => caught);

    expect(second).toEqual(first);
    expect(callsWithinHalfLife).toBe(1);
    expect(third.secret).not.toBe(first.secret);
    expect(callsAfterHalfLife).toBe(2);
    expect(late).toBeInstanceOf(MintError);
    expect(late).toMatchObject({ provider, upstreamStatus: 500 });
  });

  it('keeps every secret out of the error of each failure of each step', async () => {
    const clock = { now: Date.now() };
    const scenario = await SCENARIOS[provider]!(clock);
    const deps = depsFor(scenario.env, clock);
    const failures: FakeFailure[] = ['forbidden', 'server_error', 'slow', 'malformed'];
    const errors: unknown[] = [];

    // A successful mint first, so the minted tokens are among the secrets looked for.
    await mintCredential(scenario.integration, deps);
    for (const route of scenario.routes) {
      for (const failure of failures) {
        scenario.fail(route, failure);
        errors.push(await mintCredential(scenario.integration, deps).catch((caught: unknown) => caught));
        scenario.fail(route, undefined);
      }
    }

    expect(errors).toHaveLength(scenario.routes.length * failures.length);
    const secrets = scenario.secrets();
    expect(secrets.length).toBeGreaterThan(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(MintError);
      const text = [String(error), (error as Error).stack, JSON.stringify(error)].join('\n');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});

describe('mintCredential', () => {
  it('keeps wrong-identity errors free of the identity too', async () => {
    const clock = { now: Date.now() };
    const aws = await SCENARIOS['aws-ecr']!(clock);
    const azure = await SCENARIOS['azure-acr']!(clock);
    const wrongAws = { ...aws.integration, identity: { provider: 'aws-ecr' as const, aws: { ...AWS_KEY, secretAccessKey: 'wrong/secret/key/value' } } };
    const wrongAzure = { ...azure.integration, identity: { provider: 'azure-acr' as const, azure: { ...AZURE, clientSecret: 'wrong~client~secret' } } };

    const errors = [
      await mintCredential(wrongAws, depsFor(aws.env, clock)).catch((caught: unknown) => caught),
      await mintCredential(wrongAzure, depsFor(azure.env, clock)).catch((caught: unknown) => caught),
      await mintCredential({ ...wrongAzure, identity: { provider: 'google', google: { serviceAccountKey: `{"private_key": "${AZURE.clientSecret}"}` } } }, depsFor({}, clock)).catch(
        (caught: unknown) => caught,
      ),
    ];

    expect(errors.map((error) => (error as MintError).code)).toEqual(['SignatureDoesNotMatch', 'invalid_client', 'invalid_identity']);
    for (const error of errors) {
      const text = `${String(error)}\n${JSON.stringify(error)}`;
      for (const secret of ['wrong/secret/key/value', 'wrong~client~secret', AWS_KEY.accessKeyId, AZURE.clientSecret]) expect(text).not.toContain(secret);
    }
  });
});
