// The helper given several daemons (SCALR_CREDD_URL=URL1,URL2): the npm entry and the packaged binary,
// real daemons serving one copied data dir, the first URL failing in each way failover is for.
import { cpSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostOffset } from '../../shared/src/failover.js';
import { HELPER_ENTRIES, buildHelperEntries, type HelperEntry } from '../support/helper-entries.js';
import { cleanupProcesses, makeTempDir, runCli, runProcess, startDaemon, type ProcessResult, type RunningDaemon } from '../support/processes.js';

const HOST = 'registry.failover.example:5000';
const NOT_FOUND_LINE = 'credentials not found in native keychain\n';
const describeRun = (result: ProcessResult) => `exit ${result.code ?? result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

let first: RunningDaemon;
let second: RunningDaemon;
let runnerToken: string;
let closedPortUrl: string;
let unavailable: Server;
let unavailableUrl: string;

/** The list as SCALR_CREDD_URL, arranged so that this host asks `urls[0]` first, then the others in order. */
function listAskingFirst(urls: readonly string[]): string {
  const start = hostOffset(hostname(), urls.length);
  const arranged = [...urls.slice(urls.length - start), ...urls.slice(0, urls.length - start)];
  return arranged.join(',');
}

function freeze(daemon: RunningDaemon): () => void {
  process.kill(daemon.pid, 'SIGSTOP');
  return () => process.kill(daemon.pid, 'SIGCONT');
}

beforeAll(async () => {
  buildHelperEntries();
  // One store behind two daemons: the data dir (with its root key) set up once, then copied.
  const dataDir = join(makeTempDir('scalr-failover-a-'), 'data');
  const setup = await startDaemon({ dataDir });
  const adminEnv = { SCALR_CREDD_URL: setup.socketUrl!, SCALR_CREDD_TOKEN: setup.adminToken! };
  const added = await runCli(['integration', 'add', '--host', HOST, '--username', 'ci-bot'], { env: adminEnv, stdin: 'registry-password' });
  expect(added.code, describeRun(added)).toBe(0);
  const minted = await runCli(['token', 'create', '--name', 'failover-runner', '--role', 'runner', '--ttl', '1h', '--json'], { env: adminEnv });
  expect(minted.code, describeRun(minted)).toBe(0);
  runnerToken = (JSON.parse(minted.stdout) as { token: string }).token;
  await setup.stop();
  const copyDir = join(makeTempDir('scalr-failover-b-'), 'data');
  cpSync(dataDir, copyDir, { recursive: true });
  [first, second] = await Promise.all([startDaemon({ dataDir }), startDaemon({ dataDir: copyDir })]);

  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  closedPortUrl = `http://127.0.0.1:${(spare.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => spare.close(() => resolve()));

  // What a load balancer without a healthy backend, or a daemon that is not ready, answers.
  unavailable = createHttpServer((_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'unavailable', message: 'not ready' } }));
  });
  await new Promise<void>((resolve) => unavailable.listen(0, '127.0.0.1', resolve));
  unavailableUrl = `http://127.0.0.1:${(unavailable.address() as { port: number }).port}`;
}, 180_000);

afterAll(async () => {
  unavailable?.close();
  await Promise.all([first?.stop(), second?.stop()]);
  cleanupProcesses();
});

describe.each(HELPER_ENTRIES)('docker-credential-scalr ($label) with several daemon URLs', (entry: HelperEntry) => {
  const get = (urls: string, serverUrl = HOST) =>
    runProcess(entry.command, [...entry.args, 'get'], { env: { SCALR_CREDD_URL: urls, SCALR_CREDD_TOKEN: runnerToken }, stdin: `${serverUrl}\n`, timeoutMs: 15_000 });
  const expectCredential = (result: ProcessResult) => {
    expect(result, describeRun(result)).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ ServerURL: HOST, Username: 'ci-bot', Secret: 'registry-password' });
  };

  it.each([
    ['a closed port', () => closedPortUrl],
    ['a TLS failure (https to a plain HTTP daemon)', () => first.url.replace('http://', 'https://')],
    ['an answer of 503', () => unavailableUrl],
  ])('answers get from the next daemon when the first is %s', async (_name, failing) => {
    expectCredential(await get(listAskingFirst([failing(), second.url])));
  });

  it('answers get from the next daemon when the first is frozen (accepts, never answers) within the 2 s deadline', async () => {
    const thaw = freeze(first);
    try {
      const started = performance.now();
      const result = await get(listAskingFirst([first.url, second.socketUrl!]));
      expectCredential(result);
      // The frozen daemon had half of the deadline; the answer came from the other within the rest.
      expect(performance.now() - started).toBeGreaterThan(900);
    } finally {
      thaw();
    }
  });

  it('still says not found when a reachable daemon says so, after one that is down', async () => {
    const result = await get(listAskingFirst([closedPortUrl, first.url]), 'registry.unknown.example');

    expect(result, describeRun(result)).toMatchObject({ code: 1, stdout: NOT_FOUND_LINE, stderr: '' });
  });

  it('names every URL tried on one line when none answers, never not found', async () => {
    const thaw = freeze(second);
    try {
      const urls = [closedPortUrl, unavailableUrl, second.url];
      const result = await get(listAskingFirst(urls));

      expect(result, describeRun(result)).toMatchObject({ code: 1, stderr: '' });
      expect(result.stdout).not.toContain('not found');
      expect(result.stdout.split('\n')).toEqual([expect.stringMatching(/^docker-credential-scalr: no scalr-credd answered: /), '']);
      expect(result.stdout).toContain(`${closedPortUrl} (connection refused)`);
      expect(result.stdout).toContain(`${unavailableUrl} (status 503 unavailable)`);
      expect(result.stdout).toMatch(new RegExp(`${second.url} \\(no answer within \\d+ ms\\)`));
    } finally {
      thaw();
    }
  });
});
