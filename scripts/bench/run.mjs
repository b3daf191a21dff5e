#!/usr/bin/env node
// `npm run bench`: performance of docker-credential-scalr and scalr-credd on this machine, each figure
// next to a baseline measured in the same run. See docs/performance.md for what is measured and why.
//
//   1. helper  — `get` as a cold process (packaged binary; node_modules/.bin entry on this Node) against a
//                real daemon on a Unix socket and on TCP (and https, when the daemon's serve offers TLS);
//                baseline `node -e 0` of this machine's Node. Runs interleaved.
//   2. load    — lookups per second and latency, 32 connections (autocannon); baseline: a bare node:http
//                server answering the same JSON (scripts/bench/baseline-server.mjs). Slices of every
//                target interleave; an express-only server (scripts/bench/express-floor.mjs) is shown for reference.
//   3. scale   — a daemon with 10,000 integrations and 10,000 tokens: list latency, lookup latency against
//                the 10-integration daemon, resident memory after the load.
//   4. fanout  — 32 helper processes at once (as `docker compose pull` starts them) vs 32 × `node -e 0`.
//   5. fleet   — lookups on PostgreSQL (a throwaway durable cluster, scripts/lib/pg-cluster.mjs): one daemon
//                against three on the same database, the 32 connections split between them, and the SQLite
//                daemon under the same load; CPU per lookup of the daemons and of the PostgreSQL server.
//                Skipped with a note when PostgreSQL is not installed.
//   6. previous — the SQLite daemon against the same daemon built from the tree before the asynchronous
//                store (--previous REF, default e70e05b; git archive into .cache/bench/previous, this tree's
//                node_modules hard-linked, tsc -b), slices interleaved.
//
// Options: --quick (3 s of load per target instead of 10 s, fewer rounds),
// --only helper,fanout,load,scale,fleet,previous, --previous REF,
// --runs N (helper runs per command, default 60; at least 40), --skip-binary, --no-build, --out FILE,
// --node-sea (also time the helper as a Node 24 single executable, `build-binary --runtime node`, built
// under .cache/bench/node-sea: the packaged binary before it moved to Bun).
// The daemons run with SCALR_CREDD_LOG_LEVEL=warn, so per-request log lines are not part of the figures.
// Exit status: 0 when the bench ran, whether or not every target was met (the report says which were
// not); 1 when it could not run.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, expectStatus } from './lib/http.mjs';
import { mergeSlices, runSlice } from './lib/load.mjs';
import { benchHost, lookupHost } from './lib/names.mjs';
import { cpuTimeMs, killAll, memoryMiB, processTreeCpuTimeMs, runSync, startServer, timeProcess } from './lib/procs.mjs';
import { ratio, round, roundSummary, summarize } from './lib/stats.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const SECTIONS = ['helper', 'fanout', 'load', 'scale', 'fleet', 'previous'];
/** The last commit before the store became asynchronous: the `previous` section's default. */
const PREVIOUS_REF = 'e70e05b';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string' },
    'skip-binary': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'node-sea': { type: 'boolean', default: false },
    out: { type: 'string' },
    previous: { type: 'string', default: PREVIOUS_REF },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (opts.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
const only = opts.only ? opts.only.split(',').map((name) => name.trim()) : SECTIONS;
for (const name of only) if (!SECTIONS.includes(name)) fail(`--only: unknown section ${name} (use ${SECTIONS.join(', ')})`);

const config = {
  quick: opts.quick,
  helperRuns: Math.max(40, Number(opts.runs ?? 60)),
  helperWarmup: 5,
  connections: 32,
  loadSeconds: opts.quick ? 3 : 10,
  loadSlices: opts.quick ? 3 : 5,
  loadWarmupSeconds: 1,
  fanoutProcesses: 32,
  fanoutRounds: opts.quick ? 4 : 7,
  listRuns: opts.quick ? 20 : 40,
  listWarmup: 3,
  sequentialBlocks: opts.quick ? 6 : 10,
  sequentialPerBlock: 100,
  smallIntegrations: 10,
  scaleIntegrations: 10_000,
  scaleTokens: 10_000,
  fleetDaemons: 3,
};

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

const log = (message) => process.stderr.write(`${message}\n`);
const ms = (value) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const x = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '-');

// ---------------------------------------------------------------------------------------------------
// Builds: the daemon and the helper bundle from the current sources; the binary when it is missing or
// does not contain the current bundle.

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

async function prepareBuild(notes) {
  if (!opts['no-build']) {
    log('build: tsc -b, helper bundle');
    const tsc = runSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root });
    if (tsc.status !== 0) {
      notes.push('tsc -b failed; the bench used the existing daemon/dist');
      log(`warning: tsc -b failed; using the existing build\n${tsc.stdout}${tsc.stderr}`);
    }
    const { bundleHelper } = await import('../bundle-helper.mjs');
    await bundleHelper();
  }
  const bundle = join(root, 'helper/dist/docker-credential-scalr.cjs');
  if (!existsSync(join(root, 'daemon/dist/main.js')) || !existsSync(bundle)) fail('daemon/dist or the helper bundle is missing: run `npm run build`');

  const binary = { path: undefined, runtime: undefined };
  if (opts['skip-binary']) return (notes.push('--skip-binary: the packaged binary was not measured'), binary);
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    notes.push(`no packaged binary for ${process.platform}-${process.arch}`);
    return binary;
  }
  const { STAMP_DIR, binaryStamp } = await import('../build-binary.mjs');
  const path = join(root, `dist/docker-credential-scalr-linux-${process.arch}`);
  const stamp = join(STAMP_DIR, `linux-${process.arch}`);
  const current = () => existsSync(path) && existsSync(stamp) && readFileSync(stamp, 'utf8') === binaryStamp('bun');
  if (!current()) {
    if (opts['no-build']) {
      notes.push('--no-build and the binary is missing or not built from the current bundle: not measured');
      return binary;
    }
    log(`build: ${relative(root, path)} is missing or not built from the current bundle; running build-binary --arch ${process.arch}`);
    const built = runSync(process.execPath, [join(root, 'scripts/build-binary.mjs'), '--arch', process.arch], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0 || !current()) {
      notes.push('build-binary failed: the packaged binary was not measured');
      return binary;
    }
  }
  const version = /version: '([0-9.]+)'/.exec(readFileSync(join(root, 'scripts/build-binary.mjs'), 'utf8'))?.[1];
  let nodeSea;
  if (opts['node-sea']) {
    const dir = join(root, '.cache/bench/node-sea');
    log('build: the Node single executable for comparison (build-binary --runtime node, .cache/bench/node-sea)');
    const built = runSync(process.execPath, [join(root, 'scripts/build-binary.mjs'), '--arch', process.arch, '--runtime', 'node', '--out-dir', dir], { cwd: root, stdio: 'inherit' });
    if (built.status === 0) nodeSea = join(dir, `docker-credential-scalr-linux-${process.arch}`);
    else notes.push('build-binary --runtime node failed: the Node single executable was not measured');
  }
  return { path, runtime: `Bun ${version ?? '?'}`, nodeSea };
}

