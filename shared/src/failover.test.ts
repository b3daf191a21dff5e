import { describe, expect, it } from 'vitest';
import {
  CONNECT_TIMEOUT_MS,
  DaemonsUnavailableError,
  attemptDeadlines,
  hostOffset,
  orderForHost,
  requestWithFailover,
  splitDaemonUrls,
  worthAnotherDaemon,
  type AttemptOutcome,
} from './failover.js';
import { HttpClientError, createRequestJson, type JsonRequest, type JsonResponse, type StreamEvents } from './http-client.js';

const clientError = (kind: HttpClientError['kind'], detail: string, target = 'http://a:1') => new HttpClientError(kind, `${target}: ${detail}`, { target, detail });
const answer = (status: number, body: unknown = undefined): JsonResponse => ({ status, body });

describe('splitDaemonUrls', () => {
  it.each([
    ['unix:/run/credd.sock', ['unix:/run/credd.sock']],
    ['https://a:8443, https://b:8443 ,https://c:8443', ['https://a:8443', 'https://b:8443', 'https://c:8443']],
    ['http://a:1,,http://b:2,', ['http://a:1', 'http://b:2']],
    [' , ', []],
  ])('splits %j', (text, urls) => {
    expect(splitDaemonUrls(text)).toEqual(urls);
  });
});

describe('the order of the daemons', () => {
  it('is FNV-1a of the host name modulo the count, the same on every run and runtime', () => {
    // FNV-1a 32: "" = 0x811c9dc5, "a" = 0xe40c292c, "runner-17" computed once and pinned.
    expect(hostOffset('', 1000)).toBe(0x811c9dc5 % 1000);
    expect(hostOffset('a', 7)).toBe(0xe40c292c % 7);
    expect(hostOffset('runner-17', 3)).toBe(hostOffset('runner-17', 3));
  });

  it('spreads a fleet of runners over the daemons', () => {
    const counts = [0, 0, 0];
    for (let n = 0; n < 900; n += 1) counts[hostOffset(`ci-runner-${n}.example.internal`, 3)]! += 1;

    for (const count of counts) expect(count).toBeGreaterThan(230);
  });

  it('rotates the list to the host offset and keeps every URL once', () => {
    const urls = ['u0', 'u1', 'u2', 'u3'];
    const host = 'build-host-42';
    const start = hostOffset(host, 4);

    const ordered = orderForHost(urls, host);

    expect(ordered[0]).toBe(urls[start]);
    expect([...ordered].sort()).toEqual(urls);
    expect(ordered).toEqual([...urls.slice(start), ...urls.slice(0, start)]);
  });
});

describe('worthAnotherDaemon', () => {
  it.each<[string, AttemptOutcome, boolean]>([
    ['a refused connection', { error: clientError('unreachable', 'connection refused') }, true],
    ['a TLS failure', { error: clientError('unreachable', 'TLS: certificate has expired') }, true],
    ['no answer in time', { error: clientError('timeout', 'no answer within 1000 ms') }, true],
    ['no connection in time', { error: clientError('timeout', 'no connection within 300 ms') }, true],
    ['a connection lost before the answer', { error: clientError('closed', 'the connection closed before an answer arrived') }, true],
    ['503', { response: answer(503, { error: { code: 'unavailable' } }) }, true],
    ["a gateway's 502", { response: answer(502) }, true],
    ["a gateway's 504", { response: answer(504) }, true],
    ['200', { response: answer(200, { Username: 'u', Secret: 's' }) }, false],
    ['404 not_found (the store says so, on every daemon)', { response: answer(404, { error: { code: 'not_found' } }) }, false],
    ['401', { response: answer(401) }, false],
    ['500', { response: answer(500) }, false],
    ['an answer that is not JSON', { error: clientError('protocol', 'the answer (status 200) is not valid JSON') }, false],
    ['a bug', { error: new TypeError('x') }, false],
  ])('%s: %s', (_name, outcome, worth) => {
    expect(worthAnotherDaemon(outcome)).toBe(worth);
  });
});

