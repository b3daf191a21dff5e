/**
 * API fuzzing against a real daemon over TCP with keep-alive connections: ≥ 10,000 requests with
 * random methods, paths and path params, query strings, headers and bodies (near-valid JSON for
 * every route, wrong shapes, random bytes, huge and deeply nested inputs), plus raw malformed HTTP
 * on a socket. Never a 5xx, never a hang, always a JSON error body, and a rejected request never
 * changes stored data: a digest of every table but the audit log is compared before and after each.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../shared/src/api-routes.js';
import { ERROR_CODES } from '../../shared/src/error-codes.js';
import { initStore, startDaemon, type DaemonProcess } from '../support/hardening/daemon-process.js';
import { LONG, makeTempDir, removeTempDir } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { call, type CallOptions, type Reply, type Target } from '../support/hardening/http.js';
import { suiteSeed } from '../support/hardening/random.js';

const STRUCTURED_CASES = LONG ? 40_000 : 10_000;
const RAW_CASES = LONG ? 2_000 : 300;
/** Authentication failures sent from one source address before moving to the next (the limiter blocks at 30). */
const FAILURES_PER_SOURCE = 25;

const figures = { requests: 0, raw: 0, serverErrors: 0, hangs: 0, changedOnReject: 0, badBodies: 0, parserRefusals: 0, leaked: 0, byStatus: new Map<number, number>() };
let dir: string | undefined;
let daemon: DaemonProcess | undefined;
let db: Database.Database | undefined;

afterAll(async () => {
  db?.close();
  await daemon?.kill();
  removeTempDir(dir);
  recordFigures('api fuzz', {
    'api requests': figures.requests,
    'raw requests': figures.raw,
    '5xx': figures.serverErrors,
    hangs: figures.hangs,
    'data changed on rejection': figures.changedOnReject,
    'bad error bodies': figures.badBodies,
    'refused by the HTTP parser': figures.parserRefusals,
  });
  printFigures();
});

// ---------------------------------------------------------------- value generators

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, Number.POSITIVE_INFINITY, '', ' ', '\u0000', '\u202e', '<script>', '../../etc/passwd', '%00', '__proto__', 'constructor', '[object Object]'),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const hostValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('fuzz-new.example.com', 'ghcr.io', 'docker.io', 'https://index.docker.io/v1/', '127.0.0.1:5000', 'REG.example.COM:443', 'localhost:1') },
  { weight: 2, arbitrary: fc.domain() },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: junk },
  { weight: 1, arbitrary: fc.constant(`${'a'.repeat(63)}.`.repeat(40)) },
);
const text = (max: number) => fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: max }) }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: max }) });
const secretValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) },
  { weight: 1, arbitrary: junk },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(16 * 1024), 'x'.repeat(16 * 1024 + 1), '') },
);
const timestamp = fc.oneof(fc.constantFrom('2030-01-01T00:00:00Z', '2030-01-01T00:00:00+02:00', 'not a date', '2030-13-45T99:99:99Z', ''), junk);
const pem = fc.oneof(
  fc.constantFrom('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', `-----BEGIN CERTIFICATE-----${' '.repeat(30_000)}x`, `${' '.repeat(20_000)}-----BEGIN CERTIFICATE-----`),
  fc.constant(`-----BEGIN CERTIFICATE-----${'-----END CERTIFICATE----- '.repeat(1200)}x`),
  junk,
);
const role = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('admin', 'manager', 'auditor', 'runner') }, { weight: 1, arbitrary: junk });

const BODIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  integration: fc.record(
    { host: hostValue, username: text(300), secret: secretValue, export: fc.oneof(fc.boolean(), junk), description: text(1200), expiresAt: timestamp, caCert: pem },
    { requiredKeys: [] },
  ),
  token: fc.record(
    { name: text(120), role, ttlSeconds: fc.oneof(fc.integer({ min: -10, max: 400 * 24 * 3600 }), junk), hosts: fc.oneof(fc.array(hostValue, { maxLength: 5 }), junk) },
    { requiredKeys: [] },
  ),
  serverUrl: fc.record({ serverURL: fc.oneof({ weight: 3, arbitrary: hostValue }, { weight: 1, arbitrary: fc.constant('x'.repeat(3000)) }) }, { requiredKeys: [] }),
  store: fc.record({ ServerURL: hostValue, Username: text(300), Secret: secretValue }, { requiredKeys: [] }),
};

