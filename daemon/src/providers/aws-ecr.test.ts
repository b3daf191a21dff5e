import { describe, expect, it } from 'vitest';
import { startFakeAws } from '../../../test/support/cloud-fakes/aws-fake.js';
import { awsJsonErrorType, mintEcrCredential, parseEcrHost, resolveEcrTarget, type AwsIdentity } from './aws-ecr.js';
import { MintError } from './mint-error.js';
import { createOutbound } from './outbound.js';
import type { ProviderDeps } from './provider-common.js';
import { signSigV4 } from './sigv4.js';

const KEY = { accessKeyId: 'AKIAFAKEACCESSKEY01', secretAccessKey: 'fake/secret+access+key/0123456789abcdef' };
const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

describe('parseEcrHost', () => {
  it.each([
    [HOST, { kind: 'private', registryId: '123456789012', region: 'eu-west-1', fips: false, dnsSuffix: 'amazonaws.com' }],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', { kind: 'private', registryId: '123456789012', region: 'us-east-1', fips: true, dnsSuffix: 'amazonaws.com' }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', { kind: 'private', registryId: '123456789012', region: 'cn-north-1', fips: false, dnsSuffix: 'amazonaws.com.cn' }],
    ['123456789012.dkr-ecr.eu-west-1.on.aws', { kind: 'private', registryId: '123456789012', region: 'eu-west-1', fips: false, dnsSuffix: 'amazonaws.com' }],
    ['123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn', { kind: 'private', registryId: '123456789012', region: 'cn-northwest-1', fips: false, dnsSuffix: 'amazonaws.com.cn' }],
    ['123456789012.dkr.ecr.us-gov-west-1.amazonaws.com', { kind: 'private', registryId: '123456789012', region: 'us-gov-west-1', fips: false, dnsSuffix: 'amazonaws.com' }],
    ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', { kind: 'private', registryId: '123456789012', region: 'us-iso-east-1', fips: false, dnsSuffix: 'c2s.ic.gov' }],
    ['123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu', { kind: 'private', registryId: '123456789012', region: 'eusc-de-east-1', fips: false, dnsSuffix: 'amazonaws.eu' }],
    ['123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM', { kind: 'private', registryId: '123456789012', region: 'eu-west-1', fips: false, dnsSuffix: 'amazonaws.com' }],
    ['public.ecr.aws', { kind: 'public' }],
    ['ecr-public.aws.com', { kind: 'public' }],
  ])('parses %s', (host, expected) => {
    expect(parseEcrHost(host)).toEqual(expected);
  });

  it.each([
    '12345678901.dkr.ecr.eu-west-1.amazonaws.com',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com:443',
    'evil.example/123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    'registry.example.com',
    'ghcr.io',
  ])('rejects %s', (host) => {
    expect(parseEcrHost(host)).toBeUndefined();
  });
});

