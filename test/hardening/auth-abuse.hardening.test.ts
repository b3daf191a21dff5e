/**
 * Auth abuse against a real daemon: expired, revoked, malformed and unknown tokens on every route
 * (401, nothing changes); every role on every route (403 where the role may not act, nothing
 * changes); repeated failures rate-limited per source (30 in 60 s, then 429 with Retry-After);
 * file permissions checked at start (socket 0600, data dir 0700, key 0600; a 0755 data dir or a
 * 0644 key is refused).
 */
import { createHash } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { expireToken } from '../support/tamper.js';
import { initStore, startDaemon, startDaemonExpectingRefusal, type DaemonProcess } from '../support/hardening/daemon-process.js';
import { makeTempDir, removeTempDir } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { call, type CallOptions, type Reply, type Target } from '../support/hardening/http.js';

let dir: string | undefined;
const daemons: DaemonProcess[] = [];
const figures = { badTokenRequests: 0, roleChecks: 0, rateLimited: 0, refusedStarts: 0, problems: 0 };

afterAll(async () => {
  for (const daemon of daemons) await daemon.kill();
  removeTempDir(dir);
  recordFigures('auth', {
    'bad-token requests': figures.badTokenRequests,
    'role checks': figures.roleChecks,
    '429 seen': figures.rateLimited,
    'refused starts': figures.refusedStarts,
  });
  printFigures();
});

/** A route, with what it needs to be called: a body and ids of things it may change or delete. */
interface RouteCase {
  name: string;
  /** Builds the request; `fresh` makes a throwaway target for routes that delete. */
  build: (fresh: Fresh) => Promise<CallOptions>;
  /** Roles allowed (besides being authenticated). */
  allowed: ReadonlyArray<'admin' | 'manager' | 'auditor' | 'runner'>;
}
interface Fresh {
  integration(): Promise<string>;
  runnerToken(): Promise<string>;
  adminToken(): Promise<string>;
  fixtureId: string;
}

const ROUTES: RouteCase[] = [
  { name: 'list integrations', build: async () => ({ method: 'GET', path: '/v1/integrations' }), allowed: ['admin', 'manager', 'auditor'] },
  {
    name: 'create integration',
    build: async () => ({ method: 'POST', path: '/v1/integrations', body: { host: `auth-${Math.random().toString(36).slice(2)}.registry.test`, username: 'u', secret: 'auth-abuse-secret' } }),
    allowed: ['admin', 'manager'],
  },
  { name: 'show integration', build: async (f) => ({ method: 'GET', path: `/v1/integrations/${f.fixtureId}` }), allowed: ['admin', 'manager', 'auditor'] },
  { name: 'update integration', build: async (f) => ({ method: 'PATCH', path: `/v1/integrations/${await f.integration()}`, body: { username: 'changed' } }), allowed: ['admin', 'manager'] },
  { name: 'delete integration', build: async (f) => ({ method: 'DELETE', path: `/v1/integrations/${await f.integration()}` }), allowed: ['admin', 'manager'] },
  { name: 'test integration', build: async (f) => ({ method: 'POST', path: `/v1/integrations/${f.fixtureId}/test` }), allowed: ['admin', 'manager'] },
  { name: 'list tokens', build: async () => ({ method: 'GET', path: '/v1/tokens' }), allowed: ['admin', 'manager', 'auditor'] },
  { name: 'mint runner token', build: async () => ({ method: 'POST', path: '/v1/tokens', body: { name: 'minted', role: 'runner', ttlSeconds: 600 } }), allowed: ['admin', 'manager'] },
  { name: 'mint admin token', build: async () => ({ method: 'POST', path: '/v1/tokens', body: { name: 'minted admin', role: 'admin' } }), allowed: ['admin'] },
  { name: 'mint auditor token', build: async () => ({ method: 'POST', path: '/v1/tokens', body: { name: 'minted auditor', role: 'auditor' } }), allowed: ['admin'] },
  { name: 'revoke runner token', build: async (f) => ({ method: 'DELETE', path: `/v1/tokens/${await f.runnerToken()}` }), allowed: ['admin', 'manager'] },
  { name: 'revoke admin token', build: async (f) => ({ method: 'DELETE', path: `/v1/tokens/${await f.adminToken()}` }), allowed: ['admin'] },
  { name: 'list credentials', build: async () => ({ method: 'GET', path: '/v1/credentials' }), allowed: ['admin', 'manager', 'runner'] },
  { name: 'lookup', build: async () => ({ method: 'POST', path: '/v1/credentials/get', body: { serverURL: 'auth-fixture.registry.test' } }), allowed: ['admin', 'manager', 'runner'] },
  {
    name: 'store',
    build: async () => ({ method: 'POST', path: '/v1/credentials/store', body: { ServerURL: 'auth-store.registry.test', Username: 'u', Secret: 'auth-abuse-store' } }),
    allowed: ['admin', 'manager'],
  },
  { name: 'erase', build: async () => ({ method: 'POST', path: '/v1/credentials/erase', body: { serverURL: 'auth-erase.registry.test' } }), allowed: ['admin', 'manager'] },
  { name: 'read audit', build: async () => ({ method: 'GET', path: '/v1/audit?limit=5' }), allowed: ['admin', 'auditor'] },
  { name: 'whoami', build: async () => ({ method: 'GET', path: '/v1/whoami' }), allowed: ['admin', 'manager', 'auditor', 'runner'] },
];

