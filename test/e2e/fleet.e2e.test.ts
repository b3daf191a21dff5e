/**
 * A fleet: three `scalr-credd serve` processes on one PostgreSQL database, each with its own data dir,
 * its own copy of the root key file and its own loopback port, reached through one haproxy and through
 * the helper's own URL list. Real processes only: the daemons, haproxy, the helper (npm entry and
 * packaged binary) and the admin CLI. Shows that no `get` fails while one daemon is killed and another
 * frozen, that every served lookup is in the one audit chain, that a change made through one daemon
 * reaches the others within 1 s, that the key commands work while all three serve, and that init and
 * serve refuse what they must on a database several processes share.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderForHost } from '../../shared/src/failover.js';
import { NPM_ENTRY, PACKAGED_BINARY, buildHelperEntries, type HelperEntry } from '../support/helper-entries.js';
import { createTestDatabase, requirePostgres, withPgClient, type TestDatabase } from '../support/postgres.js';
import {
  makePrivateDir,
  makeTempDir,
  runCli,
  runProcess,
  startDaemon,
  startProcess,
  type BackgroundProcess,
  type ProcessResult,
  type RunningDaemon,
} from '../support/processes.js';
import { freePort } from '../support/registry.js';
import { requireTool } from '../support/tools.js';

const HOST = 'registry.fleet.example';
const USERNAME = 'fleet-bot';
const SECRET = 'fleet-registry-password';
const GETS = 300;
const CONCURRENT_GETS = 4;
const FREEZE_MS = 5_000;
/**
 * At most this many lookups were committed for an answer nobody received: each concurrent helper may
 * leave one request with the killed daemon, and one per second of the freeze with the frozen one.
 */
const UNANSWERED_BOUND = CONCURRENT_GETS * (FREEZE_MS / 1_000 + 2);
/** The bound the product promises for a revoke or a changed secret to reach every daemon. */
const PROPAGATION_MS = 1_000;