describe('resolveEcrTarget', () => {
  const env = {};

  it.each([
    [HOST, {}, 'https://api.ecr.eu-west-1.amazonaws.com/', 'eu-west-1', 'ecr'],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', {}, 'https://ecr-fips.us-gov-west-1.amazonaws.com/', 'us-gov-west-1', 'ecr'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', {}, 'https://api.ecr.cn-north-1.amazonaws.com.cn/', 'cn-north-1', 'ecr'],
    ['123456789012.dkr-ecr.ap-south-1.on.aws', {}, 'https://api.ecr.ap-south-1.amazonaws.com/', 'ap-south-1', 'ecr'],
    ['public.ecr.aws', {}, 'https://api.ecr-public.us-east-1.amazonaws.com/', 'us-east-1', 'ecr-public'],
    ['images.example.com', { region: 'cn-north-1' }, 'https://api.ecr.cn-north-1.amazonaws.com.cn/', 'cn-north-1', 'ecr'],
    [HOST, { region: 'eu-central-1' }, 'https://api.ecr.eu-central-1.amazonaws.com/', 'eu-central-1', 'ecr'],
  ])('sends %s %o to %s', (host, identity, endpoint, region, service) => {
    const target = resolveEcrTarget(host, identity, { env });

    expect(target.endpoint.href).toBe(endpoint);
    expect(target.region).toBe(region);
    expect(target.signingService).toBe(service);
  });

  it('refuses a custom domain without a region, and a region that is not one', () => {
    expect(() => resolveEcrTarget('images.example.com', {}, { env })).toThrow(expect.objectContaining({ code: 'unsupported_host' }));
    expect(() => resolveEcrTarget(HOST, { region: 'eu west 1' }, { env })).toThrow(expect.objectContaining({ code: 'invalid_identity' }));
  });

  it('follows AWS_ENDPOINT_URL_ECR over AWS_ENDPOINT_URL, ECR_PUBLIC for ECR Public, and ignores both when told to', () => {
    const overrides = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1/', AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:2/', AWS_ENDPOINT_URL_ECR_PUBLIC: 'http://127.0.0.1:3/' };

    expect(resolveEcrTarget(HOST, {}, { env: overrides }).endpoint.href).toBe('http://127.0.0.1:2/');
    expect(resolveEcrTarget('public.ecr.aws', {}, { env: overrides }).endpoint.href).toBe('http://127.0.0.1:3/');
    expect(resolveEcrTarget(HOST, {}, { env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1/' } }).endpoint.href).toBe('http://127.0.0.1:1/');
    expect(resolveEcrTarget(HOST, {}, { env: { ...overrides, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' } }).endpoint.href).toBe('https://api.ecr.eu-west-1.amazonaws.com/');
    expect(() => resolveEcrTarget(HOST, {}, { env: { AWS_ENDPOINT_URL_ECR: 'not a url' } })).toThrow(expect.objectContaining({ code: 'invalid_endpoint' }));
  });
});

describe('awsJsonErrorType', () => {
  it('takes the header type without its URL, else __type without its namespace', () => {
    expect(awsJsonErrorType('AccessDeniedException:http://internal.amazon.com/coral/', Buffer.from(''))).toBe('AccessDeniedException');
    expect(awsJsonErrorType(undefined, Buffer.from('{"__type":"com.amazonaws.ecr#RepositoryNotFoundException"}'))).toBe('RepositoryNotFoundException');
    expect(awsJsonErrorType(undefined, Buffer.from('<html>'))).toBeUndefined();
  });
});

describe('mintEcrCredential against the fake STS/ECR', () => {
  const depsFor = (url: URL, timeoutMs = 2_000): ProviderDeps => {
    const env = { AWS_ENDPOINT_URL: url.href };
    return { send: createOutbound({ env, timeoutMs }), nowMs: Date.now, env };
  };

  it('mints AWS:<password> with the access key, expiring with the token', async () => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });
    const before = Date.now();

    const credential = await mintEcrCredential(HOST, KEY, depsFor(fake.url));

    expect(credential.username).toBe('AWS');
    expect(fake.issuedSecrets).toContain(credential.secret);
    expect(credential.expiresAt).toBeGreaterThanOrEqual(before + 12 * 3600 * 1000 - 1000);
    expect(fake.calls).toEqual({ sts: 0, ecr: 1, ecrPublic: 0 });
    expect(fake.rejections).toEqual([]);
  });

  it('assumes the role with its external id first, and the role session caps the expiry', async () => {
    const role = { arn: 'arn:aws:iam::123456789012:role/puller', externalId: 'ext-1' };
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1', role, maxSessionSeconds: 900 });
    const identity: AwsIdentity = { ...KEY, roleArn: role.arn, externalId: role.externalId };
    const before = Date.now();

    const credential = await mintEcrCredential(HOST, identity, depsFor(fake.url));

    expect(fake.calls).toEqual({ sts: 1, ecr: 1, ecrPublic: 0 });
    expect(fake.assumeRoleForms[0]).toMatchObject({ RoleArn: role.arn, ExternalId: 'ext-1', DurationSeconds: '3600' });
    expect(credential.expiresAt).toBeLessThanOrEqual(Date.now() + 900 * 1000);
    expect(credential.expiresAt).toBeGreaterThanOrEqual(before + 899 * 1000);
  });

  it('mints for ECR Public with its own target and signing scope', async () => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });

    const credential = await mintEcrCredential('public.ecr.aws', KEY, depsFor(fake.url));

    expect(credential.username).toBe('AWS');
    expect(fake.calls.ecrPublic).toBe(1);
  });

  it('is refused with the signature error when the secret key is wrong', async () => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });

    const error = await mintEcrCredential(HOST, { ...KEY, secretAccessKey: 'wrong' }, depsFor(fake.url)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MintError);
    expect(error).toMatchObject({ provider: 'aws-ecr', code: 'SignatureDoesNotMatch', upstreamStatus: 403 });
    expect(fake.rejections).toEqual(['signature does not match']);
  });

  it('reports STS AccessDenied when the external id is wrong, without calling ECR', async () => {
    const role = { arn: 'arn:aws:iam::123456789012:role/puller', externalId: 'ext-1' };
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1', role });

    const result = mintEcrCredential(HOST, { ...KEY, roleArn: role.arn, externalId: 'other' }, depsFor(fake.url));

    await expect(result).rejects.toMatchObject({ code: 'AccessDenied', upstreamStatus: 403 });
    expect(fake.calls.ecr).toBe(0);
  });

  it.each([
    ['forbidden', 'AccessDeniedException'],
    ['server_error', 'ServerException'],
    ['malformed', 'malformed_response'],
    ['slow', 'timeout'],
  ] as const)('turns an ECR that is %s into a MintError %s', async (failure, code) => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });
    fake.failures.ecr = failure;

    await expect(mintEcrCredential(HOST, KEY, depsFor(fake.url, 300))).rejects.toMatchObject({ provider: 'aws-ecr', code });
  });

  it('refuses an out-of-range role session duration before any call', async () => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });

    const result = mintEcrCredential(HOST, { ...KEY, roleArn: 'arn:aws:iam::1:role/x', sessionDurationSeconds: 60 }, depsFor(fake.url));

    await expect(result).rejects.toMatchObject({ code: 'invalid_identity' });
    expect(fake.calls.sts).toBe(0);
  });
});

describe('the fake STS/ECR endpoint', () => {
  const send = createOutbound({ env: {} });
  const request = (url: URL, headers: Record<string, string>) => ({
    method: 'POST' as const,
    url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', ...headers },
    body: '{}',
  });

  it('accepts whatever header set the signature lists, and refuses a signed header changed afterwards', async () => {
    const fake = await startFakeAws({ ...KEY, region: 'eu-west-1' });
    const unsigned = request(fake.url, { 'x-extra': 'one' });
    const headers = signSigV4(unsigned, KEY, { region: 'eu-west-1', service: 'ecr' }, new Date());

    const accepted = await send({ ...unsigned, headers });
    const tampered = await send({ ...unsigned, headers: { ...headers, 'x-extra': 'two' } });

    expect(headers['authorization']).toContain('SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-extra');
    expect(accepted.status).toBe(200);
    expect(tampered.status).toBe(403);
    expect(JSON.parse(tampered.body.toString())).toMatchObject({ __type: 'com.amazonaws.ecr#SignatureDoesNotMatch' });
  });
});
