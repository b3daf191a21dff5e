// A lock on the database held by another process (a long offline command, a backup tool, a stray
// sqlite3 shell) must not stall the daemon: requests that need the lock are answered 503
// `unavailable` after a short wait, and everything that does not need it keeps answering.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupProcesses, startDaemon, type RunningDaemon } from '../support/processes.js';

let daemon: RunningDaemon;
let adminToken: string;

beforeAll(async () => {
  daemon = await startDaemon({ listen: ['127.0.0.1:0'] });
  adminToken = daemon.adminToken!;
});

afterAll(async () => {
  await daemon?.stop();
  cleanupProcesses();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

function api(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<Answer> {
  const { port } = new URL(daemon.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends `request` and resolves with its answer and when it arrived. */
async function timed(request: Promise<Answer>): Promise<{ response: Answer; at: number }> {
  const response = await request;
  return { response, at: performance.now() };
}

describe('a database lock held by another process', () => {
  it('answers lookups and writes 503 unavailable at once and /healthz 200 while the lock is held', async () => {
    const db = new Database(join(daemon.dataDir, 'credd.sqlite'));
    db.exec('BEGIN IMMEDIATE');
    let releasedAt = Infinity;
    const release = new Promise<void>((resolve) =>
      setTimeout(() => {
        db.exec('ROLLBACK');
        db.close();
        releasedAt = performance.now();
        resolve();
      }, 3_000),
    );

    const [lookup, write, health] = await Promise.all([
      timed(api('POST', '/v1/credentials/get', { serverURL: 'nowhere.example' }, adminToken)),
      timed(api('POST', '/v1/tokens', { name: 'during the lock', role: 'runner' }, adminToken)),
      timed(api('GET', '/healthz')),
    ]);
    await release;
    const after = await api('POST', '/v1/credentials/get', { serverURL: 'nowhere.example' }, adminToken);

    expect(lookup.response).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(lookup.response.headers['retry-after']).toBe('1');
    expect(write.response).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(health.response.status).toBe(200);
    // All three were answered while the lock was still held, not after it was released.
    for (const answer of [lookup, write, health]) expect(answer.at).toBeLessThan(releasedAt);
    expect(after).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