const describeRun = (result: ProcessResult) => `exit ${result.code ?? result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One daemon of the fleet: its own dir (data dir and root key copy) and a fixed port, so that it can be restarted in place. */
interface Member {
  readonly name: string;
  readonly dir: string;
  readonly keyFile: string;
  readonly port: number;
  readonly url: string;
  process: RunningDaemon;
}

/** A runner token minted for one part of the suite. */
interface Runner {
  readonly id: string;
  readonly token: string;
}

describe.skipIf(!requirePostgres() || !requireTool('haproxy'))('three scalr-credd daemons on one PostgreSQL database', () => {
  let db: TestDatabase;
  let storeUrl: string;
  let adminToken: string;
  let integrationId: string;
  let members: Member[] = [];
  let haproxy: BackgroundProcess | undefined;
  let proxyUrl: string;

  const serve = (member: Pick<Member, 'dir' | 'keyFile' | 'port'>) =>
    startDaemon({
      dataDir: join(member.dir, 'data'),
      listen: [`127.0.0.1:${member.port}`],
      args: ['--store', storeUrl, '--root-key-file', member.keyFile],
    });

  /** The admin CLI against one daemon. */
  const admin = (member: Member, args: string[], stdin?: string) =>
    runCli([...args, '--url', member.url], { env: { SCALR_CREDD_TOKEN: adminToken }, ...(stdin === undefined ? {} : { stdin }) });

  const mintRunner = async (name: string): Promise<Runner> => {
    const minted = await admin(members[0]!, ['token', 'create', '--name', name, '--role', 'runner', '--ttl', '1h', '--json']);
    expect(minted.code, describeRun(minted)).toBe(0);
    return JSON.parse(minted.stdout) as Runner;
  };

  /** `docker-credential-scalr get` for `host`, asking SCALR_CREDD_URL=`urls`. */
  const get = (entry: HelperEntry, urls: string, runner: Runner, host = HOST) =>
    runProcess(entry.command, [...entry.args, 'get'], {
      env: { SCALR_CREDD_URL: urls, SCALR_CREDD_TOKEN: runner.token },
      stdin: `${host}\n`,
      timeoutMs: 15_000,
    });

  const served = (result: ProcessResult, host: string, username: string, secret: string) =>
    result.code === 0 && result.stderr === '' && result.stdout === `${JSON.stringify({ ServerURL: host, Username: username, Secret: secret })}\n`;

  const expectServed = (result: ProcessResult, host = HOST, username = USERNAME, secret = SECRET) =>
    expect(served(result, host, username, secret), describeRun(result)).toBe(true);

  /**
   * Runs GETS helper `get`s, CONCURRENT_GETS at a time (every fourth with the packaged binary), calling
   * each of `faults` when the get of its index starts. Returns the failed runs.
   */
  const getsUnderFaults = async (urls: string, runner: Runner, faults: ReadonlyMap<number, () => void>): Promise<ProcessResult[]> => {
    const failed: ProcessResult[] = [];
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < GETS; index = next++) {
        faults.get(index)?.();
        const result = await get(index % 4 === 3 ? PACKAGED_BINARY : NPM_ENTRY, urls, runner);
        if (!served(result, HOST, USERNAME, SECRET)) failed.push(result);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_GETS }, worker));
    return failed;
  };

  /** SIGSTOP now, SIGCONT after FREEZE_MS; the promise resolves once it runs again. */
  let thawing: Promise<void> | undefined;
  const freeze = (member: Member) => {
    process.kill(member.process.pid, 'SIGSTOP');
    thawing = sleep(FREEZE_MS).then(() => void process.kill(member.process.pid, 'SIGCONT'));
  };

  /** Puts a killed daemon back on its port (haproxy's health check brings it back into rotation). */
  const restart = async (member: Member) => {
    member.process = await serve(member);
  };

  /** The `credential.get` rows of one token, by outcome, read over the API through `member`. */
  const lookupRows = async (member: Member, runner: Runner): Promise<Record<string, number>> => {
    const listed = await admin(member, ['audit', 'list', '--token', runner.id, '--action', 'credential.get', '--limit', '10000', '--json']);
    expect(listed.code, describeRun(listed)).toBe(0);
    const counts: Record<string, number> = {};
    for (const event of (JSON.parse(listed.stdout) as { events: Array<{ outcome: string }> }).events) {
      counts[event.outcome] = (counts[event.outcome] ?? 0) + 1;
    }
    return counts;
  };

  const expectAuditChainIntact = async () => {
    const verified = await runCli(['audit', 'verify', '--store', storeUrl, '--json']);
    expect(verified.code, describeRun(verified)).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
  };

  /**
   * Polls `get` against one daemon until `done(result)`; returns how long after `since` the first
   * such answer had arrived, and how many answers came before it.
   */
  const pollUntil = async (poll: () => Promise<ProcessResult>, done: (result: ProcessResult) => boolean, since: number) => {
    for (let before = 0; ; before++) {
      const result = await poll();
      const elapsed = performance.now() - since;
      if (done(result)) return { result, elapsed, before };
      if (elapsed > 5 * PROPAGATION_MS) throw new Error(`still the old answer ${Math.round(elapsed)} ms later:\n${describeRun(result)}`);
    }
  };

  beforeAll(async () => {
    buildHelperEntries();
    db = await createTestDatabase('fleet');
    storeUrl = db.url;

    // init once, on the first host; then the root key file is copied to every daemon's own dir.
    const setupDir = makeTempDir('scalr-fleet-init-');
    const rootKey = join(setupDir, 'root.key');
    const init = await runCli(['init', '--store', storeUrl, '--data-dir', join(setupDir, 'data'), '--root-key-file', rootKey, '--print-token', '--json']);
    expect(init.code, describeRun(init)).toBe(0);
    adminToken = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;

    const ports = await Promise.all([1, 2, 3].map(() => freePort()));
    const planned = ports.map((port, index) => {
      const dir = makeTempDir(`scalr-fleet-${index + 1}-`);
      const keyFile = join(dir, 'root.key');
      copyFileSync(rootKey, keyFile);
      return { name: `daemon ${index + 1}`, dir, keyFile, port, url: `http://127.0.0.1:${port}` };
    });
    const started = await Promise.all(planned.map(serve));
    members = planned.map((member, index) => ({ ...member, process: started[index]! }));

    const added = await admin(members[0]!, ['integration', 'add', '--host', HOST, '--username', USERNAME, '--json'], SECRET);
    expect(added.code, describeRun(added)).toBe(0);
    integrationId = (JSON.parse(added.stdout) as { id: string }).id;

    const proxyPort = await freePort();
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const config = join(makeTempDir('scalr-fleet-haproxy-'), 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(proxyPort, members));
    haproxy = startProcess('haproxy', ['-f', config, '-db']);
    // Ready once it answers for the fleet (servers start as up; the checks take over from there).
    for (let attempt = 0; ; attempt++) {
      const ready = await fetch(`${proxyUrl}/readyz`).then((response) => response.status, () => 0);
      if (ready === 200) break;
      if (attempt > 100) throw new Error(`haproxy did not answer /readyz with 200:\n${haproxy.output()}`);
      await sleep(50);
    }
  }, 180_000);

  afterAll(async () => {
    await thawing;
    await haproxy?.kill();
    await Promise.all(members.map((member) => member.process.stop()));
    await db?.drop();
  });

  /**
   * GETS gets asking `urls`, `killed` SIGKILLed after a third and `frozen` stopped for FREEZE_MS after
   * two thirds: none fails, the chain verifies, and every served lookup has its `credential.get` row.
   */
  const servesThroughKillAndFreeze = async (label: string, urls: string, killed: Member, frozen: Member) => {
    const runner = await mintRunner(`fleet-${label}`);
    const faults = new Map([
      [Math.floor(GETS / 3), () => void killed.process.kill()],
      [Math.floor((2 * GETS) / 3), () => freeze(frozen)],
    ]);

    const failed = await getsUnderFaults(urls, runner, faults);
    await thawing;
    expect(await killed.process.exited).toBeNull();
    await restart(killed);

    expect(failed.map(describeRun)).toEqual([]);
    await expectAuditChainIntact();
    // Every served lookup committed its row before its answer left. A daemon killed or frozen with a
    // request in hand may have committed a row for an answer nobody received (the request was retried
    // elsewhere), so there may be a few more rows than gets, never fewer.
    const rows = await lookupRows(members[2]!, runner);
    console.info(`${label}: ${GETS} gets, ${failed.length} failed; credential.get rows ${JSON.stringify(rows)}`);
    expect(Object.keys(rows)).toEqual(['ok']);
    expect(rows['ok']).toBeGreaterThanOrEqual(GETS);
    expect(rows['ok']).toBeLessThanOrEqual(GETS + UNANSWERED_BOUND);

    // The frozen daemon serves on once it runs again (the server may have ended a session it left in a transaction).
    const after = await get(NPM_ENTRY, frozen.url, runner);
    expect(served(after, HOST, USERNAME, SECRET), `${describeRun(after)}\ndaemon log:\n${frozen.process.logs().stderr.slice(-3000)}`).toBe(true);
  };

  it(`serves ${GETS} gets through haproxy while one daemon is killed and another frozen for 5 s, each lookup in the audit chain`, async () => {
    await servesThroughKillAndFreeze('haproxy', proxyUrl, members[0]!, members[1]!);
  }, 120_000);

  it(`serves ${GETS} gets from the helper given the three URLs while the daemon it asks first is killed and the next frozen for 5 s`, async () => {
    const urls = members.map((member) => member.url);
    const [killed, frozen] = orderForHost(urls, hostname()).map((url) => members.find((member) => member.url === url)!);
    await servesThroughKillAndFreeze('url-list', urls.join(','), killed!, frozen!);
  }, 120_000);

  it('refuses a token revoked through daemon 1 on daemon 2 within 1 s, though daemon 2 had just served it', async () => {
    const runner = await mintRunner('fleet-revoked');
    const [first, second] = [members[0]!, members[1]!];
    // Daemon 2 serves the token (its cache holds the token row now), right up to the revoke.
    for (let warm = 0; warm < 3; warm++) expectServed(await get(NPM_ENTRY, second.url, runner));

    const revoked = await admin(first, ['token', 'revoke', runner.id]);
    const revokedAt = performance.now();
    expect(revoked.code, describeRun(revoked)).toBe(0);

    const { result, elapsed, before } = await pollUntil(() => get(NPM_ENTRY, second.url, runner), (answer) => answer.code !== 0, revokedAt);
    console.info(`revoke through ${first.name}: refused by ${second.name} ${Math.round(elapsed)} ms after the revoke returned (${before} gets served before)`);
    expect(elapsed).toBeLessThanOrEqual(PROPAGATION_MS);
    expect(result.stdout).toMatch(/^docker-credential-scalr: .*token.*\n$/);
    expect(result.stdout).not.toContain(SECRET);
    expect(result.stdout).not.toContain('not found');
    // And it stays refused.
    expect((await get(NPM_ENTRY, second.url, runner)).code).toBe(1);
  });

  it('serves a secret changed through daemon 1 from daemon 3 within 1 s', async () => {
    const runner = await mintRunner('fleet-rotated-secret');
    const [first, third] = [members[0]!, members[2]!];
    const newSecret = 'fleet-registry-password-rotated';
    expectServed(await get(NPM_ENTRY, third.url, runner));

    const updated = await admin(first, ['integration', 'update', integrationId, '--secret-stdin'], newSecret);
    const updatedAt = performance.now();
    expect(updated.code, describeRun(updated)).toBe(0);

    const { elapsed, before } = await pollUntil(
      () => get(NPM_ENTRY, third.url, runner),
      (answer) => served(answer, HOST, USERNAME, newSecret),
      updatedAt,
    );
    console.info(`secret changed through ${first.name}: served by ${third.name} ${Math.round(elapsed)} ms after the update returned (${before} old answers before)`);
    expect(elapsed).toBeLessThanOrEqual(PROPAGATION_MS);

    const restored = await admin(first, ['integration', 'update', integrationId, '--secret-stdin'], SECRET);
    expect(restored.code, describeRun(restored)).toBe(0);
  });

  it('rotate while the three serve: a credential stored through daemon 2 under the new term is served by daemons 1 and 3', async () => {
    const runner = await mintRunner('fleet-rotate');
    const termBefore = await activeTerm();
    const rotated = await runCli(['rotate', '--store', storeUrl, '--root-key-file', members[0]!.keyFile]);
    expect(rotated.code, describeRun(rotated)).toBe(0);
    expect(await activeTerm()).toBe(termBefore + 1);

    const host = 'rotated.fleet.example';
    const added = await admin(members[1]!, ['integration', 'add', '--host', host, '--username', 'rotated-bot'], 'rotated-secret');
    expect(added.code, describeRun(added)).toBe(0);
    expect(await termOf(host)).toBe(termBefore + 1);

    for (const member of [members[0]!, members[2]!]) {
      expectServed(await get(NPM_ENTRY, member.url, runner, host), host, 'rotated-bot', 'rotated-secret');
      expectServed(await get(PACKAGED_BINARY, member.url, runner));
    }
  });

  it('rekey with the new key staged beside every daemon’s root key file: all keep serving, and a restarted daemon starts', async () => {
    const runner = await mintRunner('fleet-rekey');
    // The operator makes the new key once and copies it to every host as `<root key>.new` (0600).
    const newKey = join(makePrivateDir(join(makeTempDir('scalr-fleet-newkey-'), 'keys')), 'new.key');
    writeFileSync(newKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    for (const member of members) copyFileSync(newKey, `${member.keyFile}.new`);

    // …then runs rekey once, on the first host, with the staged file.
    const rekeyed = await runCli(['rekey', '--store', storeUrl, '--root-key-file', members[0]!.keyFile, '--new-key-file', `${members[0]!.keyFile}.new`]);
    expect(rekeyed.code, describeRun(rekeyed)).toBe(0);
    expect(readFileSync(members[0]!.keyFile, 'utf8')).toBe(readFileSync(newKey, 'utf8'));
    expect(existsSync(`${members[0]!.keyFile}.new`)).toBe(false);

    // Every daemon follows, the two others with their staged copy; a credential stored through one is served by all.
    const host = 'rekeyed.fleet.example';
    const added = await admin(members[2]!, ['integration', 'add', '--host', host, '--username', 'rekeyed-bot'], 'rekeyed-secret');
    expect(added.code, describeRun(added)).toBe(0);
    for (const member of members) {
      expectServed(await get(NPM_ENTRY, member.url, runner, host), host, 'rekeyed-bot', 'rekeyed-secret');
      expectServed(await get(NPM_ENTRY, member.url, runner));
    }

    // A daemon restarted later finishes its host's part: the staged key replaces its root key file.
    const second = members[1]!;
    expect(await second.process.stop()).toBe(0);
    await restart(second);
    expect(readFileSync(second.keyFile, 'utf8')).toBe(readFileSync(newKey, 'utf8'));
    expect(existsSync(`${second.keyFile}.new`)).toBe(false);
    expectServed(await get(PACKAGED_BINARY, second.url, runner, host), host, 'rekeyed-bot', 'rekeyed-secret');

    const verified = await runCli(['verify', '--store', storeUrl, '--root-key-file', second.keyFile]);
    expect(verified.code, describeRun(verified)).toBe(0);
    await expectAuditChainIntact();
  });

  /** The highest data-key term of the store. */
  const activeTerm = () => withPgClient(storeUrl, async (client) => Number((await client.query('SELECT max(term) AS term FROM keyring')).rows[0].term));
  /** The term an integration's secret is sealed under. */
  const termOf = (host: string) =>
    withPgClient(storeUrl, async (client) => Number((await client.query('SELECT term FROM integrations WHERE host = $1', [host])).rows[0].term));
});

