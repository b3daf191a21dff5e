/**
 * Fuzzing the helper's stdin for every verb.
 *
 * 1. In-process, ≥ 10,000 cases: the protocol layer (runHelper) over an in-memory backend that can
 *    also fail like the daemon does. Never a rejection, exit 0 or 1, exactly one protocol line (or
 *    nothing for a successful store/erase), no secret outside get's JSON line, and no daemon fault
 *    reported as "credentials not found".
 * 2. As a child process against a real daemon, a few hundred runs of random bytes, invalid UTF-8,
 *    JSON of the wrong shape and inputs ≥ 1 MiB, for the npm entry and the packaged binary alike:
 *    never a stack trace, stdout one protocol line, stderr empty, exit 0 or 1.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { CredentialBackend, CredentialInput } from '../../helper/src/credential-backend.js';
import {
  CredentialsNotFoundError,
  DaemonError,
  HelperConfigError,
  ReadOnlyTokenError,
  type HelperError,
} from '../../helper/src/errors.js';
import { runHelper } from '../../helper/src/run-helper.js';
import { InvalidRegistryHostError, dockerCliKey, isSubKey, parseServerUrl } from '../../shared/src/registry-host.js';
import { type DaemonProcess, freshStore, type FreshStore, startDaemon } from '../support/hardening/daemon-process.js';
import { LONG, pool, removeTempDir } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { helperEnv, helperExes, runHelperProcess } from '../support/hardening/helper-process.js';
import { call } from '../support/hardening/http.js';
import { NOT_FOUND_LINE, classifyStdout } from '../support/hardening/protocol.js';
import { suiteSeed } from '../support/hardening/random.js';

const IN_PROCESS_SEQUENCES = LONG ? 20_000 : 4_000;
const PROCESS_RUNS = LONG ? 1_000 : 300;
const HUGE_RUNS = 12;
const SECRET_PREFIX = 'S3CR3T-';

const figures = { inProcessCases: 0, inProcessFailures: 0, processRuns: 0, processFailures: 0, hugeRuns: 0 };
let fresh: FreshStore | undefined;
let daemon: DaemonProcess | undefined;

afterAll(async () => {
  await daemon?.kill();
  removeTempDir(fresh?.dir);
  recordFigures('fuzz', {
    'fuzz cases': figures.inProcessCases + figures.processRuns,
    'in-process cases': figures.inProcessCases,
    'process runs': figures.processRuns,
    'inputs >= 1 MiB': figures.hugeRuns,
    failures: figures.inProcessFailures + figures.processFailures,
  });
  printFigures();
});

// ---------------------------------------------------------------- generators shared by both layers

const VERBS = ['get', 'store', 'erase', 'list'] as const;
const hostPart = fc.oneof(
  fc.constantFrom('registry.example.com', 'ghcr.io', 'docker.io', 'index.docker.io', 'registry-1.docker.io', 'localhost', '127.0.0.1', '[::1]', 'REGISTRY.Example.COM.'),
  fc.domain(),
  fc.stringMatching(/^[a-z0-9.-]{1,30}$/),
  fc.string({ maxLength: 20 }),
);
const wildServer = fc
  .record({
    lead: fc.constantFrom('', ' ', '\t', '\n', '\r\n', '\uFEFF'),
    scheme: fc.constantFrom('', 'https://', 'http://', 'oci://', 'HTTPS://', 'ftp://', '//', 'https:/'),
    user: fc.constantFrom('', '', '', 'user@', 'user:pass@'),
    host: hostPart,
    port: fc.constantFrom('', '', ':443', ':5000', ':0', ':65536', ':abc', ':'),
    path: fc.constantFrom('', '/', '/v1/', '/v2/', '/v1/access-token', '/org/repo', '//x', '?q=1', '#frag', '/%2e%2e/'),
    tail: fc.constantFrom('', '\n', '\r\n', ' \n', '\n\n', '\u0000', '\u2028'),
  })
  .map(({ lead, scheme, user, host, port, path, tail }) => `${lead}${scheme}${user}${host}${port}${path}${tail}`);
/** The few registries the in-memory store is seeded with, in the forms clients send them. */
const POOL = ['registry.example.com', 'ghcr.io', 'docker.io', 'localhost:5000', 'quay.io'];
const validServer = fc
  .record({
    scheme: fc.constantFrom('', '', 'https://', 'http://', 'HTTPS://'),
    host: fc.constantFrom(...POOL, 'index.docker.io', 'registry-1.docker.io', 'GHCR.IO', 'quay.io:443'),
    path: fc.constantFrom('', '', '/', '/v2/', '/v1/'),
    tail: fc.constantFrom('', '', '\n', '\r\n', ' '),
  })
  .map(({ scheme, host, path, tail }) => `${scheme}${host}${path}${tail}`);