describe('attemptDeadlines', () => {
  it('gives the last daemon all the time left, without a connect deadline', () => {
    expect(attemptDeadlines(2000, 1)).toEqual({ timeoutMs: 2000 });
  });

  it('shares the time left equally among the daemons not yet asked, and caps the connect', () => {
    expect(attemptDeadlines(2000, 2)).toEqual({ timeoutMs: 1000, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    expect(attemptDeadlines(2000, 3)).toEqual({ timeoutMs: 667, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    expect(attemptDeadlines(200, 2)).toEqual({ timeoutMs: 100, connectTimeoutMs: 100 });
  });
});

/** A RequestJson whose outcome per URL is scripted; each call may move the fake clock forward. */
function scripted(script: Record<string, { outcome: AttemptOutcome; takesMs?: number }>) {
  let clock = 0;
  const calls: JsonRequest[] = [];
  const send = async (request: JsonRequest): Promise<JsonResponse> => {
    calls.push(request);
    const step = script[request.url];
    if (step === undefined) throw new Error(`unexpected URL ${request.url}`);
    // Not capped at request.timeoutMs: on a busy machine a timer fires late.
    clock += step.takesMs ?? 1;
    if ('error' in step.outcome) throw step.outcome.error;
    return step.outcome.response;
  };
  return { send, calls, now: () => clock };
}

const REQUEST = { method: 'POST', path: '/v1/credentials/get', token: 't', timeoutMs: 2000, body: { serverURL: 'ghcr.io' } } as const;
const OK = { response: answer(200, { Username: 'u', Secret: 's' }) };
const REFUSED = (url: string) => ({ outcome: { error: clientError('unreachable', 'connection refused', url) } });
/** A host name whose offset in a list of two is 0, so the first URL is asked first. */
const hostFirst = (count: number) => {
  for (let n = 0; ; n += 1) if (hostOffset(`h${n}`, count) === 0) return `h${n}`;
};

describe('requestWithFailover', () => {
  it('with one URL, makes exactly one request with the whole deadline and passes its failure through unchanged', async () => {
    const refused = clientError('unreachable', 'connection refused', 'unix:/x.sock');
    const { send, calls, now } = scripted({ 'unix:/x.sock': { outcome: { error: refused } } });
    const hostName = () => {
      throw new Error('the host name is not needed for one URL');
    };

    await expect(requestWithFailover(send, REQUEST, { urls: ['unix:/x.sock'], hostName, now })).rejects.toBe(refused);
    expect(calls).toEqual([{ ...REQUEST, url: 'unix:/x.sock' }]);
  });

  it('asks the next daemon after a refused connection, with the rest of the deadline', async () => {
    const { send, calls, now } = scripted({ 'http://a:1': REFUSED('http://a:1'), 'http://b:2': { outcome: OK, takesMs: 5 } });

    const result = await requestWithFailover(send, REQUEST, { urls: ['http://a:1', 'http://b:2'], hostName: () => hostFirst(2), now });

    expect(result).toEqual({ url: 'http://b:2', ...OK });
    expect(calls.map(({ url, timeoutMs, connectTimeoutMs }) => ({ url, timeoutMs, connectTimeoutMs }))).toEqual([
      { url: 'http://a:1', timeoutMs: 1000, connectTimeoutMs: CONNECT_TIMEOUT_MS },
      { url: 'http://b:2', timeoutMs: 1999, connectTimeoutMs: undefined },
    ]);
  });

  it('starts at the host offset', async () => {
    const urls = ['http://a:1', 'http://b:2', 'http://c:3'];
    const host = 'runner-with-offset';
    const { send, calls, now } = scripted(Object.fromEntries(urls.map((url) => [url, { outcome: OK }])));

    const result = await requestWithFailover(send, REQUEST, { urls, hostName: () => host, now });

    expect(result.url).toBe(urls[hostOffset(host, 3)]);
    expect(calls).toHaveLength(1);
  });

  it('asks the next daemon after a frozen one used up its share, and the slow answer counts against the whole deadline', async () => {
    const { send, calls, now } = scripted({
      'http://a:1': { outcome: { error: clientError('timeout', 'no answer within 1000 ms', 'http://a:1') }, takesMs: 1000 },
      'http://b:2': { outcome: { response: answer(503, { error: { code: 'unavailable' } }) }, takesMs: 10 },
      'http://c:3': { outcome: OK },
    });

    const result = await requestWithFailover(send, { ...REQUEST, timeoutMs: 3000 }, { urls: ['http://a:1', 'http://b:2', 'http://c:3'], hostName: () => hostFirst(3), now });

    expect(result.url).toBe('http://c:3');
    expect(calls.map((call) => call.timeoutMs)).toEqual([1000, 1000, 1990]);
  });

  it('returns a final answer at once: not found from one daemon is not asked again elsewhere', async () => {
    const notFound = { response: answer(404, { error: { code: 'not_found' } }) };
    const { send, calls, now } = scripted({ 'http://a:1': { outcome: notFound }, 'http://b:2': { outcome: OK } });

    const result = await requestWithFailover(send, REQUEST, { urls: ['http://a:1', 'http://b:2'], hostName: () => hostFirst(2), now });

    expect(result).toEqual({ url: 'http://a:1', ...notFound });
    expect(calls).toHaveLength(1);
  });

  it('passes a final failure through unchanged', async () => {
    const garbage = clientError('protocol', 'the answer is not HTTP/1.x', 'http://b:2');
    const { send, now } = scripted({ 'http://a:1': REFUSED('http://a:1'), 'http://b:2': { outcome: { error: garbage } } });

    await expect(requestWithFailover(send, REQUEST, { urls: ['http://a:1', 'http://b:2'], hostName: () => hostFirst(2), now })).rejects.toBe(garbage);
  });

  it('names every URL with its reason when none answers', async () => {
    const { send, now } = scripted({
      'http://a:1': REFUSED('http://a:1'),
      'unix:/b.sock': { outcome: { response: answer(503, { error: { code: 'unavailable' } }) } },
      'https://c:3': { outcome: { error: clientError('timeout', 'no answer within 1998 ms', 'https://c:3') }, takesMs: 2000 },
    });

    const failure = await requestWithFailover(send, REQUEST, { urls: ['http://a:1', 'unix:/b.sock', 'https://c:3'], hostName: () => hostFirst(3), now }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(DaemonsUnavailableError);
    expect((failure as DaemonsUnavailableError).summary).toBe(
      'http://a:1 (connection refused), unix:/b.sock (status 503 unavailable), https://c:3 (no answer within 1998 ms)',
    );
  });

  it('stops when the deadline has run out and names the daemons it had no time for', async () => {
    const { send, now } = scripted({
      'http://a:1': { outcome: { error: clientError('timeout', 'no answer within 100 ms', 'http://a:1') }, takesMs: 100 },
      'http://b:2': { outcome: { error: clientError('closed', 'the connection closed before an answer arrived', 'http://b:2') }, takesMs: 150 },
      'http://c:3': { outcome: OK },
    });

    const failure = (await requestWithFailover(send, { ...REQUEST, timeoutMs: 200 }, { urls: ['http://a:1', 'http://b:2', 'http://c:3'], hostName: () => hostFirst(3), now }).catch(
      (error: unknown) => error,
    )) as DaemonsUnavailableError;

    expect(failure.untried).toEqual(['http://c:3']);
    expect(failure.message).toMatch(/http:\/\/c:3 \(not tried: no time left\)$/);
  });
});

describe('the connect deadline of createRequestJson', () => {
  /** A stream that reports `connect` only if told to, and never answers. */
  const silentStream = (connects: boolean) =>
    createRequestJson((_target, events: StreamEvents) => {
      if (connects) setTimeout(() => events.connect(), 1);
      return { write: () => undefined, destroy: () => undefined };
    });

  it('fails a connection that does not open in time as a timeout', async () => {
    const request = { url: 'http://a:1', method: 'GET', path: '/', timeoutMs: 2000, connectTimeoutMs: 20 } as const;

    await expect(silentStream(false)(request)).rejects.toMatchObject({ kind: 'timeout', detail: 'no connection within 20 ms' });
  });

  it('after the connection opened, waits for the whole deadline', async () => {
    const request = { url: 'http://a:1', method: 'GET', path: '/', timeoutMs: 80, connectTimeoutMs: 20 } as const;

    await expect(silentStream(true)(request)).rejects.toMatchObject({ kind: 'timeout', detail: 'no answer within 80 ms' });
  });
});