/** Bodies each route accepts, so that requests also get through validation into the services. */
const VALID_BODIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  integration: fc.record({ host: fc.nat({ max: 5000 }).map((n) => `fuzz-${n}.example.com`), username: fc.constantFrom('u', '<token>'), secret: fc.constant('fuzz-valid-secret') }),
  token: fc.record({ name: fc.constant('fuzz minted'), role: fc.constantFrom('runner', 'auditor'), ttlSeconds: fc.constant(3600) }),
  serverUrl: fc.record({ serverURL: fc.constantFrom('docker.io', '127.0.0.1:1', 'localhost:2', 'fuzz-1.example.com') }),
  store: fc.record({ ServerURL: fc.nat({ max: 5000 }).map((n) => `fuzz-store-${n}.example.com`), Username: fc.constant('u'), Secret: fc.constant('fuzz-store-secret') }),
};

/** Serialised bodies: mostly JSON near the route's shape, then everything else a client could send. */
const bodyText = (shape: fc.Arbitrary<Record<string, unknown>>, valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    { weight: 10, arbitrary: shape.map((value) => JSON.stringify(value)) },
    { weight: 4, arbitrary: valid.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.tuple(shape, fc.string({ maxLength: 12 }), junk).map(([value, key, extra]) => JSON.stringify({ ...value, [key || 'extra']: extra })) },
    { weight: 1, arbitrary: shape.map((value) => `{"__proto__":{"role":"admin","isAdmin":true},"constructor":{"prototype":{"x":1}},${JSON.stringify(value).slice(1)}`) },
    { weight: 1, arbitrary: shape.map((value) => JSON.stringify(value).slice(0, -1)) },
    { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
    { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"x"', '{}', '{"a":1,"a":2}', '{"host":"x"}{"host":"y"}', '\uFEFF{}') },
    { weight: 1, arbitrary: fc.constantFrom(`${'['.repeat(20_000)}${']'.repeat(20_000)}`, `{"secret":"${'x'.repeat(70 * 1024)}"}`, `{"host":${'1'.repeat(5000)}}`) },
  );

// ---------------------------------------------------------------- request generator

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  auth: string;
}

/** Route pattern, the body shape it takes, and the methods it answers. */
const ROUTE_BODIES: Array<[string, string, string[]]> = [
  [API_ROUTES.integrations, 'integration', ['GET', 'POST']],
  [API_ROUTES.integration, 'integration', ['GET', 'PATCH', 'DELETE']],
  [API_ROUTES.tokens, 'token', ['GET', 'POST']],
  [API_ROUTES.token, 'token', ['DELETE']],
  [API_ROUTES.credentials, 'serverUrl', ['GET']],
  [API_ROUTES.credentialsGet, 'serverUrl', ['POST']],
  [API_ROUTES.credentialsStore, 'store', ['POST']],
  [API_ROUTES.credentialsErase, 'serverUrl', ['POST']],
  [API_ROUTES.integrationTest, 'integration', ['POST']],
  [API_ROUTES.audit, 'serverUrl', ['GET']],
  [API_ROUTES.whoami, 'serverUrl', ['GET']],
  [API_ROUTES.openapi, 'serverUrl', ['GET']],
  [API_ROUTES.metrics, 'serverUrl', ['GET']],
  [API_ROUTES.health, 'serverUrl', ['GET']],
  ['/v1', 'serverUrl', ['GET']],
  ['/v2/integrations', 'integration', ['POST']],
  ['/', 'serverUrl', ['GET']],
];

/** Percent-encodes what a request target may not carry raw (outside 0x21-0x7e). */
const encodeTarget = (value: string) => [...value].map((c) => (/[\u0021-\u007e]/.test(c) ? c : encodeURIComponent(c))).join('');

function requestArb(ids: { integrations: string[]; tokens: string[] }, auths: string[]): fc.Arbitrary<FuzzRequest> {
  const idValue = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ids.integrations, ...ids.tokens) },
    { weight: 2, arbitrary: fc.stringMatching(/^(int|tok|req|abc)_[0-9a-f]{16}$/) },
    { weight: 2, arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%ZZ', '%00', '..', '%2e%2e', '%2F', 'a%2Fb', 'int_%30', '%E0%A4%A', `int_${'0'.repeat(5000)}`, '%C0%AE', '%uFFFF', '\u00e9') },
  );
  const query = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    {
      weight: 3,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom('limit', 'cursor', 'since', 'host', 'action', 'token', '__proto__', 'constructor', 'a[b]', 'limit[]', 'x'), fc.string({ maxLength: 10 })),
            fc.oneof(fc.constantFrom('1', '0', '-1', '500', '501', '1e3', 'NaN', '2030-01-01T00:00:00Z', 'credential.get', 'docker.io', ''), fc.string({ maxLength: 30 })),
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeTarget(v)}`).join('&')}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&&', '?=', '?a', `?x=${'y'.repeat(8000)}`, '?limit=1&limit=2', '?%') },
  );
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE') },
    { weight: 2, arbitrary: fc.constantFrom('PUT', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'QUERY', 'LINK') },
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'application/json;charset=UTF-8;x=y',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/merge-patch+json',
        'multipart/form-data; boundary=x',
        'application/json, text/plain',
        '',
        'NONE',
      ),
    },
  );
  const extraHeaders = fc.dictionary(
    fc.oneof(
      fc.constantFrom('content-encoding', 'x-request-id', 'accept', 'accept-encoding', 'x-forwarded-for', 'x-real-ip', 'forwarded', 'origin', 'cookie', 'expect', 'transfer-encoding', 'x-http-method-override'),
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
    ),
    fc.oneof(
      fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'chunked', '127.0.0.1', '1.2.3.4, 127.0.0.1', 'DELETE', '*/*', 'application/xml', 'a'.repeat(64), 'a'.repeat(65), 'req-../../x'),
      fc.string({ maxLength: 40 }).map((value) => value.replace(/[^\u0020-\u007e]/g, '')),
    ),
    { maxKeys: 3 },
  );
  return fc
    .record({
      route: fc.constantFrom(...ROUTE_BODIES),
      // Three times in four a method the route answers, so requests get past routing into validation and services.
      ownMethod: fc.option(fc.nat(), { freq: 4 }),
      id: idValue,
      suffix: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/extra', '/.', '/..', '/%2e', ';jsessionid=1', '.json') }),
      query,
      method,
      contentType,
      extraHeaders,
      auth: fc.oneof({ weight: 12, arbitrary: fc.constant(auths[0]!) }, { weight: 4, arbitrary: fc.constantFrom(...auths.slice(1)) }),
      withBody: fc.boolean(),
    })
    .map((picked) => ({ ...picked, method: picked.ownMethod === null ? picked.method : picked.route[2][picked.ownMethod % picked.route[2].length]! }))
    .chain((picked) =>
      fc.record({
        picked: fc.constant(picked),
        body: picked.withBody || picked.method === 'POST' || picked.method === 'PATCH' ? bodyText(BODIES[picked.route[1]]!, VALID_BODIES[picked.route[1]]!).map((b) => b as string | undefined) : fc.constant(undefined),
      }),
    )
    .map(({ picked, body }) => {
      const headers: Record<string, string> = { ...picked.extraHeaders };
      if (body !== undefined && picked.contentType !== 'NONE') headers['content-type'] = picked.contentType;
      // A body of the wrong length would leave the server waiting for bytes the client never sends: that is not a daemon hang.
      if (headers['transfer-encoding'] !== undefined && headers['transfer-encoding'] !== 'chunked') delete headers['transfer-encoding'];
      if (headers['transfer-encoding'] === 'chunked' && body === undefined) delete headers['transfer-encoding'];
      if (headers['expect'] !== undefined) delete headers['expect'];
      return {
        method: picked.method,
        path: `${picked.route[0].replace(':id', picked.id)}${picked.suffix}${picked.query}`,
        headers,
        body,
        auth: picked.auth,
      };
    });
}

// ---------------------------------------------------------------- the store's digest

/** SHA-256 over every table the API may change, except the audit log (rejected requests are audited). */
function tableDigest(database: Database.Database): string {
  const hash = createHash('sha256');
  const dump = (sql: string) => {
    for (const row of database.prepare(sql).raw().all() as unknown[][]) {
      hash.update(JSON.stringify(row.map((cell) => (Buffer.isBuffer(cell) ? cell.toString('hex') : cell))));
      hash.update('\n');
    }
    hash.update('|');
  };
  dump('SELECT * FROM integrations ORDER BY id');
  dump('SELECT * FROM tokens ORDER BY id');
  dump('SELECT * FROM keyring ORDER BY term');
  dump("SELECT key, value FROM meta WHERE key <> 'audit_head' ORDER BY key");
  dump('SELECT version, name FROM schema_migrations ORDER BY version');
  return hash.digest('hex');
}

describe('API fuzzing', () => {
  it(
    `never answers 5xx, never hangs, and never changes data on a rejected request (${STRUCTURED_CASES} requests + ${RAW_CASES} raw)`,
    async () => {
      dir = makeTempDir('fuzza');
      const dataDir = join(dir, 'data');
      const adminToken = initStore(dataDir);
      daemon = await startDaemon({ dataDir, tcp: true, logLevel: 'warn' });
      const port = daemon.tcp!.port;
      const admin: Target = { socketPath: daemon.socketPath };
      const marker = `FUZZSECRET-${randomBytes(4).toString('hex')}-`;

      const mint = async (name: string, body: object) => {
        const reply = await call(admin, { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name, ...body } });
        expect(reply.status, reply.text).toBe(201);
        return reply.json<{ id: string; token: string }>();
      };
      const spareAdmin = await mint('spare admin', { role: 'admin' });
      const manager = await mint('fuzz manager', { role: 'manager' });
      const auditor = await mint('fuzz auditor', { role: 'auditor' });
      const runner = await mint('fuzz runner', { role: 'runner' });
      const scoped = await mint('fuzz scoped', { role: 'runner', hosts: ['127.0.0.1:1'] });
      const victims = await Promise.all(Array.from({ length: 6 }, (_, i) => mint(`victim ${i}`, { role: i % 2 ? 'runner' : 'auditor' })));
      const integrationIds: string[] = [];
      // Loopback hosts where nothing listens: a credential test fails at once instead of waiting on DNS.
      for (const [i, host] of ['127.0.0.1:1', 'localhost:2', '127.0.0.1:3', 'localhost:4', '127.0.0.1:5', '127.0.0.1:6'].entries()) {
        const reply = await call(admin, { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host, username: `fuzz-${i}`, secret: `${marker}${i}` } });
        expect(reply.status, reply.text).toBe(201);
        integrationIds.push(reply.json<{ id: string }>().id);
      }
      const revokedVictim = victims[0]!;
      await call(admin, { method: 'DELETE', path: `/v1/tokens/${revokedVictim.id}`, token: adminToken });
      const bearer = (token: string) => `Bearer ${token}`;
      const auths = [
        bearer(adminToken),
        bearer(spareAdmin.token),
        bearer(manager.token),
        bearer(auditor.token),
        bearer(runner.token),
        bearer(scoped.token),
        bearer(revokedVictim.token),
        bearer(`scd_${manager.id}_${'A'.repeat(43)}`),
        bearer(`scd_tok_0000000000000000_${'A'.repeat(43)}`),
        'Bearer',
        'Basic YWRtaW46YWRtaW4=',
        '',
        `Bearer ${adminToken} extra`,
        `bearer   ${adminToken}`,
      ];

      db = new Database(join(dataDir, 'credd.sqlite'), { readonly: true, fileMustExist: true });
      const dataVersion = db.prepare('PRAGMA data_version').pluck();
      let version = dataVersion.get() as number;
      let digest = tableDigest(db);
      const currentDigest = () => {
        const now = dataVersion.get() as number;
        if (now !== version) {
          version = now;
          digest = tableDigest(db!);
        }
        return digest;
      };

      // One keep-alive agent per source address; a source is left before the limiter would block it.
      let sourceIndex = 2;
      let sourceFailures = 0;
      const agents = new Map<string, http.Agent>();
      const target = (): Target => {
        const localAddress = `127.0.0.${sourceIndex}`;
        let agent = agents.get(localAddress);
        if (!agent) agents.set(localAddress, (agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress } as http.AgentOptions)));
        return { host: '127.0.0.1', port, localAddress, agent };
      };
      const noteStatus = (status: number) => {
        figures.byStatus.set(status, (figures.byStatus.get(status) ?? 0) + 1);
        if (status === 401 && ++sourceFailures >= FAILURES_PER_SOURCE) {
          sourceIndex++;
          sourceFailures = 0;
          if (sourceIndex > 250) throw new Error('ran out of 127.0.0.x source addresses');
        }
      };

      const problems: string[] = [];
      const report = (what: string, request: { method: string; path: string }, detail: string) => {
        if (problems.length < 15) problems.push(`${what}: ${request.method} ${request.path.slice(0, 120)} -> ${detail.slice(0, 300)}`);
      };

      const seed = suiteSeed();
      const requests = fc.sample(requestArb({ integrations: integrationIds, tokens: victims.map((v) => v.id) }, auths), { numRuns: STRUCTURED_CASES, seed });
      for (const request of requests) {
        const before = currentDigest();
        const options: CallOptions = {
          method: request.method,
          path: request.path,
          headers: { ...request.headers, ...(request.auth ? { authorization: request.auth } : {}) },
          timeoutMs: 10_000,
          ...(request.body === undefined ? {} : { body: request.body }),
        };
        let reply: Reply;
        try {
          reply = await call(target(), options);
        } catch (error) {
          // A reused keep-alive socket the server had just closed: retry once on a fresh connection.
          try {
            reply = await call({ ...target(), agent: undefined }, options);
          } catch (again) {
            const message = (again as Error).message;
            if (/within \d+ ms/.test(message)) figures.hangs++;
            else if (/Invalid character|Invalid header|ERR_INVALID|ERR_UNESCAPED/.test(`${(again as NodeJS.ErrnoException).code} ${message}`)) continue;
            report('no answer', request, `${(error as Error).message} / ${message}`);
            figures.requests++;
            continue;
          }
        }
        figures.requests++;
        noteStatus(reply.status);
        if (reply.status >= 500) {
          figures.serverErrors++;
          report(`${reply.status}`, request, `${reply.text} ${request.body?.slice(0, 200) ?? ''}`);
        }
        // Node's own HTTP parser refuses some requests (e.g. both Transfer-Encoding and Content-Length)
        // before the app sees them: a bare 400 with Connection: close and no body.
        const parserRefusal = reply.status === 400 && reply.body.length === 0 && reply.headers['content-type'] === undefined && reply.headers['connection'] === 'close';
        if (parserRefusal) figures.parserRefusals++;
        // Every other error, including a target express's router cannot parse (e.g. `//..?a=#@x#y`,
        // answered by the listener's JSON fallback), must carry the API's error shape.
        if (reply.status >= 400 && request.method !== 'HEAD' && !parserRefusal) {
          let code: unknown;
          try {
            code = reply.json<{ error?: { code?: unknown } }>().error?.code;
          } catch {
            code = undefined;
          }
          if (!ERROR_CODES.includes(code as never)) {
            figures.badBodies++;
            report('error body', request, `${reply.status} ${reply.text.slice(0, 200)}`);
          }
          const after = currentDigest();
          if (after !== before) {
            figures.changedOnReject++;
            report('data changed on a rejected request', request, `${reply.status} ${reply.text}`);
          }
        } else if (parserRefusal && currentDigest() !== before) {
          figures.changedOnReject++;
          report('data changed on a parser-refused request', request, '');
        } else {
          currentDigest();
        }
        if (reply.text.includes(marker) && !(request.path.startsWith(API_ROUTES.credentialsGet) && reply.status === 200)) {
          figures.leaked++;
          report('secret outside a lookup', request, reply.text);
        }
      }
      for (const agent of agents.values()) agent.destroy();

      // Raw HTTP on a socket: malformed request lines and headers, smuggling attempts, bad chunking.
      const rawCases = fc.sample(
        fc.oneof(
          fc.tuple(fc.constantFrom('GET', 'POST', 'G\u0000T', 'GET GET', '', 'PATCH'), fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', '', 'http/1.1')).map(
            ([m, p, v]) => `${m} /${p} ${v}\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\n\r\n`,
          ),
          fc.constantFrom(
            `POST /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n{"a":1}`,
            `POST /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`,
            `POST /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
            `POST /v1/credentials/get HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /v1/tokens HTTP/1.1\r\nHost: x\r\n\r\n`,
            `GET /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\n folded: header\r\n\r\n`,
            `GET /v1/integrations HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nAuthorization: Bearer ${adminToken}\r\n\r\n`,
            `GET /v1/integrations HTTP/1.1\r\n${'X-Many: 1\r\n'.repeat(3000)}Authorization: Bearer ${adminToken}\r\n\r\n`,
            `GET /v1/integrations HTTP/1.1\nHost: x\nAuthorization: Bearer ${adminToken}\n\n`,
            `GET /v1/integrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\u0000\r\n\r\n`,
            `DELETE /v1/integrations/${integrationIds[5]} HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer ${adminToken}\r\n\r\n`,
            `PATCH /v1/integrations/${integrationIds[5]} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"usern`,
          ),
          fc.uint8Array({ minLength: 1, maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
        ),
        { numRuns: RAW_CASES, seed: seed + 1 },
      );
      for (const raw of rawCases) {
        const before = currentDigest();
        const answer = await rawExchange(port, Buffer.from(raw, 'latin1'), `127.0.0.${Math.min(sourceIndex + 1, 254)}`);
        figures.raw++;
        if (answer === 'timeout') {
          figures.hangs++;
          report('raw hang', { method: 'RAW', path: JSON.stringify(raw.slice(0, 80)) }, 'no answer and no close within 12 s');
          continue;
        }
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
        if (status >= 500) {
          figures.serverErrors++;
          report(`raw ${status}`, { method: 'RAW', path: JSON.stringify(raw.slice(0, 80)) }, answer);
        }
        if (status === 0 || status >= 400) {
          if (currentDigest() !== before) {
            figures.changedOnReject++;
            report('raw request changed data', { method: 'RAW', path: JSON.stringify(raw.slice(0, 80)) }, answer);
          }
        } else currentDigest();
      }

      const health = await call(admin, { method: 'GET', path: '/healthz' });
      const statuses = Object.fromEntries([...figures.byStatus].sort((a, b) => a[0] - b[0]));
      console.log(`fuzz-api: seed ${seed}; ${figures.requests} requests, ${figures.raw} raw; statuses ${JSON.stringify(statuses)}; sources used ${sourceIndex - 1}`);
      const serverLog = daemon.stderr();
      expect(problems, `${problems.join('\n')}\n--- daemon stderr (tail):\n${serverLog.slice(-3000)}`).toEqual([]);
      expect(health.status).toBe(200);
      expect(figures.serverErrors).toBe(0);
      expect(figures.hangs).toBe(0);
      expect(figures.changedOnReject).toBe(0);
      expect(figures.badBodies).toBe(0);
      expect(figures.leaked).toBe(0);
      expect(figures.requests + figures.raw).toBeGreaterThanOrEqual(10_000);
      // The fuzzer reached success paths and each kind of refusal, not only one status.
      for (const status of [200, 201, 204, 400, 401, 403, 404, 405, 413, 415]) expect(figures.byStatus.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    },
    LONG ? 1_800_000 : 300_000,
  );
});

/** Sends raw bytes, half-closes, and returns what came back once the server closes (or 'timeout'). */
function rawExchange(port: number, bytes: Buffer, localAddress: string): Promise<string | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => (socket.destroy(), resolve('timeout')), 12_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('connect', () => socket.end(bytes));
  });
}