const serverString = fc.oneof({ weight: 3, arbitrary: validServer }, { weight: 2, arbitrary: wildServer });
const secretValue = fc.string({ minLength: 1, maxLength: 40 }).map((text) => `${SECRET_PREFIX}${text}`);
const storeObject = fc.record(
  {
    ServerURL: fc.oneof({ weight: 5, arbitrary: serverString }, { weight: 1, arbitrary: fc.jsonValue() }),
    Username: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('ci', '<token>', 'robot$ci', '', ' ') }, fc.string({ maxLength: 30 }), fc.jsonValue()),
    Secret: fc.oneof({ weight: 5, arbitrary: secretValue }, fc.constant(''), fc.jsonValue()),
  },
  { requiredKeys: ['ServerURL', 'Username', 'Secret'] },
).chain((value) =>
  // Sometimes drop fields, to reach the missing-field answers.
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(value) },
    { weight: 1, arbitrary: fc.subarray(Object.keys(value)).map((keep) => Object.fromEntries(Object.entries(value).filter(([key]) => keep.includes(key)))) },
  ),
);
const storeText = fc.oneof(
  storeObject.map((value) => JSON.stringify(value)),
  storeObject.map((value) => JSON.stringify(value, null, 2)),
  // Go's encoder: HTML-safe escapes.
  storeObject.map((value) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e')),
  // Field names in other casings, duplicated keys, extra fields.
  fc
    .tuple(fc.constantFrom('serverurl', 'SERVERURL', 'ServerUrl', 'serverURL'), serverString, secretValue)
    .map(([key, url, secret]) => `{"${key}":${JSON.stringify(url)},"username":"u","secret":${JSON.stringify(secret)},"Secret":null,"extra":[1,{"a":2}]}`),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  storeObject.map((value) => JSON.stringify(value).slice(0, -1)),
);
const invalidUtf8 = fc
  .array(
    fc.constantFrom(
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0xff],
      [0xfe, 0xff],
      [0xf0, 0x9f, 0x98],
      [0x22],
      [0x7b],
      [0x0a],
      [0x00],
    ),
    { maxLength: 40 },
  )
  .chain((pieces) => fc.tuple(fc.constant(pieces.flat()), serverString))
  .map(([bytes, text]) => Buffer.concat([Buffer.from(text.slice(0, 10)), Buffer.from(bytes), Buffer.from(text.slice(10))]));
const stdinBytes = fc.oneof(
  { weight: 3, arbitrary: serverString.map((text) => Buffer.from(text)) },
  { weight: 3, arbitrary: storeText.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 2, arbitrary: invalidUtf8 },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: fc.constantFrom('', '\n', 'unused', 'null', '{}', '[]', '"docker.io"', '{"ServerURL":""}').map((text) => Buffer.from(text)) },
);
/** Stdin for a verb: mostly the shape that verb expects (to reach its success paths), often anything. */
const stdinFor = (verb: string | undefined) =>
  verb === 'store'
    ? fc.oneof({ weight: 3, arbitrary: storeText.map((text) => Buffer.from(text)) }, { weight: 1, arbitrary: stdinBytes })
    : verb === 'get' || verb === 'erase'
      ? fc.oneof({ weight: 2, arbitrary: serverString.map((text) => Buffer.from(text)) }, { weight: 1, arbitrary: stdinBytes })
      : stdinBytes;