/** SHA-256 of every table but the audit log. */
function digest(db: Database.Database): string {
  const hash = createHash('sha256');
  for (const sql of ['SELECT * FROM integrations ORDER BY id', 'SELECT * FROM tokens ORDER BY id', 'SELECT * FROM keyring ORDER BY term', "SELECT * FROM meta WHERE key <> 'audit_head' ORDER BY key"]) {
    for (const row of db.prepare(sql).raw().all() as unknown[][]) hash.update(JSON.stringify(row.map((c) => (Buffer.isBuffer(c) ? c.toString('hex') : c))));
    hash.update('|');
  }
  return hash.digest('hex');
}

/**
 * A new store in `dir/<name>` and a daemon serving it on TCP as well as its socket (stopped in
 * afterAll); `from(address)` reaches the TCP port from that local address.
 */
async function tcpDaemon(name: string) {
  const dataDir = join(dir!, name);
  const adminToken = initStore(dataDir);
  const daemon = await startDaemon({ dataDir, tcp: true, logLevel: 'warn' });
  daemons.push(daemon);
  const from = (address: string): Target => ({ host: '127.0.0.1', port: daemon.tcp!.port, localAddress: address });
  return { dataDir, adminToken, daemon, from };
}

describe('auth abuse', () => {
  it('answers 401 to every bad token on every route, 403 to every role on every route it may not use, and changes nothing', async () => {
    dir = makeTempDir('auth');
    const { dataDir, adminToken, daemon } = await tcpDaemon('data');
    const admin: Target = { socketPath: daemon.socketPath };
    const db = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const problems: string[] = [];

    const api = async (options: CallOptions, token = adminToken) => call(admin, { ...options, token });
    const mint = async (name: string, body: object) => {
      const reply = await api({ method: 'POST', path: '/v1/tokens', body: { name, ...body } });
      expect(reply.status, reply.text).toBe(201);
      return reply.json<{ id: string; token: string }>();
    };
    const fixture = await api({ method: 'POST', path: '/v1/integrations', body: { host: 'auth-fixture.registry.test', username: 'fixture', secret: 'auth-fixture-secret' } });
    const other = await api({ method: 'POST', path: '/v1/integrations', body: { host: '127.0.0.1:1', username: 'other', secret: 'auth-other-secret' } });
    expect(fixture.status).toBe(201);
    expect(other.status).toBe(201);
    const fixtureId = fixture.json<{ id: string }>().id;
    let counter = 0;
    const fresh: Fresh = {
      fixtureId,
      integration: async () => {
        const reply = await api({ method: 'POST', path: '/v1/integrations', body: { host: `fresh-${++counter}.registry.test`, username: 'u', secret: 'fresh-secret' } });
        return reply.json<{ id: string }>().id;
      },
      runnerToken: async () => (await mint(`fresh runner ${++counter}`, { role: 'runner' })).id,
      adminToken: async () => (await mint(`fresh admin ${++counter}`, { role: 'admin' })).id,
    };

    const tokens = {
      admin: adminToken,
      manager: (await mint('auth manager', { role: 'manager' })).token,
      auditor: (await mint('auth auditor', { role: 'auditor' })).token,
      runner: (await mint('auth runner', { role: 'runner' })).token,
    };
    const scoped = await mint('auth scoped runner', { role: 'runner', hosts: ['127.0.0.1:1'] });
    const revoked = await mint('auth revoked', { role: 'admin' });
    expect((await api({ method: 'DELETE', path: `/v1/tokens/${revoked.id}` })).status).toBe(204);
    const expired = await mint('auth expired', { role: 'admin', ttlSeconds: 3600 });
    // Expiry is checked against the clock on every request: its end moves into the past, with the
    // row signed again (without that it reads as tampered).
    await expireToken(dataDir, expired.id);
    const expiredSecret = expired.token.slice(`scd_${expired.id}_`.length);
    const adminId = /^scd_(tok_[0-9a-f]{16})_/.exec(adminToken)![1]!;

    // ---- bad tokens, every route, from rotating 127.0.N.x sources (the limiter is tested below) ----
    const badTokens: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['bearer only', { authorization: 'Bearer' }],
      ['malformed', { authorization: 'Bearer not-a-token' }],
      ['basic', { authorization: `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}` }],
      ['unknown id', { authorization: `Bearer scd_tok_${'0'.repeat(16)}_${expiredSecret}` }],
      ['wrong secret', { authorization: `Bearer scd_${adminId}_${'B'.repeat(43)}` }],
      ['revoked', { authorization: `Bearer ${revoked.token}` }],
      ['expired', { authorization: `Bearer ${expired.token}` }],
      ['short secret', { authorization: `Bearer ${adminToken.slice(0, -1)}` }],
      ['long secret', { authorization: `Bearer ${adminToken}A` }],
      ['two tokens', { authorization: `Bearer ${adminToken} ${adminToken}` }],
      ['upper-case prefix', { authorization: `Bearer ${adminToken.replace('scd_', 'SCD_')}` }],
      ['token in query only', {}],
    ];
    // A new source for every attempt: a source's first failure in a window gets its own audit row.
    let source = 0;
    const before = digest(db);
    for (const route of ROUTES) {
      for (const [kind, headers] of badTokens) {
        const options = await route.build(fresh);
        const baseline = digest(db);
        const path = kind === 'token in query only' ? `${options.path}${options.path.includes('?') ? '&' : '?'}token=${adminToken}` : options.path;
        const reply = await call({ host: '127.0.0.1', port: daemon.tcp!.port, localAddress: `127.0.${1 + Math.floor(source / 200)}.${10 + (source % 200)}` }, { ...options, path, headers });
        figures.badTokenRequests++;
        source++;
        const code = safeCode(reply);
        if (reply.status !== 401 || code !== 'unauthenticated') problems.push(`${route.name} with ${kind}: ${reply.status} ${reply.text.slice(0, 120)}`);
        if (digest(db) !== baseline) problems.push(`${route.name} with ${kind} changed stored data`);
      }
    }
    // The audit log says why each attempt failed, without the token.
    const reasons = new Set(
      (db.prepare("SELECT detail FROM audit_events WHERE action = 'auth.failed'").pluck().all() as string[]).map((d) => (JSON.parse(d) as { reason: string }).reason),
    );
    for (const reason of ['missing', 'malformed', 'unknown', 'mismatch', 'revoked', 'expired']) {
      if (!reasons.has(reason)) problems.push(`no auth.failed audit row with reason ${reason}`);
    }

    // ---- every role on every route ----
    const roles: Array<[keyof typeof tokens, string]> = Object.entries(tokens) as Array<[keyof typeof tokens, string]>;
    for (const route of ROUTES) {
      for (const [role, token] of roles) {
        const options = await route.build(fresh);
        const baseline = digest(db);
        const reply = await call(admin, { ...options, token });
        figures.roleChecks++;
        const allowed = route.allowed.includes(role);
        if (allowed && (reply.status < 200 || reply.status > 299)) problems.push(`${role} may ${route.name} but got ${reply.status} ${reply.text.slice(0, 160)}`);
        if (!allowed) {
          if (reply.status !== 403 || safeCode(reply) !== 'forbidden') problems.push(`${role} may not ${route.name} but got ${reply.status} ${reply.text.slice(0, 160)}`);
          if (digest(db) !== baseline) problems.push(`a refused ${route.name} by ${role} changed stored data`);
        }
      }
    }
    // A host-limited runner: its host only, and "not found" (never "forbidden") for the others.
    const scopedOwn = await call(admin, { method: 'POST', path: '/v1/credentials/get', token: scoped.token, body: { serverURL: '127.0.0.1:1' } });
    const scopedOther = await call(admin, { method: 'POST', path: '/v1/credentials/get', token: scoped.token, body: { serverURL: 'auth-fixture.registry.test' } });
    const scopedList = await call(admin, { method: 'GET', path: '/v1/credentials', token: scoped.token });
    figures.roleChecks += 3;
    if (scopedOwn.status !== 200) problems.push(`scoped runner lookup of its host: ${scopedOwn.status}`);
    if (scopedOther.status !== 404) problems.push(`scoped runner lookup of another host: ${scopedOther.status} (must be 404)`);
    if (Object.keys(scopedList.json<Record<string, string>>()).join() !== '127.0.0.1:1') problems.push(`scoped runner list: ${scopedList.text}`);
    // The allowed calls did change data: the digest sees changes (so "unchanged" above means something).
    expect(before).not.toBe(digest(db));
    db.close();
    figures.problems += problems.length;
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('rate-limits repeated failures per source: 30 in 60 s, then 429 with Retry-After, and lets every valid token through', async () => {
    const { adminToken, daemon, from } = await tcpDaemon('limit');
    const bad = { method: 'GET', path: '/v1/integrations', token: `scd_tok_${'1'.repeat(16)}_${'C'.repeat(43)}` };
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await call(from('127.0.0.50'), bad)).status);
    expect(statuses).toEqual(Array(30).fill(401));
    const blocked = await call(from('127.0.0.50'), bad);
    figures.rateLimited++;
    expect(blocked.status).toBe(429);
    expect(safeCode(blocked)).toBe('rate_limited');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${blocked.headers['retry-after']}`).toBe(true);
    // The limit is on the failing source's failures only: a valid token from that very address passes.
    expect((await call(from('127.0.0.50'), { method: 'GET', path: '/v1/integrations', token: adminToken })).status).toBe(200);
    expect((await call(from('127.0.0.51'), { method: 'GET', path: '/v1/integrations', token: adminToken })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(from('127.0.0.50'), bad)).status).toBe(429);
    // Over the Unix socket failures are limited as well, but a valid token still passes: every local
    // client shares that one source, and a looping stale token must not lock out the other helpers.
    const unixStatuses: number[] = [];
    for (let i = 0; i < 31; i++) unixStatuses.push((await call(daemon.unix(), bad)).status);
    figures.rateLimited++;
    expect(unixStatuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(unixStatuses[30]).toBe(429);
    expect((await call(daemon.unix(), { method: 'GET', path: '/v1/integrations', token: adminToken })).status).toBe(200);
    expect((await call(daemon.unix(), bad)).status).toBe(429);
  });

  it('never locks a valid token out of the TCP port, and keeps the audit cost of failures from rotating addresses bounded', async () => {
    const { dataDir, adminToken, daemon, from } = await tcpDaemon('lockout');
    const runner = (await call(from('127.0.0.1'), { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name: 'lockout runner', role: 'runner' } })).json<{ token: string }>().token;
    const bad = { method: 'GET', path: '/v1/integrations', token: `scd_tok_${'2'.repeat(16)}_${'D'.repeat(43)}` };
    const lastSeq = () => {
      const db = new Database(join(dataDir, 'credd.sqlite'), { readonly: true });
      try {
        return db.prepare('SELECT coalesce(max(seq), 0) FROM audit_events').pluck().get() as number;
      } finally {
        db.close();
      }
    };
    const seqBefore = lastSeq();

    // Thirty-five bad requests from the address every client of a proxy shares, then the valid tokens from it.
    for (let i = 0; i < 35; i++) await call(from('127.0.0.1'), bad);
    const adminAfter = await call(from('127.0.0.1'), { method: 'GET', path: '/v1/integrations', token: adminToken });
    const runnerAfter = await call(from('127.0.0.1'), { method: 'POST', path: '/v1/credentials/get', token: runner, body: { serverURL: 'nowhere.registry.test' } });
    // 1,200 failed logins, each from another loopback address.
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1200; i++) {
      const reply = await call(from(`127.1.${i >> 8}.${i & 255}`), bad);
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    }
    figures.rateLimited++;
    expect((await daemon.stop()).code).toBe(0);

    expect(adminAfter.status).toBe(200);
    expect(runnerAfter.status).toBe(404);
    expect([...statuses]).toEqual([[401, 1200]]);
    const db = new Database(join(dataDir, 'credd.sqlite'), { readonly: true });
    const failed = (db.prepare("SELECT detail FROM audit_events WHERE action = 'auth.failed' AND seq > ?").pluck().all(seqBefore) as string[]).map(
      (text) => JSON.parse(text) as { reason: string; source: string; count?: number; sources?: number },
    );
    db.close();
    // Every failure is counted: rows of their own plus the counts of the summaries.
    const counted = failed.reduce((sum, row) => sum + (row.reason === 'repeated' ? row.count! : 1), 0);
    expect(counted).toBe(1235);
    expect(failed.length).toBeLessThanOrEqual(50);
    expect(failed.find((row) => row.source === '127.0.0.1' && row.reason === 'repeated')).toMatchObject({ count: 34, sources: 1 });
  });

  it('creates the socket 0600, the data dir 0700 and the key 0600, and refuses a 0755 data dir or a 0644 key', async () => {
    const dataDir = join(dir!, 'perms');
    initStore(dataDir);
    const daemon = await startDaemon({ dataDir, logLevel: 'warn' });
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(daemon.socketPath).toString(8)).toBe('600');
    expect(statSync(daemon.socketPath).isSocket()).toBe(true);
    expect(mode(dataDir).toString(8)).toBe('700');
    expect(mode(join(dataDir, 'root.key')).toString(8)).toBe('600');
    for (const file of ['credd.sqlite', 'credd.sqlite-wal', 'credd.sqlite-shm']) expect(mode(join(dataDir, file)).toString(8), file).toBe('600');
    await daemon.stop();

    const refusals: Array<[string, () => void, RegExp]> = [
      ['data dir 0755', () => chmodSync(dataDir, 0o755), /chmod 700/],
      ['data dir 0750', () => chmodSync(dataDir, 0o750), /chmod 700/],
      ['data dir 0701', () => chmodSync(dataDir, 0o701), /chmod 700/],
      ['key 0644', () => chmodSync(join(dataDir, 'root.key'), 0o644), /chmod 600/],
      ['key 0640', () => chmodSync(join(dataDir, 'root.key'), 0o640), /chmod 600/],
      ['key 0604', () => chmodSync(join(dataDir, 'root.key'), 0o604), /chmod 600/],
    ];
    for (const [label, loosen, hint] of refusals) {
      loosen();
      const refused = await startDaemonExpectingRefusal({ dataDir });
      figures.refusedStarts++;
      expect(refused.code, label).toBe(1);
      expect(refused.stderr.trim().split('\n'), `${label}: one line`).toHaveLength(1);
      expect(refused.stderr, label).toMatch(hint);
      expect(refused.stdout, label).not.toMatch(/listening/);
      chmodSync(dataDir, 0o700);
      chmodSync(join(dataDir, 'root.key'), 0o600);
    }
    // Put right, it starts again.
    const again = await startDaemon({ dataDir, logLevel: 'warn' });
    await again.stop();
  });
});

function safeCode(reply: Reply): string | undefined {
  try {
    return reply.json<{ error?: { code?: string } }>().error?.code;
  } catch {
    return undefined;
  }
}
