import { HttpClientError, type JsonRequest, type JsonResponse } from '@dcs/shared/http-client';
import { describe, expect, it } from 'vitest';
import type { CredentialBackend } from './credential-backend.js';
import { hostOffset } from '@dcs/shared/failover';
import { createDaemonBackend } from './daemon-backend.js';
import { CredentialsNotFoundError, DaemonError, ReadOnlyTokenError } from './errors.js';

const URL = 'unix:/run/credd.sock';

/** A backend whose requests are answered by `answer`; every request is recorded. */
function backendAnswering(answer: (request: JsonRequest) => JsonResponse | Error): { backend: CredentialBackend; sent: JsonRequest[] } {
  const sent: JsonRequest[] = [];
  const backend = createDaemonBackend({
    daemonUrl: URL,
    token: 'tok_runner',
    timeoutMs: 1500,
    request: async (request) => {
      sent.push(request);
      const result = answer(request);
      if (result instanceof Error) throw result;
      return result;
    },
  });
  return { backend, sent };
}

const apiError = (status: number, code: string, message: string): JsonResponse => ({
  status,
  body: { error: { code, message, requestId: 'req_9' } },
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const verbs: { verb: string; call: (backend: CredentialBackend) => Promise<unknown> }[] = [
  { verb: 'get', call: (backend) => backend.get('ghcr.io') },
  { verb: 'list', call: (backend) => backend.list() },
  { verb: 'store', call: (backend) => backend.store({ serverUrl: 'ghcr.io', username: 'u', secret: 's' }) },
  { verb: 'erase', call: (backend) => backend.erase('ghcr.io') },
];

describe('createDaemonBackend requests', () => {
  it('posts the lookup with the token, the deadline and the input as serverURL', async () => {
    const { backend, sent } = backendAnswering(() => ({ status: 200, body: { ServerURL: 'x', Username: '<token>', Secret: 'tkn' } }));

    const credential = await backend.get('https://GHCR.io');

    expect(credential).toEqual({ username: '<token>', secret: 'tkn' });
    expect(sent).toEqual([
      { url: URL, method: 'POST', path: '/v1/credentials/get', token: 'tok_runner', timeoutMs: 1500, body: { serverURL: 'https://GHCR.io' } },
    ]);
  });

  it('lists with GET /v1/credentials', async () => {
    const { backend, sent } = backendAnswering(() => ({ status: 200, body: { 'ghcr.io': 'bob', 'https://index.docker.io/v1/': 'hub' } }));

    expect(await backend.list()).toEqual({ 'ghcr.io': 'bob', 'https://index.docker.io/v1/': 'hub' });
    expect(sent[0]).toMatchObject({ method: 'GET', path: '/v1/credentials' });
  });

  it('stores with the protocol field names', async () => {
    const { backend, sent } = backendAnswering(() => ({ status: 204, body: undefined }));

    await backend.store({ serverUrl: 'ghcr.io', username: '<token>', secret: 'pw' });

    expect(sent[0]).toMatchObject({ method: 'POST', path: '/v1/credentials/store', body: { ServerURL: 'ghcr.io', Username: '<token>', Secret: 'pw' } });
  });

  it('erases with serverURL', async () => {
    const { backend, sent } = backendAnswering(() => ({ status: 204, body: undefined }));

    await backend.erase('http://ghcr.io');

    expect(sent[0]).toMatchObject({ method: 'POST', path: '/v1/credentials/erase', body: { serverURL: 'http://ghcr.io' } });
  });
});

describe('createDaemonBackend answers', () => {
  it('turns 404 not_found on get into CredentialsNotFoundError', async () => {
    const { backend } = backendAnswering(() => apiError(404, 'not_found', 'credentials not found'));

    expect(await rejection(backend.get('ghcr.io'))).toBeInstanceOf(CredentialsNotFoundError);
  });

  it('treats a 404 without the not_found code (no such route, another server) as an error', async () => {
    const { backend } = backendAnswering(() => ({ status: 404, body: undefined }));

    expect(await rejection(backend.get('ghcr.io'))).toMatchObject({ name: 'DaemonError', kind: 'rejected', status: 404 });
  });

  it('reports 404 route_not_found (a wrong base path) on get and erase as an error naming SCALR_CREDD_URL', async () => {
    const { backend } = backendAnswering(() => apiError(404, 'route_not_found', 'no such route'));

    const onGet = await rejection(backend.get('ghcr.io'));
    const onErase = await rejection(backend.erase('ghcr.io'));

    for (const error of [onGet, onErase]) {
      expect(error).toMatchObject({ name: 'DaemonError', kind: 'rejected', status: 404, code: 'route_not_found' });
      expect((error as Error).message).toMatch(/SCALR_CREDD_URL/);
    }
  });

  it('treats erase of an absent entry as success', async () => {
    const { backend } = backendAnswering(() => apiError(404, 'not_found', 'nothing stored'));

    await expect(backend.erase('ghcr.io')).resolves.toBeUndefined();
  });

  it.each(['store', 'erase'])('turns a runner 403 on %s into ReadOnlyTokenError naming the role', async (verb) => {
    const { backend } = backendAnswering(() => apiError(403, 'forbidden', `a runner token may not credential ${verb}`));

    const error = await rejection(verbs.find((v) => v.verb === verb)!.call(backend));

    expect(error).toBeInstanceOf(ReadOnlyTokenError);
    expect(error).toMatchObject({ role: 'runner' });
  });

  it('turns a 403 without a role into ReadOnlyTokenError without a role', async () => {
    const { backend } = backendAnswering(() => ({ status: 403, body: undefined }));

    expect(await rejection(backend.store({ serverUrl: 'ghcr.io', username: 'u', secret: 's' }))).toMatchObject({
      name: 'ReadOnlyTokenError',
      role: undefined,
    });
  });

  it('reports a host-limited manager refused a write as a rejection, not as a read-only token', async () => {
    const { backend } = backendAnswering(() => apiError(403, 'forbidden', 'a manager token may not credential store on ghcr.io'));

    const error = await rejection(backend.store({ serverUrl: 'ghcr.io', username: 'u', secret: 's' }));

    expect(error).toMatchObject({ name: 'DaemonError', kind: 'rejected', status: 403, code: 'forbidden' });
  });

  it('passes the daemon\'s expiry message through when the stored credential has expired', async () => {
    const message = 'the credential for ghcr.io expired at 2026-01-01T00:00:00.000Z; a scalr-credd admin must update it';
    const { backend } = backendAnswering(() => apiError(410, 'credential_expired', message));

    const error = await rejection(backend.get('ghcr.io'));

    expect(error).toMatchObject({ name: 'DaemonError', kind: 'rejected', code: 'credential_expired' });
    expect((error as Error).message).toBe(message);
  });

  it('passes a 400 validation message through', async () => {
    const { backend } = backendAnswering(() => apiError(400, 'validation_failed', '"ftp" is not a registry scheme'));

    const error = await rejection(backend.store({ serverUrl: 'ftp://x', username: 'u', secret: 's' }));

    expect(error).toMatchObject({ name: 'DaemonError', kind: 'rejected', code: 'validation_failed' });
    expect((error as Error).message).toContain('"ftp" is not a registry scheme');
  });

  it.each(verbs)('turns 401 on $verb into an unauthenticated error that names the token variables', async ({ call }) => {
    const { backend } = backendAnswering(() => apiError(401, 'unauthenticated', 'token revoked'));

    const error = await rejection(call(backend));

    expect(error).toMatchObject({ name: 'DaemonError', kind: 'unauthenticated', status: 401 });
    expect((error as Error).message).toMatch(/SCALR_CREDD_TOKEN or SCALR_CREDD_TOKEN_FILE/);
  });

  it.each(verbs)('turns 500 and 503 on $verb into server errors', async ({ call }) => {
    for (const response of [apiError(500, 'internal', 'internal error'), apiError(503, 'unavailable', 'sealed'), { status: 502, body: undefined }]) {
      const { backend } = backendAnswering(() => response);

      expect(await rejection(call(backend))).toMatchObject({ name: 'DaemonError', kind: 'server', status: response.status });
    }
  });

  it.each([
    { kind: 'unreachable', cause: new HttpClientError('unreachable', 'x', { target: URL, detail: 'connection refused' }) },
    { kind: 'timeout', cause: new HttpClientError('timeout', 'x', { target: URL, detail: 'no answer' }) },
    { kind: 'protocol', cause: new HttpClientError('protocol', 'x', { target: URL, detail: 'not JSON', status: 200 }) },
    { kind: 'protocol', cause: new Error('unexpected') },
  ])('turns a client $kind failure into a DaemonError of that kind on every verb', async ({ kind, cause }) => {
    for (const { call } of verbs) {
      const { backend } = backendAnswering(() => cause);

      const error = await rejection(call(backend));

      expect(error).toBeInstanceOf(DaemonError);
      expect(error).toMatchObject({ kind });
    }
  });

  it('says what to check when the daemon is unreachable', async () => {
    const { backend } = backendAnswering(() => new HttpClientError('unreachable', 'x', { target: URL, detail: 'connection refused' }));

    expect(((await rejection(backend.get('ghcr.io'))) as Error).message).toBe(
      'cannot reach scalr-credd at unix:/run/credd.sock (connection refused); is the daemon running? check SCALR_CREDD_URL',
    );
  });

  it.each([
    { name: 'no body', body: undefined },
    { name: 'an array', body: [] },
    { name: 'no Secret', body: { Username: 'u' } },
    { name: 'a numeric Username', body: { Username: 1, Secret: 's' } },
  ])('refuses a lookup answer with $name', async ({ body }) => {
    const { backend } = backendAnswering(() => ({ status: 200, body }));

    expect(await rejection(backend.get('ghcr.io'))).toMatchObject({ name: 'DaemonError', kind: 'protocol' });
  });

  it.each([
    { name: 'an array', body: ['ghcr.io'] },
    { name: 'a non-string username', body: { 'ghcr.io': { Secret: 'leak' } } },
    { name: 'no body', body: undefined },
  ])('refuses a list answer with $name', async ({ body }) => {
    const { backend } = backendAnswering(() => ({ status: 200, body }));

    expect(await rejection(backend.list())).toMatchObject({ name: 'DaemonError', kind: 'protocol' });
  });
});

describe('createDaemonBackend with several daemons', () => {
  const A = 'http://credd-a:8420';
  const B = 'unix:/run/credd-b.sock';
  /** A backend over A then B (the host name puts A first); `answers` says what each daemon does. */
  function failoverBackend(answers: Record<string, JsonResponse | Error>): { backend: CredentialBackend; asked: string[] } {
    const asked: string[] = [];
    const hostName = () => {
      for (let n = 0; ; n += 1) if (hostOffset(`runner-${n}`, 2) === 0) return `runner-${n}`;
    };
    const backend = createDaemonBackend({
      daemonUrl: `${A}, ${B}`,
      token: 'tok_runner',
      timeoutMs: 1500,
      hostName,
      request: async (request) => {
        asked.push(request.url);
        const result = answers[request.url]!;
        if (result instanceof Error) throw result;
        return result;
      },
    });
    return { backend, asked };
  }
  const refused = (url: string) => new HttpClientError('unreachable', `cannot reach ${url} (connection refused)`, { target: url, detail: 'connection refused' });

  it('answers a get from the second daemon when the first refuses the connection', async () => {
    const { backend, asked } = failoverBackend({ [A]: refused(A), [B]: { status: 200, body: { Username: 'u', Secret: 's' } } });

    expect(await backend.get('ghcr.io')).toEqual({ username: 'u', secret: 's' });
    expect(asked).toEqual([A, B]);
  });

  it('says not found only when a daemon answered not found', async () => {
    const { backend } = failoverBackend({ [A]: apiError(503, 'unavailable', 'not ready'), [B]: apiError(404, 'not_found', 'no credential') });

    expect(await rejection(backend.get('ghcr.io'))).toBeInstanceOf(CredentialsNotFoundError);
  });

  it('names every daemon with its reason on one line when none answers', async () => {
    const { backend } = failoverBackend({ [A]: refused(A), [B]: apiError(503, 'unavailable', 'not ready') });

    const error = await rejection(backend.get('ghcr.io'));

    expect(error).toMatchObject({ name: 'DaemonError', kind: 'unreachable' });
    expect((error as DaemonError).message).toBe(
      `no scalr-credd answered: ${A} (connection refused), ${B} (status 503 unavailable); is the daemon running? check SCALR_CREDD_URL`,
    );
  });

  it('names the daemon that gave a final failure', async () => {
    const { backend } = failoverBackend({ [A]: refused(A), [B]: apiError(401, 'unauthenticated', 'bad token') });

    expect((await rejection(backend.get('ghcr.io')) as DaemonError).message).toMatch(new RegExp(`^scalr-credd at ${B} rejected the token \\(401`));
  });
});