const action = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...VERBS) },
  { weight: 1, arbitrary: fc.constantFrom('version', '--version', '-v', '--help', '-h', 'GET', 'get ', 'store\n', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((text) => !text.startsWith('configure')) },
);

// ---------------------------------------------------------------- in-process

type Fault = undefined | (() => HelperError);
const FAULTS: Fault[] = [
  () => new DaemonError('unreachable', 'cannot reach scalr-credd at unix:/x (connection refused); is the daemon running?'),
  () => new DaemonError('timeout', 'scalr-credd at unix:/x did not answer within 2000 ms'),
  () => new DaemonError('unauthenticated', 'scalr-credd at unix:/x rejected the token (401)'),
  () => new DaemonError('server', 'scalr-credd at unix:/x failed (status 500 internal)', { status: 500, code: 'internal' }),
  () => new DaemonError('protocol', 'unexpected answer from scalr-credd at unix:/x: not JSON'),
  () => new DaemonError('rejected', 'scalr-credd refused the request: invalid request', { status: 400 }),
  () => new ReadOnlyTokenError('runner'),
  () => new HelperConfigError('no daemon token configured: set SCALR_CREDD_TOKEN_FILE'),
];

/** The daemon's behaviour in memory: credentials by canonical host; may fail like the daemon. */
class MemoryBackend implements CredentialBackend {
  readonly entries = new Map<string, { username: string; secret: string }>();
  calls = 0;
  fault: Fault = undefined;

  private enter(): void {
    this.calls++;
    if (this.fault) throw this.fault();
  }

  private host(serverUrl: string, forWrite: boolean): string | undefined {
    try {
      const key = parseServerUrl(serverUrl);
      if (forWrite && key.path !== '') throw new DaemonError('rejected', 'scalr-credd refused the request: names a path', { status: 400 });
      return isSubKey(key) ? undefined : key.host;
    } catch (error) {
      if (error instanceof InvalidRegistryHostError) throw new DaemonError('rejected', `scalr-credd refused the request: ${error.message}`, { status: 400 });
      throw error;
    }
  }

  async get(serverUrl: string) {
    this.enter();
    const host = this.host(serverUrl, false);
    const found = host === undefined ? undefined : this.entries.get(host);
    if (!found) throw new CredentialsNotFoundError();
    return found;
  }

  async list() {
    this.enter();
    return Object.fromEntries([...this.entries].map(([host, { username }]) => [dockerCliKey(host), username]));
  }

  async store(input: CredentialInput) {
    this.enter();
    this.entries.set(this.host(input.serverUrl, true)!, { username: input.username, secret: input.secret });
  }

  async erase(serverUrl: string) {
    this.enter();
    const host = this.host(serverUrl, true);
    if (host !== undefined) this.entries.delete(host);
  }
}

/** Checks one in-process result; returns the problems found. */
function checkResult(
  request: { action: string | undefined; stdin: string },
  result: { stdout: string; exitCode: number },
  backend: MemoryBackend,
  callsBefore: number,
  faulted: boolean,
  secrets: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  if (result.exitCode !== 0 && result.exitCode !== 1) problems.push(`exit code ${result.exitCode}`);
  const kind = classifyStdout(result.stdout);
  if ('problem' in kind) return [...problems, kind.problem];
  const askedBackend = backend.calls > callsBefore;
  if (faulted && askedBackend) {
    if (result.stdout === `${NOT_FOUND_LINE}\n`) problems.push('a daemon fault was reported as not found');
    if (result.exitCode !== 1) problems.push('a daemon fault exited 0');
  }
  if (kind.kind === 'empty' && !(result.exitCode === 0 && (request.action === 'store' || request.action === 'erase'))) {
    problems.push('empty stdout for something other than a successful store or erase');
  }
  if (kind.kind === 'json' && !(result.exitCode === 0 && (request.action === 'get' || request.action === 'list'))) {
    problems.push('a JSON line for something other than a successful get or list');
  }
  if (result.exitCode === 0 && request.action === 'get') {
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    if (Object.keys(answer).join() !== 'ServerURL,Username,Secret') problems.push(`get answered keys ${Object.keys(answer).join()}`);
  }
  if (request.action !== 'get' || result.exitCode !== 0) {
    for (const secret of secrets) {
      if (secret.length > SECRET_PREFIX.length + 3 && result.stdout.includes(secret)) problems.push('a secret appeared outside a get answer');
    }
  }
  return problems;
}