describe.skipIf(!requirePostgres())('init and serve on a PostgreSQL database', () => {
  const databases: TestDatabase[] = [];
  afterAll(() => Promise.all(databases.map((db) => db.drop())));
  const freshDatabase = async () => {
    const db = await createTestDatabase('fleet_init');
    databases.push(db);
    return db;
  };

  it('of two inits at once exactly one creates the store; the other refuses, saying it is initialised', async () => {
    const db = await freshDatabase();
    const init = (name: string) => {
      const dir = makeTempDir(`scalr-fleet-${name}-`);
      return runCli(['init', '--store', db.url, '--data-dir', join(dir, 'data'), '--root-key-file', join(dir, 'root.key')]);
    };

    const results = await Promise.all([init('a'), init('b')]);

    const codes = results.map((result) => result.code).sort();
    expect(codes, results.map(describeRun).join('\n')).toEqual([0, 1]);
    const refused = results.find((result) => result.code === 1)!;
    expect(refused.stdout + refused.stderr).toMatch(/already initiali[sz]ed/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('serve refuses a database without the schema and names the command that creates it', async () => {
    const db = await freshDatabase();
    const dir = makeTempDir('scalr-fleet-uninitialised-');
    const keyFile = join(dir, 'root.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });

    const result = await runCli(['serve', '--store', db.url, '--data-dir', join(dir, 'data'), '--root-key-file', keyFile, '--listen', '127.0.0.1:0'], {
      timeoutMs: 30_000,
    });

    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stdout).not.toMatch(/listening on/);
    expect(result.stderr).toContain(`scalr-credd init --store`);
  });
});

/** haproxy in front of the fleet: health checks on /readyz, a short server timeout, and retries elsewhere on every failure worth it. */
function haproxyConfig(port: number, members: readonly Member[]): string {
  return [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode http',
    '  timeout connect 300ms',
    '  timeout client 10s',
    '  timeout server 600ms',
    '  timeout check 300ms',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response response-timeout 503',
    'frontend fleet',
    `  bind 127.0.0.1:${port}`,
    '  default_backend daemons',
    'backend daemons',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  default-server inter 100ms fall 2 rise 2',
    ...members.map((member) => `  server ${member.name.replace(' ', '')} 127.0.0.1:${member.port} check`),
    '',
  ].join('\n');
}