/**
 * Whether this daemon's serve accepts `--listen https://…` with `--tls-cert`/`--tls-key`; if so, a
 * self-signed certificate for 127.0.0.1 (also the helper's SCALR_CREDD_CA_FILE) and the serve arguments.
 */
function httpsListen(work, home, notes) {
  const help = runSync(process.execPath, [join(root, 'daemon/bin/scalr-credd.js'), 'serve', '--help'], { cwd: root, env: cleanEnv(home) });
  if (!`${help.stdout}${help.stderr}`.includes('--tls-cert')) {
    const note = "https get: skipped, this daemon's serve does not accept https:// (no --tls-cert) yet";
    notes.push(note);
    log(note);
    return undefined;
  }
  const dir = makePrivateDir(join(work, 'tls'));
  const cert = join(dir, 'daemon.pem');
  const key = join(dir, 'daemon.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { caFile: cert, args: ['--listen', 'https://127.0.0.1:0', '--tls-cert', cert, '--tls-key', key] };
}

// ---------------------------------------------------------------------------------------------------
// Servers.

function makePrivateDir(path) {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

function cleanEnv(home, extra = {}) {
  const env = { HOME: home, TMPDIR: tmpdir() };
  for (const name of ['PATH', 'LANG', 'LC_ALL', 'TZ']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

async function startDaemon(name, dataDir, home, extraArgs = [], tree = root) {
  // Started through its bin, as `npx scalr-credd serve` and the systemd unit start it, so the node
  // flags on the bin's #! line apply.
  const server = await startServer(
    join(tree, 'daemon/bin/scalr-credd.js'),
    ['serve', '--data-dir', dataDir, '--listen', `unix:${join(dataDir, 'credd.sock')}`, '--listen', '127.0.0.1:0', ...extraArgs],
    { env: cleanEnv(home, { SCALR_CREDD_LOG_LEVEL: 'warn' }), cwd: tree, ready: /listening on (.+)$/m },
  );
  const urls = server.match[1].split(', ').map((url) => url.trim());
  return {
    name,
    ...server,
    memoryAtStart: memoryMiB(server.pid),
    tcpUrl: urls.find((url) => url.startsWith('http://')),
    httpsUrl: urls.find((url) => url.startsWith('https://')),
    socketUrl: urls.find((url) => url.startsWith('unix:')),
    adminToken: firstAdminToken(dataDir),
  };
}

/** The admin token a first `serve` wrote to the data dir (0600), if it created the store. */
function firstAdminToken(dataDir) {
  const file = join(dataDir, 'initial-admin.token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/**
 * A 10-integration SQLite daemon: a first `serve` creates the store and writes the admin token; the rest
 * goes through the API. `tree` is the source tree whose daemon runs (the previous tree's, in `previous`).
 */
async function startSmallDaemon(work, home, { https, dir = 'small', name = 'daemon (10 integrations)', tree = root } = {}) {
  const daemon = await startDaemon(name, join(work, dir), home, https?.args ?? [], tree);
  daemon.caFile = https?.caFile;
  if (!daemon.adminToken) throw new Error('the first serve wrote no admin token file');
  await seedThroughApi(daemon);
  return daemon;
}

/** Adds the 10 bench integrations and a runner token through `daemon`'s API (its `adminToken`). */
async function seedThroughApi(daemon) {
  const client = createClient(daemon.tcpUrl);
  try {
    for (let i = 0; i < config.smallIntegrations; i++) {
      const body = { host: benchHost(i, config.smallIntegrations), username: 'bench-user', secret: `bench-secret-${i}-${'x'.repeat(32)}` };
      await expectStatus(client, 201, 'POST', '/v1/integrations', { token: daemon.adminToken, body });
    }
    const created = await expectStatus(client, 201, 'POST', '/v1/tokens', { token: daemon.adminToken, body: { name: 'bench runner', role: 'runner' } });
    daemon.runnerToken = created.token;
  } finally {
    client.close();
  }
  daemon.lookupHost = lookupHost(config.smallIntegrations);
  daemon.integrations = config.smallIntegrations;
}

/**
 * The fleet: a throwaway PostgreSQL cluster with its production durability (fsync and
 * synchronous_commit on), a store created by `scalr-credd init --store`, and `config.fleetDaemons`
 * daemons serving it with one root key file; the 10 integrations go in through the first daemon's API.
 * Returns { cluster, daemons } or, when PostgreSQL is not installed, undefined (with a note).
 * The caller stops the daemons and the cluster, also when this throws half-way (`started`).
 */
async function startFleet(work, home, notes, started) {
  const { startPgCluster } = await import('../lib/pg-cluster.mjs');
  let cluster;
  try {
    cluster = await startPgCluster({ durable: true });
  } catch (error) {
    const note = `fleet: skipped, no PostgreSQL cluster could start (${String(error.message).split('\n', 1)[0]})`;
    notes.push(note);
    log(note);
    return undefined;
  }
  started.cluster = cluster;
  const fleetDir = makePrivateDir(join(work, 'fleet'));
  const rootKeyFile = join(fleetDir, 'root.key');
  const store = ['--store', cluster.url, '--root-key-file', rootKeyFile];
  const init = runSync(process.execPath, [join(root, 'daemon/bin/scalr-credd.js'), 'init', ...store, '--data-dir', join(fleetDir, 'init'), '--print-token', '--json'], {
    cwd: root,
    env: cleanEnv(home),
    timeout: 60_000,
  });
  if (init.status !== 0) throw new Error(`scalr-credd init --store failed:\n${init.stdout}${init.stderr}`);
  const { adminToken } = JSON.parse(init.stdout.trim().split('\n').at(-1));
  for (let i = 1; i <= config.fleetDaemons; i++) {
    const dataDir = makePrivateDir(join(fleetDir, `daemon-${i}`));
    started.daemons.push(await startDaemon(`PostgreSQL daemon ${i}`, dataDir, home, store));
  }
  const [first, ...others] = started.daemons;
  first.adminToken = adminToken;
  await seedThroughApi(first);
  for (const daemon of others) Object.assign(daemon, { runnerToken: first.runnerToken, lookupHost: first.lookupHost, integrations: first.integrations });
  return { cluster, daemons: started.daemons };
}

/**
 * The tree of `ref` under .cache/bench/previous, built: `git archive` of the commit, this tree's
 * node_modules hard-linked into it (the dependencies the previous tree needs are the same, pg aside),
 * then `tsc -b`. Reused while its stamp names the same commit. Returns { dir, commit }.
 */
function preparePreviousTree(ref) {
  const commit = runSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root }).stdout.trim();
  if (!commit) throw new Error(`--previous ${ref}: no such commit in this repository`);
  const dir = join(root, '.cache/bench/previous');
  const stamp = join(dir, '.bench-commit');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === commit && existsSync(join(dir, 'daemon/dist/main.js'))) return { dir, commit };
  log(`build: the tree of ${ref} (${commit.slice(0, 12)}) into ${relative(root, dir)}: git archive, node_modules hard-linked, tsc -b`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const steps = [
    ['sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'archive', commit, dir], root],
    ['cp', ['-al', join(root, 'node_modules'), join(dir, 'node_modules')], root],
    [process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-b'], dir],
  ];
  for (const [command, args, cwd] of steps) {
    const result = runSync(command, args, { cwd });
    if (result.status !== 0) throw new Error(`building the previous tree: ${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  }
  writeFileSync(stamp, commit);
  return { dir, commit };
}

/** The 10,000-integration daemon: the store is seeded with the daemon's modules, then served. */
async function startLargeDaemon(work, home) {
  const dataDir = join(work, 'large');
  const seeded = runSync(
    process.execPath,
    [join(root, 'scripts/bench/seed-store.mjs'), '--data-dir', dataDir, '--integrations', String(config.scaleIntegrations), '--tokens', String(config.scaleTokens)],
    { cwd: root, env: cleanEnv(home), timeout: 120_000 },
  );
  if (seeded.status !== 0) throw new Error(`seeding failed:\n${seeded.stdout}${seeded.stderr}`);
  const seed = JSON.parse(seeded.stdout.trim().split('\n').at(-1));
  const daemon = await startDaemon(`daemon (${config.scaleIntegrations.toLocaleString('en')} integrations)`, dataDir, home);
  return { ...daemon, adminToken: seed.adminToken, runnerToken: seed.runnerToken, lookupHost: seed.lookupHost, integrations: seed.integrations, seedMs: seed.ms };
}

function expectedSecret(daemon) {
  const index = Number(/registry-(\d+)\./.exec(daemon.lookupHost)[1]);
  return `bench-secret-${index}-${'x'.repeat(32)}`;
}

// ---------------------------------------------------------------------------------------------------
// 1. Helper `get`, cold process.

function helperEnv(home, daemon, url) {
  const tls = url.startsWith('https:') ? { SCALR_CREDD_CA_FILE: daemon.caFile } : {};
  return cleanEnv(home, { SCALR_CREDD_URL: url, SCALR_CREDD_TOKEN: daemon.runnerToken, ...tls });
}

function checkHelperAnswer(result, daemon) {
  if (result.code !== 0) return `exit ${result.code ?? result.signal}: ${result.stdout.trim().slice(0, 200)}`;
  try {
    const answer = JSON.parse(result.stdout);
    if (answer.Secret !== expectedSecret(daemon) || answer.Username !== 'bench-user') return 'wrong credential in the answer';
  } catch {
    return `not JSON: ${result.stdout.slice(0, 200)}`;
  }
  return undefined;
}

async function benchHelper({ binary, nodeOnPath, small, home }) {
  const bin = join(root, 'node_modules/.bin/docker-credential-scalr');
  const stdin = `${small.lookupHost}\n`;
  const commands = [{ id: 'node-e0', label: `node -e 0 (Node ${process.versions.node})`, command: nodeOnPath, args: ['-e', '0'], env: cleanEnv(home) }];
  if (binary.path) {
    commands.push(
      { id: 'binary-unix', label: 'binary get, Unix socket', command: binary.path, args: ['get'], env: helperEnv(home, small, small.socketUrl), baseline: 'node-e0', check: true, target: true },
      { id: 'binary-tcp', label: 'binary get, TCP', command: binary.path, args: ['get'], env: helperEnv(home, small, small.tcpUrl), baseline: 'node-e0', check: true, target: true },
    );
    if (binary.nodeSea) {
      commands.push(
        { id: 'sea-unix', label: 'Node SEA get, Unix socket', command: binary.nodeSea, args: ['get'], env: helperEnv(home, small, small.socketUrl), baseline: 'node-e0', check: true },
        { id: 'sea-tcp', label: 'Node SEA get, TCP', command: binary.nodeSea, args: ['get'], env: helperEnv(home, small, small.tcpUrl), baseline: 'node-e0', check: true },
      );
    }
    if (small.httpsUrl) {
      commands.push({ id: 'binary-https', label: 'binary get, https', command: binary.path, args: ['get'], env: helperEnv(home, small, small.httpsUrl), baseline: 'binary-tcp', check: true });
    }
  }
  commands.push(
    { id: 'script-unix', label: '.bin entry get, Unix socket', command: bin, args: ['get'], env: helperEnv(home, small, small.socketUrl), baseline: 'node-e0', check: true },
    { id: 'script-tcp', label: '.bin entry get, TCP', command: bin, args: ['get'], env: helperEnv(home, small, small.tcpUrl), baseline: 'node-e0', check: true },
  );

  const times = new Map(commands.map((command) => [command.id, []]));
  const failures = new Map(commands.map((command) => [command.id, []]));
  const rounds = config.helperWarmup + config.helperRuns;
  log(`helper: ${commands.length} commands × ${config.helperRuns} runs (+${config.helperWarmup} warm-up), interleaved`);
  for (let round = 0; round < rounds; round++) {
    // A, B, C, … then …, C, B, A: each command sits next to its baseline in both directions.
    const order = round % 2 === 0 ? commands : [...commands].reverse();
    for (const command of order) {
      const result = await timeProcess(command.command, command.args, { env: command.env, stdin, timeoutMs: 30_000 });
      const problem = command.check ? checkHelperAnswer(result, small) : result.code === 0 ? undefined : `exit ${result.code}`;
      if (problem) failures.get(command.id).push(problem);
      else if (round >= config.helperWarmup) times.get(command.id).push(result.ms);
    }
  }

  const rows = commands.map((command) => ({ ...command, stats: summarize(times.get(command.id)), failures: failures.get(command.id) }));
  for (const row of rows) {
    const base = row.baseline && rows.find((candidate) => candidate.id === row.baseline);
    row.ratioMedian = base ? ratio(row.stats.median, base.stats.median) : undefined;
    row.ratioP95 = base ? ratio(row.stats.p95, base.stats.p95) : undefined;
  }
  return { runs: config.helperRuns, warmup: config.helperWarmup, rows };
}

// ---------------------------------------------------------------------------------------------------
// 4. Fan-out: N helper processes at once.

async function fanoutRound(command, args, env, stdin, count, check) {
  const started = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: count }, () => timeProcess(command, args, { env, stdin, timeoutMs: 60_000 })));
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  const failed = results.map(check).filter((problem) => problem !== undefined);
  return { wall, failed, slowest: Math.max(...results.map((result) => result.ms)) };
}

async function benchFanout({ binary, nodeOnPath, small, home }) {
  const kinds = [];
  if (binary.path) kinds.push({ id: 'binary', label: 'binary get', command: binary.path, baselineCommand: nodeOnPath, baselineLabel: `node -e 0 (Node ${process.versions.node})` });
  kinds.push({ id: 'script', label: '.bin entry get', command: join(root, 'node_modules/.bin/docker-credential-scalr'), baselineCommand: nodeOnPath, baselineLabel: `node -e 0 (Node ${process.versions.node})` });
  const count = config.fanoutProcesses;
  const env = helperEnv(home, small, small.socketUrl);
  const stdin = `${small.lookupHost}\n`;
  const ok = (result) => (result.code === 0 ? undefined : `exit ${result.code}`);
  const rows = [];
  log(`fanout: ${count} processes at once, ${config.fanoutRounds} rounds (+1 warm-up) per command, interleaved`);
  for (const kind of kinds) {
    const walls = { target: [], baseline: [] };
    let failedRuns = 0;
    const problems = [];
    let processes = 0;
    for (let round = 0; round <= config.fanoutRounds; round++) {
      const steps = round % 2 === 0 ? ['baseline', 'target'] : ['target', 'baseline'];
      for (const step of steps) {
        const result =
          step === 'target'
            ? await fanoutRound(kind.command, ['get'], env, stdin, count, (r) => checkHelperAnswer(r, small))
            : await fanoutRound(kind.baselineCommand, ['-e', '0'], cleanEnv(home), '', count, ok);
        if (step === 'target') {
          processes += count;
          failedRuns += result.failed.length;
          problems.push(...result.failed.slice(0, 3));
        }
        if (round > 0) walls[step].push(result.wall);
      }
    }
    const target = summarize(walls.target);
    const baseline = summarize(walls.baseline);
    rows.push({
      id: kind.id,
      label: `${count} × ${kind.label}`,
      baselineLabel: `${count} × ${kind.baselineLabel}`,
      stats: target,
      baselineStats: baseline,
      ratioMedian: ratio(target.median, baseline.median),
      ratioP95: ratio(target.p95, baseline.p95),
      processes,
      failed: failedRuns,
      problems: [...new Set(problems)].slice(0, 5),
    });
  }
  return { processes: count, rounds: config.fanoutRounds, rows };
}

// ---------------------------------------------------------------------------------------------------
// 2 and 3 (load). Slices of every target alternate, so drift and neighbours hit all of them alike.

function lookupTarget(name, server, daemonForHost, token) {
  return {
    name,
    pid: server.pid,
    url: server.tcpUrl,
    path: '/v1/credentials/get',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ serverURL: daemonForHost.lookupHost }),
  };
}

/**
 * Load on every target in interleaved slices (after a warm-up slice each): `config.loadSeconds` per
 * target in `config.loadSlices` slices, A, B, C, then C, B, A. Returns one row per target.
 */
async function runInterleaved(section, targets) {
  const sliceSeconds = config.loadSeconds / config.loadSlices;
  log(`${section}: ${targets.length} targets × ${config.loadSeconds} s (${config.loadSlices} interleaved slices of ${sliceSeconds} s), ${config.connections} connections`);
  for (const target of targets) await runSlice(target, { connections: config.connections, durationSec: config.loadWarmupSeconds });
  const slices = new Map(targets.map((target) => [target.id, []]));
  for (let slice = 0; slice < config.loadSlices; slice++) {
    const order = slice % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) slices.get(target.id).push(await runSlice(target, { connections: config.connections, durationSec: sliceSeconds }));
  }
  return targets.map((target) => {
    const merged = mergeSlices(slices.get(target.id));
    const perSlice = slices.get(target.id).map((slice) => slice.ok / (slice.durationMs / 1000));
    const usPerRequest = (cpuMs) => (merged.ok ? (cpuMs * 1000) / merged.ok : Number.NaN);
    return {
      id: target.id,
      label: target.name,
      requests: merged.ok,
      non2xx: merged.non2xx,
      errors: merged.errors + merged.timeouts,
      rps: merged.ok / (merged.durationMs / 1000),
      rpsPerSlice: summarize(perSlice),
      latency: summarize(merged.latencies),
      cpuUsPerRequest: usPerRequest(merged.cpuMs),
      cpuUsPerRequestParts: Object.fromEntries(Object.entries(merged.cpuPartsMs).map(([name, ms]) => [name, usPerRequest(ms)])),
    };
  });
}

async function benchLoad({ baseline, floor, small, large }) {
  const targets = [
    { id: 'baseline', ...lookupTarget('bare node:http (baseline)', baseline, small) },
    { id: 'express', ...lookupTarget('express 5 + JSON parser only (reference)', floor, small) },
    { id: 'small', ...lookupTarget(small.name, small, small, small.runnerToken) },
    ...(large ? [{ id: 'large', ...lookupTarget(large.name, large, large, large.runnerToken) }] : []),
  ];
  const rows = await runInterleaved('load', targets);
  const base = rows.find((row) => row.id === 'baseline');
  for (const row of rows) row.rpsRatio = ratio(row.rps, base.rps);
  return { connections: config.connections, seconds: config.loadSeconds, slices: config.loadSlices, rows };
}

// ---------------------------------------------------------------------------------------------------
// 5. Fleet: PostgreSQL with one daemon and with three, the SQLite daemon beside them; CPU per lookup.

async function benchFleet({ work, home, notes, small }) {
  const started = { cluster: undefined, daemons: [] };
  try {
    log(`servers: a durable PostgreSQL cluster, a store made by init --store, ${config.fleetDaemons} daemons serving it`);
    const fleet = await startFleet(work, home, notes, started);
    return fleet && (await measureFleet(fleet, small));
  } finally {
    await Promise.all(started.daemons.map((daemon) => daemon.stop()));
    started.cluster?.stop();
  }
}

async function measureFleet({ cluster, daemons }, small) {
  const postmaster = cluster.postmasterPid();
  if (postmaster === undefined) throw new Error('the PostgreSQL cluster has no postmaster.pid');
  const daemonsCpu = (servers) => () => servers.reduce((sum, server) => sum + cpuTimeMs(server.pid), 0);
  const postgresCpu = () => processTreeCpuTimeMs(postmaster);
  const [first] = daemons;
  const targets = [
    { id: 'sqlite', ...lookupTarget('SQLite, 1 daemon', small, small, small.runnerToken), cpu: { daemons: daemonsCpu([small]) } },
    { id: 'pg1', ...lookupTarget('PostgreSQL, 1 daemon', first, first, first.runnerToken), cpu: { daemons: daemonsCpu([first]), postgres: postgresCpu } },
    {
      id: `pg${daemons.length}`,
      ...lookupTarget(`PostgreSQL, ${daemons.length} daemons`, first, first, first.runnerToken),
      urls: daemons.map((daemon) => daemon.tcpUrl),
      cpu: { daemons: daemonsCpu(daemons), postgres: postgresCpu },
    },
  ];
  const rows = await runInterleaved('fleet', targets);
  const one = rows.find((row) => row.id === 'pg1');
  for (const row of rows) row.rpsRatio = ratio(row.rps, one.rps);
  return { connections: config.connections, seconds: config.loadSeconds, slices: config.loadSlices, daemons: daemons.length, durable: true, rows };
}

// ---------------------------------------------------------------------------------------------------
// 6. Previous: the SQLite daemon of this tree against the one of the tree before the asynchronous store.

async function benchPrevious({ work, home }) {
  const { dir, commit } = preparePreviousTree(opts.previous);
  log(`servers: a 10-integration daemon of this tree and one of ${opts.previous} (${commit.slice(0, 12)}), each on a new store`);
  const servers = [];
  try {
    servers.push(await startSmallDaemon(work, home, { dir: 'previous', name: `daemon of ${opts.previous} (before the asynchronous store)`, tree: dir }));
    servers.push(await startSmallDaemon(work, home, { dir: 'current', name: 'daemon of this tree' }));
    return await measurePrevious(...servers, commit);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function measurePrevious(previous, current, commit) {
  const targets = [
    { id: 'previous', ...lookupTarget(previous.name, previous, previous, previous.runnerToken) },
    { id: 'current', ...lookupTarget(current.name, current, current, current.runnerToken) },
  ];
  const rows = await runInterleaved('previous', targets);
  const before = rows.find((row) => row.id === 'previous');
  for (const row of rows) {
    row.rpsRatio = ratio(row.rps, before.rps);
    row.p99Ratio = ratio(row.latency.p99, before.latency.p99);
  }
  return { commit, connections: config.connections, seconds: config.loadSeconds, slices: config.loadSlices, rows };
}

// ---------------------------------------------------------------------------------------------------
// 3. Scale: list latency, single-connection lookup latency, memory.

async function benchScale({ small, large, baseline }) {
  const clients = new Map([
    [small, createClient(small.tcpUrl)],
    [large, createClient(large.tcpUrl)],
  ]);
  try {
    const lists = [
      { id: 'integrations', label: 'GET /v1/integrations', path: '/v1/integrations', token: (d) => d.adminToken, count: (body) => (Array.isArray(body) ? body.length : Array.isArray(body?.integrations) ? body.integrations.length : Number.NaN) },
      { id: 'credentials', label: 'GET /v1/credentials', path: '/v1/credentials', token: (d) => d.runnerToken, count: (body) => Object.keys(body ?? {}).length },
    ];
    log(`scale: lists ${config.listRuns} runs (+${config.listWarmup}) each; lookups on 1 connection, ${config.sequentialBlocks} blocks of ${config.sequentialPerBlock} per daemon`);
    const listTimes = new Map();
    const listInfo = new Map();
    for (let round = 0; round < config.listWarmup + config.listRuns; round++) {
      for (const list of lists) {
        for (const daemon of round % 2 === 0 ? [small, large] : [large, small]) {
          const key = `${list.id}/${daemon === small ? 'small' : 'large'}`;
          const response = await clients.get(daemon).send('GET', list.path, { token: list.token(daemon) });
          if (response.status !== 200) throw new Error(`${list.label} on ${daemon.name} answered ${response.status}`);
          listInfo.set(key, { items: list.count(response.body), bytes: response.bytes });
          if (round >= config.listWarmup) (listTimes.get(key) ?? listTimes.set(key, []).get(key)).push(response.ms);
        }
      }
    }
    const listRows = lists.map((list) => {
      const smallStats = summarize(listTimes.get(`${list.id}/small`));
      const largeStats = summarize(listTimes.get(`${list.id}/large`));
      return {
        id: list.id,
        label: list.label,
        items: listInfo.get(`${list.id}/large`).items,
        bytes: listInfo.get(`${list.id}/large`).bytes,
        stats: largeStats,
        smallStats,
        smallItems: listInfo.get(`${list.id}/small`).items,
        ratioMedian: ratio(largeStats.median, smallStats.median),
        ratioP95: ratio(largeStats.p95, smallStats.p95),
      };
    });

    // One connection, one request at a time: the latency of a lookup without queueing.
    const lookups = { small: [], large: [] };
    for (let block = 0; block < config.sequentialBlocks + 1; block++) {
      for (const [key, daemon] of block % 2 === 0 ? [['small', small], ['large', large]] : [['large', large], ['small', small]]) {
        for (let i = 0; i < config.sequentialPerBlock; i++) {
          const response = await clients.get(daemon).send('POST', '/v1/credentials/get', { token: daemon.runnerToken, body: { serverURL: daemon.lookupHost } });
          if (response.status !== 200 || response.body?.Secret !== expectedSecret(daemon)) throw new Error(`lookup on ${daemon.name} answered ${response.status}`);
          if (block > 0) lookups[key].push(response.ms);
        }
      }
    }
    const smallLookup = summarize(lookups.small);
    const largeLookup = summarize(lookups.large);

    const memory = {
      large: memoryMiB(large.pid),
      small: memoryMiB(small.pid),
      baseline: memoryMiB(baseline.pid),
      largeAtStart: large.memoryAtStart,
      smallAtStart: small.memoryAtStart,
    };
    return {
      integrations: large.integrations,
      tokens: config.scaleTokens,
      seedMs: large.seedMs,
      lists: listRows,
      lookup: { small: smallLookup, large: largeLookup, ratioMedian: ratio(largeLookup.median, smallLookup.median), ratioP95: ratio(largeLookup.p95, smallLookup.p95) },
      memory,
    };
  } finally {
    for (const client of clients.values()) client.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Targets and the report.

function evaluate(results) {
  const targets = [];
  const add = (id, description, value, limit, pass, unit = '') => targets.push({ id, description, value: round(value, 3), limit, unit, pass });
  if (results.helper) {
    for (const row of results.helper.rows.filter((r) => r.target)) {
      const where = row.id.endsWith('unix') ? 'Unix socket' : 'TCP';
      add(`helper.${row.id}.median`, `binary get (${where}): median ≤ 0.35 × node -e 0`, row.ratioMedian, 0.35, row.ratioMedian <= 0.35, '×');
      add(`helper.${row.id}.p95`, `binary get (${where}): p95 ≤ 0.5 × node -e 0 p95`, row.ratioP95, 0.5, row.ratioP95 <= 0.5, '×');
    }
    const https = results.helper.rows.find((r) => r.id === 'binary-https');
    if (https) add('helper.binary-https.median', 'binary get over https: median ≤ 1.5 × binary get over TCP', https.ratioMedian, 1.5, https.ratioMedian <= 1.5, '×');
    const failed = results.helper.rows.reduce((sum, row) => sum + row.failures.length, 0);
    add('helper.failures', 'every helper run answered the right credential', failed, 0, failed === 0, ' failed');
  }
  if (results.load) {
    const small = results.load.rows.find((row) => row.id === 'small');
    add('load.rps', `lookups/s ≥ 0.5 × bare node:http (${config.connections} connections)`, small.rpsRatio, 0.5, small.rpsRatio >= 0.5, '×');
    add('load.p99', `lookup p99 < 10 ms under ${config.connections} connections`, small.latency.p99, 10, small.latency.p99 < 10, ' ms');
    const errors = results.load.rows.filter((row) => row.id !== 'express').reduce((sum, row) => sum + row.errors + row.non2xx, 0);
    add('load.errors', 'no errors or non-2xx answers under load', errors, 0, errors === 0, '');
  }
  if (results.scale) {
    for (const list of results.scale.lists) {
      add(`scale.list.${list.id}`, `${list.label} with ${list.items.toLocaleString('en')} entries: median < 50 ms`, list.stats.median, 50, list.stats.median < 50, ' ms');
    }
    const lookup = results.scale.lookup;
    add('scale.lookup', 'lookup latency with 10,000 integrations ≤ 1.2 × with 10 (median, 1 connection)', lookup.ratioMedian, 1.2, lookup.ratioMedian <= 1.2, '×');
    const rss = results.scale.memory.large.rss;
    add('scale.rss', 'daemon RSS with 10,000 integrations and tokens, after the load < 120 MB', rss, 120, rss < 120, ' MiB');
  }
  if (results.fanout) {
    for (const row of results.fanout.rows) {
      add(`fanout.${row.id}`, `${row.label}: all succeed`, row.failed, 0, row.failed === 0, ' failed');
    }
  }
  if (results.fleet) {
    const { daemons, rows } = results.fleet;
    const many = rows.find((row) => row.id === `pg${daemons}`);
    add('fleet.rps', `PostgreSQL: ${daemons} daemons' lookups/s ≥ 0.8 × one daemon's`, many.rpsRatio, 0.8, many.rpsRatio >= 0.8, '×');
    add('fleet.p99', `PostgreSQL: lookup p99 with ${daemons} daemons < 25 ms`, many.latency.p99, 25, many.latency.p99 < 25, ' ms');
    const errors = rows.reduce((sum, row) => sum + row.errors + row.non2xx, 0);
    add('fleet.errors', 'no errors or non-2xx answers on either store', errors, 0, errors === 0, '');
  }
  if (results.previous) {
    const current = results.previous.rows.find((row) => row.id === 'current');
    const ref = `${opts.previous}, before the asynchronous store`;
    add('previous.rps', `SQLite lookups/s ≥ 0.95 × the daemon of ${ref}`, current.rpsRatio, 0.95, current.rpsRatio >= 0.95, '×');
    add('previous.p99', `SQLite lookup p99 ≤ 1.1 × the daemon of ${ref}`, current.p99Ratio, 1.1, current.p99Ratio <= 1.1, '×');
    const errors = results.previous.rows.reduce((sum, row) => sum + row.errors + row.non2xx, 0);
    add('previous.errors', 'no errors or non-2xx answers from either tree', errors, 0, errors === 0, '');
  }
  return targets;
}

function table(headers, rows) {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function printReport(results, targets, meta) {
  const out = [];
  out.push(`scalr-credd / docker-credential-scalr bench — ${meta.date}${config.quick ? ' (--quick)' : ''}`);
  out.push(`machine: ${meta.machine.cpus} × ${meta.machine.cpuModel}, ${meta.machine.memoryGiB} GiB; load average ${meta.machine.loadStart.join(' ')} → ${meta.machine.loadEnd.join(' ')}`);
  for (const note of meta.notes) out.push(`note: ${note}`);
  if (results.helper) {
    out.push('', `1. helper get, cold process (ms; ${results.helper.runs} runs each after ${results.helper.warmup} warm-up, interleaved)`);
    out.push(
      table(
        ['command', 'median', 'p95', 'min', '× base median', '× base p95', 'failed'],
        results.helper.rows.map((row) => [row.label, ms(row.stats.median), ms(row.stats.p95), ms(row.stats.min), row.baseline ? x(row.ratioMedian) : 'baseline', row.baseline ? x(row.ratioP95) : '', row.failures.length]),
      ),
    );
  }
  if (results.load) {
    out.push('', `2. lookups under load (${results.load.connections} connections, ${results.load.seconds} s per target in ${results.load.slices} interleaved slices)`);
    out.push(
      table(
        ['target', 'req/s', '× baseline', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU µs/req', 'errors'],
        results.load.rows.map((row) => [row.label, row.rps.toFixed(0), x(row.rpsRatio), ms(row.latency.median), ms(row.latency.p95), ms(row.latency.p99), row.cpuUsPerRequest.toFixed(0), row.errors + row.non2xx]),
      ),
    );
  }
  if (results.scale) {
    const s = results.scale;
    out.push('', `3. scale: ${s.integrations.toLocaleString('en')} integrations, ${s.tokens.toLocaleString('en')} tokens (seeded in ${s.seedMs} ms)`);
    out.push(
      table(
        ['request', 'entries', 'median ms', 'p95 ms', '10-entry median', '× 10-entry'],
        [
          ...s.lists.map((list) => [`${list.label} (${(list.bytes / 1024).toFixed(0)} KiB)`, list.items, ms(list.stats.median), ms(list.stats.p95), ms(list.smallStats.median), x(list.ratioMedian)]),
          ['lookup, 1 connection', s.integrations, s.lookup.large.median.toFixed(2), s.lookup.large.p95.toFixed(2), s.lookup.small.median.toFixed(2), x(s.lookup.ratioMedian)],
        ],
      ),
    );
    const mem = s.memory;
    out.push(`memory after the load (MiB): large daemon RSS ${mem.large.rss.toFixed(1)} (peak ${mem.large.hwm.toFixed(1)}), 10-integration daemon ${mem.small.rss.toFixed(1)}, bare node:http ${mem.baseline.rss.toFixed(1)}`);
    out.push(`memory at start, before any request (MiB): large daemon RSS ${mem.largeAtStart.rss.toFixed(1)}, 10-integration daemon ${mem.smallAtStart.rss.toFixed(1)}`);
  }
  if (results.fanout) {
    out.push('', `4. fan-out: ${results.fanout.processes} processes at once (wall ms; ${results.fanout.rounds} rounds, interleaved)`);
    out.push(
      table(
        ['command', 'median', 'p95', 'baseline', 'baseline median', '× median', '× p95', 'failed'],
        results.fanout.rows.map((row) => [row.label, ms(row.stats.median), ms(row.stats.p95), row.baselineLabel, ms(row.baselineStats.median), x(row.ratioMedian), x(row.ratioP95), `${row.failed}/${row.processes}`]),
      ),
    );
  }
  if (results.fleet) {
    const f = results.fleet;
    out.push('', `5. fleet: lookups on PostgreSQL (fsync and synchronous_commit on) with 1 and ${f.daemons} daemons, and on SQLite (${f.connections} connections, split equally between the daemons; ${f.seconds} s per target in ${f.slices} interleaved slices)`);
    out.push(
      table(
        ['target', 'req/s', '× 1 PG daemon', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU µs/req daemons', 'postgres', 'total', 'req/s per core', 'errors'],
        f.rows.map((row) => {
          const parts = row.cpuUsPerRequestParts;
          return [row.label, row.rps.toFixed(0), x(row.rpsRatio), ms(row.latency.median), ms(row.latency.p95), ms(row.latency.p99), parts.daemons.toFixed(0), parts.postgres === undefined ? '-' : parts.postgres.toFixed(0), row.cpuUsPerRequest.toFixed(0), (1e6 / row.cpuUsPerRequest).toFixed(0), row.errors + row.non2xx];
        }),
      ),
    );
  }
  if (results.previous) {
    const p = results.previous;
    out.push('', `6. the SQLite daemon against the tree before the asynchronous store (${p.commit.slice(0, 12)}; ${p.connections} connections, ${p.seconds} s per target in ${p.slices} interleaved slices)`);
    out.push(
      table(
        ['target', 'req/s', '× previous', 'p50 ms', 'p95 ms', 'p99 ms', '× previous p99', 'CPU µs/req', 'errors'],
        p.rows.map((row) => [row.label, row.rps.toFixed(0), x(row.rpsRatio), ms(row.latency.median), ms(row.latency.p95), ms(row.latency.p99), x(row.p99Ratio), row.cpuUsPerRequest.toFixed(0), row.errors + row.non2xx]),
      ),
    );
  }
  out.push('', 'targets');
  for (const target of targets) out.push(`  ${target.pass ? 'PASS' : 'FAIL'}  ${target.description}: ${target.value}${target.unit}`);
  const failed = targets.filter((target) => !target.pass);
  out.push('', failed.length === 0 ? `all ${targets.length} targets met` : `${failed.length} of ${targets.length} targets NOT met: ${failed.map((t) => t.id).join(', ')}`);
  console.log(out.join('\n'));
}

function serializable(results) {
  const rowsOut = (rows, pick) => rows.map(pick);
  const out = {};
  if (results.helper) {
    out.helper = {
      runs: results.helper.runs,
      warmup: results.helper.warmup,
      rows: rowsOut(results.helper.rows, (row) => ({
        id: row.id,
        label: row.label,
        command: relative(root, row.command) || row.command,
        baseline: row.baseline ?? null,
        ms: roundSummary(row.stats),
        ratioMedian: round(row.ratioMedian, 3),
        ratioP95: round(row.ratioP95, 3),
        failures: row.failures.length,
        failureSamples: [...new Set(row.failures)].slice(0, 3),
      })),
    };
  }
  const loadRows = (rows) =>
    rowsOut(rows, (row) => ({
      ...row,
      rps: round(row.rps, 0),
      rpsRatio: round(row.rpsRatio, 3),
      ...(row.p99Ratio === undefined ? {} : { p99Ratio: round(row.p99Ratio, 3) }),
      rpsPerSlice: roundSummary(row.rpsPerSlice, 0),
      latencyMs: roundSummary(row.latency, 2),
      latency: undefined,
      cpuUsPerRequest: round(row.cpuUsPerRequest, 1),
      cpuUsPerRequestParts: Object.fromEntries(Object.entries(row.cpuUsPerRequestParts).map(([name, us]) => [name, round(us, 1)])),
    }));
  for (const section of ['load', 'fleet', 'previous']) {
    if (results[section]) out[section] = { ...results[section], rows: loadRows(results[section].rows) };
  }
  if (results.scale) {
    const s = results.scale;
    out.scale = {
      integrations: s.integrations,
      tokens: s.tokens,
      seedMs: s.seedMs,
      lists: s.lists.map((list) => ({ ...list, stats: undefined, smallStats: undefined, ms: roundSummary(list.stats), smallMs: roundSummary(list.smallStats), ratioMedian: round(list.ratioMedian, 3), ratioP95: round(list.ratioP95, 3) })),
      lookup: { largeMs: roundSummary(s.lookup.large, 3), smallMs: roundSummary(s.lookup.small, 3), ratioMedian: round(s.lookup.ratioMedian, 3), ratioP95: round(s.lookup.ratioP95, 3) },
      memoryMiB: Object.fromEntries(Object.entries(s.memory).map(([key, value]) => [key, { rss: round(value.rss, 1), hwm: round(value.hwm, 1) }])),
    };
  }
  if (results.fanout) {
    out.fanout = {
      processes: results.fanout.processes,
      rounds: results.fanout.rounds,
      rows: rowsOut(results.fanout.rows, (row) => ({ ...row, stats: undefined, baselineStats: undefined, wallMs: roundSummary(row.stats), baselineWallMs: roundSummary(row.baselineStats), ratioMedian: round(row.ratioMedian, 3), ratioP95: round(row.ratioP95, 3) })),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const startedAt = new Date();
  const notes = ['daemons run with SCALR_CREDD_LOG_LEVEL=warn (no per-request log lines)'];
  const loadStart = loadavg().map((value) => round(value, 2));
  const binary = await prepareBuild(notes);
  const nodeOnPath = findOnPath('node') ?? process.execPath;
  if (nodeOnPath !== process.execPath) notes.push(`node on PATH is ${nodeOnPath}; the bench runs on ${process.execPath}`);

  const work = makePrivateDir(mkdtempSync(join(tmpdir(), 'scalr-bench-')));
  const home = makePrivateDir(join(work, 'home'));
  const servers = [];
  const results = {};
  try {
    log('servers: daemon (10 integrations, seeded through the API), bare node:http, express reference');
    const small = await startSmallDaemon(work, home, { https: only.includes('helper') ? httpsListen(work, home, notes) : undefined });
    servers.push(small);
    const secret = expectedSecret(small);
    const baselineEnv = cleanEnv(home, { BENCH_USERNAME: 'bench-user', BENCH_SECRET: secret });
    const baseline = await startServer(process.execPath, [join(root, 'scripts/bench/baseline-server.mjs')], { env: baselineEnv, ready: /listening on (http:\/\/\S+)/ });
    servers.push(baseline);
    baseline.tcpUrl = baseline.match[1];
    const floor = await startServer(process.execPath, [join(root, 'scripts/bench/express-floor.mjs')], { env: baselineEnv, cwd: root, ready: /listening on (http:\/\/\S+)/ });
    servers.push(floor);
    floor.tcpUrl = floor.match[1];
    let large;
    if (only.includes('load') || only.includes('scale')) {
      log(`servers: daemon (${config.scaleIntegrations.toLocaleString('en')} integrations, ${config.scaleTokens.toLocaleString('en')} tokens, seeded with daemon/dist modules)`);
      large = await startLargeDaemon(work, home);
      servers.push(large);
    }

    if (only.includes('helper')) results.helper = await benchHelper({ binary, nodeOnPath, small, home });
    if (only.includes('fanout')) results.fanout = await benchFanout({ binary, nodeOnPath, small, home });
    if (only.includes('load')) results.load = await benchLoad({ baseline, floor, small, large });
    if (only.includes('scale')) results.scale = await benchScale({ small, large, baseline });
    if (only.includes('fleet')) results.fleet = await benchFleet({ work, home, notes, small });
    if (only.includes('previous')) results.previous = await benchPrevious({ work, home });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    killAll();
    rmSync(work, { recursive: true, force: true });
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    kernel: release(),
    loadStart,
    loadEnd: loadavg().map((value) => round(value, 2)),
  };
  if (Math.max(machine.loadStart[0], machine.loadEnd[0]) > machine.cpus) {
    notes.push(`the machine was busy (load average above ${machine.cpus}): absolute figures are noisy; ratios come from interleaved runs in the same window`);
  }
  const meta = { date: startedAt.toISOString(), machine, notes };
  const targets = evaluate(results);
  printReport(results, targets, meta);

  const report = {
    schema: 1,
    date: meta.date,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    config,
    machine,
    versions: { node: process.version, binaryRuntime: binary.runtime ?? null },
    notes,
    ...serializable(results),
    targets,
    summary: { targets: targets.length, met: targets.filter((t) => t.pass).length, notMet: targets.filter((t) => !t.pass).map((t) => t.id) },
  };
  const outFile = opts.out ?? join(root, 'bench-results', `bench-${meta.date.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), outFile) || outFile}`);
}

main().catch((error) => {
  killAll();
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