describe('helper fuzzing', () => {
  it(`runHelper in-process: ≥ 10,000 cases over every verb, with and without daemon faults`, async () => {
    const seed = suiteSeed();
    const problems: string[] = [];
    const outcomes = new Map<string, number>();
    const step = fc.record({ action, fault: fc.option(fc.constantFrom(...FAULTS.keys()), { freq: 4 }) }).chain((picked) =>
      fc.record({ action: fc.constant(picked.action), fault: fc.constant(picked.fault), stdin: stdinFor(picked.action) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(validServer, fc.string({ minLength: 1, maxLength: 20 }), secretValue), { maxLength: 4 }),
        async (steps, seeded) => {
          const backend = new MemoryBackend();
          const secrets = new Set<string>();
          for (const [url, username, secret] of seeded) {
            try {
              const { host, path } = parseServerUrl(url);
              if (path === '') backend.entries.set(host, { username, secret });
              secrets.add(secret);
            } catch {
              // Not a registry address: nothing to seed.
            }
          }
          for (const { action: verb, stdin, fault } of steps) {
            const text = stdin.toString('utf8');
            // Secrets in the input may be echoed by nothing but a later get.
            for (const match of text.matchAll(/S3CR3T-[^"\\]{4,}/g)) secrets.add(match[0]);
            backend.fault = fault === null ? undefined : FAULTS[fault];
            const callsBefore = backend.calls;
            const request = { action: verb, stdin: text };
            const result = await runHelper(request, backend);
            figures.inProcessCases++;
            const kindSeen = classifyStdout(result.stdout);
            const outcome = `${verb !== undefined && (VERBS as readonly string[]).includes(verb) ? verb : 'other'}:${result.exitCode}:${'problem' in kindSeen ? 'bad' : kindSeen.kind}${fault !== null && backend.calls > callsBefore ? ':fault' : ''}`;
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
            const found = checkResult(request, result, backend, callsBefore, fault !== null, secrets);
            if (found.length) {
              figures.inProcessFailures++;
              if (problems.length < 10) problems.push(`${JSON.stringify(request).slice(0, 300)} -> ${JSON.stringify(result.stdout.slice(0, 200))}: ${found.join('; ')}`);
            }
            // A get after a store of the same host answers what was stored.
            if (verb === 'store' && result.exitCode === 0 && !fault) {
              const stored = JSON.parse(text.replace(/\r?\n/g, '').replace(/^\uFEFF/, '').trim()) as Record<string, unknown>;
              const url = Object.entries(stored).find(([key, value]) => key.toLowerCase() === 'serverurl' && typeof value === 'string')?.[1] as string;
              backend.fault = undefined;
              const check = await runHelper({ action: 'get', stdin: url }, backend);
              figures.inProcessCases++;
              const answer = check.exitCode === 0 ? (JSON.parse(check.stdout) as { Secret: string }) : undefined;
              const expected = Object.entries(stored).filter(([key, value]) => key.toLowerCase() === 'secret' && value !== null).at(-1)?.[1] ?? '';
              if (answer?.Secret !== expected) {
                figures.inProcessFailures++;
                if (problems.length < 10) problems.push(`store then get of ${JSON.stringify(url)} answered ${JSON.stringify(check.stdout.slice(0, 200))}`);
              }
            }
          }
        },
      ),
      { numRuns: IN_PROCESS_SEQUENCES, seed, endOnFailure: true },
    );
    // Huge inputs (≥ 1 MiB) for every verb.
    const huge = [
      'a'.repeat(1.5 * 1024 * 1024),
      `https://${'sub.'.repeat(300_000)}example.com`,
      JSON.stringify({ ServerURL: 'registry.example.com', Username: 'u', Secret: `${SECRET_PREFIX}${'x'.repeat(1024 * 1024)}` }),
      `${'['.repeat(600_000)}${']'.repeat(600_000)}`,
      `${'\n'.repeat(1024 * 1024)}registry.example.com`,
    ];
    for (const stdin of huge) {
      for (const verb of VERBS) {
        const backend = new MemoryBackend();
        const result = await runHelper({ action: verb, stdin }, backend);
        figures.inProcessCases++;
        const found = checkResult({ action: verb, stdin }, result, backend, 0, false, new Set());
        if (found.length) {
          figures.inProcessFailures++;
          problems.push(`${verb} with ${stdin.length} bytes: ${found.join('; ')}`);
        }
      }
    }
    console.log(`fuzz-helper in-process: seed ${seed}, ${figures.inProcessCases} cases; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
    expect(problems, problems.join('\n')).toEqual([]);
    // The generators reach the interesting paths, not only the input errors.
    const seen = (key: string) => outcomes.get(key) ?? 0;
    expect(seen('get:0:json'), 'get hits').toBeGreaterThan(30);
    expect(seen('store:0:empty'), 'successful stores').toBeGreaterThan(30);
    expect(seen('erase:0:empty'), 'successful erases').toBeGreaterThan(200);
    expect(seen('list:0:json'), 'lists').toBeGreaterThan(200);
    expect(seen('get:1:protocol'), 'not found').toBeGreaterThan(200);
    for (const verb of VERBS) expect(seen(`${verb}:1:message:fault`), `${verb} under daemon faults`).toBeGreaterThan(50);
    expect(figures.inProcessFailures).toBe(0);
    expect(figures.inProcessCases).toBeGreaterThanOrEqual(10_000);
  });

  it(`the helper process against a real daemon: ${PROCESS_RUNS} runs of random, invalid and huge stdin, per way it ships`, async () => {
    fresh = freshStore('fuzzh');
    const { home, dataDir, adminToken } = fresh;
    daemon = await startDaemon({ dataDir, logLevel: 'warn' });
    const minted = await call(daemon.unix(), { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name: 'fuzz manager', role: 'manager' } });
    const token = minted.json<{ token: string }>().token;
    for (const host of ['registry.example.com', 'docker.io', 'ghcr.io']) {
      await call(daemon.unix(), { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host, username: 'fuzz', secret: `${SECRET_PREFIX}fixture-${host}` } });
    }
    const env = helperEnv({ url: `unix:${daemon.socketPath}`, token, home });
    const exes = helperExes();
    const seed = suiteSeed();
    const argv = fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...VERBS).map((verb) => [verb]) },
      { weight: 1, arbitrary: fc.constantFrom([], ['get', 'extra'], ['version'], ['nope'], ['--help'], ['store', 'get']) },
    );
    const caseArb = argv.chain((args) => fc.record({ argv: fc.constant(args), stdin: stdinFor(args.length === 1 ? args[0] : undefined) }));
    const cases = fc.sample(caseArb, { numRuns: PROCESS_RUNS - HUGE_RUNS, seed });
    const outcomes = new Map<string, number>();
    const hugeInputs = [
      Buffer.alloc(1024 * 1024 + 17, 0xff),
      Buffer.from('a'.repeat(2 * 1024 * 1024)),
      Buffer.from(JSON.stringify({ ServerURL: 'huge.example.com', Username: 'u', Secret: `${SECRET_PREFIX}${'y'.repeat(1024 * 1024)}` })),
      Buffer.from(`${'['.repeat(600_000)}${']'.repeat(600_000)}`),
      Buffer.concat([Buffer.from('registry.example.com'), Buffer.alloc(1024 * 1024, 0x0a)]),
      Buffer.from(`{"ServerURL":"registry.example.com","Username":"${'u'.repeat(1024 * 1024)}","Secret":"s"}`),
    ];
    for (let i = 0; i < HUGE_RUNS; i++) cases.push({ argv: [VERBS[i % VERBS.length]!], stdin: hugeInputs[i % hugeInputs.length]! });
    const problems: string[] = [];
    const runs = exes.flatMap((exe) => cases.map((one) => ({ ...one, exe })));
    await pool(runs, 3, async ({ argv: args, stdin, exe }) => {
      const run = await runHelperProcess(exe, args, stdin, env, 30_000);
      figures.processRuns++;
      if (stdin.length >= 1024 * 1024) figures.hugeRuns++;
      const stdout = run.stdout.toString('utf8');
      const found: string[] = [];
      const kind = classifyStdout(stdout);
      if ('problem' in kind) found.push(kind.problem);
      if (run.code !== 0 && run.code !== 1) found.push(`exit ${run.code} (signal ${run.signal})`);
      if (run.stderr.length) found.push(`stderr: ${run.stderr.toString().slice(0, 300)}`);
      const verb = args.length === 1 ? args[0] : undefined;
      const outcome = `${verb ?? 'other'}:${run.code}`;
      const byEntry = `${exe.label} ${outcome}`;
      outcomes.set(byEntry, (outcomes.get(byEntry) ?? 0) + 1);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (!('problem' in kind)) {
        if (kind.kind === 'empty' && !(run.code === 0 && (verb === 'store' || verb === 'erase'))) found.push('empty stdout');
        if (kind.kind === 'json' && !(run.code === 0 && (verb === 'get' || verb === 'list'))) found.push('JSON for a failure');
      }
      if (verb !== 'get' && /S3CR3T-/.test(stdout)) found.push('a secret in the output of a verb other than get');
      if (found.length) {
        figures.processFailures++;
        if (problems.length < 10) problems.push(`${exe.label} ${JSON.stringify(args)} stdin ${stdin.length} bytes ${JSON.stringify(stdin.subarray(0, 80).toString('latin1'))}: ${found.join('; ')}`);
      }
    });
    // Then lookups that must succeed, whatever the random store and erase runs did to the fixtures:
    // a host of its own, asked four times by each entry (the random runs alone may hit few fixtures).
    const anchor = 'anchor.fuzz.example';
    await call(daemon.unix(), { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host: anchor, username: 'fuzz', secret: `${SECRET_PREFIX}anchor` } });
    for (const exe of exes) {
      for (let i = 0; i < 4; i++) {
        const run = await runHelperProcess(exe, ['get'], Buffer.from(anchor), env, 30_000);
        expect(run.code, `${exe.label} get ${anchor}: ${run.stdout.toString()}`).toBe(0);
        outcomes.set(`${exe.label} get:0`, (outcomes.get(`${exe.label} get:0`) ?? 0) + 1);
      }
    }
    // The daemon survived all of it.
    const health = await call(daemon.unix(), { method: 'GET', path: '/healthz' });
    console.log(`fuzz-helper processes: seed ${seed}, ${figures.processRuns} runs; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
    // Some runs went all the way to the daemon and succeeded.
    for (const exe of exes) {
      for (const key of ['get:0', 'store:0', 'erase:0', 'list:0', 'get:1', 'store:1']) expect(outcomes.get(`${exe.label} ${key}`) ?? 0, `${exe.label} ${key}`).toBeGreaterThan(3);
    }
    expect(health.status).toBe(200);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(figures.processRuns).toBe(PROCESS_RUNS * exes.length);
    expect(figures.hugeRuns).toBeGreaterThanOrEqual(HUGE_RUNS * exes.length);
  });
});
