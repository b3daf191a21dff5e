// `docker-credential-scalr install` and `doctor` as a user runs them, both ways the helper ships,
// against a real scalr-credd process: each failure doctor must name (helper not on PATH, daemon down,
// expired token, host not configured, plaintext auths, Docker Hub spellings) and a clean pass.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../support/ops-http.js';
import { HELPER_ENTRIES, buildHelperEntries, type HelperEntry } from '../support/helper-entries.js';
import { makeTempDir, runProcess, startDaemon, type RunningDaemon } from '../support/processes.js';
import { expireToken } from '../support/tamper.js';

const SECRET = 'doctor-hunter2-secret';
const PLAINTEXT = Buffer.from('bob:plaintext-hunter3').toString('base64');
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

let daemon: RunningDaemon;
let runnerToken: string;
let expiredToken: string;

beforeAll(async () => {
  buildHelperEntries();
  daemon = await startDaemon();
  const admin = daemon.adminToken!;
  const soon = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString();
  for (const [host, extra] of [['ghcr.io', {}], ['docker.io', {}], ['soon.example.com', { expiresAt: soon }]] as const) {
    const created = await callDaemon(daemon.url, 'POST', '/v1/integrations', { token: admin, body: { host, username: 'u', secret: SECRET, ...extra } });
    expect(created.status).toBe(201);
  }
  const mint = async (name: string) => {
    const ttlSeconds = 30 * 24 * 3600; // past doctor's "expires soon" window
    const answer = await callDaemon(daemon.url, 'POST', '/v1/tokens', { token: admin, body: { name, role: 'runner', ttlSeconds } });
    expect(answer.status).toBe(201);
    return answer.body as { id: string; token: string };
  };
  runnerToken = (await mint('doctor runner')).token;
  const expired = await mint('doctor expired');
  expiredToken = expired.token;
  // Expiry is checked on every request: its end moves into the past.
  await expireToken(daemon.dataDir, expired.id);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
});

interface Report {
  ok: boolean;
  helper: { status: string; path: string | null; thisProgram: boolean | null };
  files: { kind: string; path: string; status: string; message: string; keys: string[]; plaintext: string[] }[];
  daemons: { status: string; url: string; reachable: boolean; message: string; token: { role: string; hosts: string[] | null; expiresAt: string | null } | null }[];
  hosts: { host: string; status: string; message: string; listed: boolean; clients: { client: string; sends: string; configured: boolean; lookup: string }[] }[];
}

const ALL_KEYS = { 'https://index.docker.io/v1/': 'scalr', 'docker.io': 'scalr', 'ghcr.io': 'scalr', 'soon.example.com': 'scalr' };

describe.each(HELPER_ENTRIES)('doctor, $label', (entry: HelperEntry) => {
  /** A fresh HOME with a docker config, the helper installed in HOME/bin, and the environment to run doctor in. */
  async function setUp(dockerConfig: object) {
    const home = makeTempDir('doctor-home-');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify(dockerConfig));
    const installed = await runProcess(entry.command, [...entry.args, 'install', '--prefix', join(home, 'bin')], { env: { HOME: home } });
    expect(installed.code).toBe(0);
    const env = {
      HOME: home,
      XDG_RUNTIME_DIR: join(home, 'run'),
      PATH: `${join(home, 'bin')}:${SYSTEM_PATH}`,
      SCALR_CREDD_URL: daemon.socketUrl!,
      SCALR_CREDD_TOKEN: runnerToken,
    };
    return { home, env, installed };
  }

  async function doctor(env: Record<string, string | undefined>, json = true) {
    const run = await runProcess(entry.command, [...entry.args, 'doctor', ...(json ? ['--json'] : [])], { env });
    expect(run.stderr).toBe('');
    for (const secret of [SECRET, PLAINTEXT, runnerToken, expiredToken]) expect(run.output.toString()).not.toContain(secret);
    return { run, report: json ? (JSON.parse(run.stdout) as Report) : undefined };
  }

  it('installs the helper and passes every check when everything is in place', async () => {
    const { env, installed, home } = await setUp({ credHelpers: ALL_KEYS });

    expect(installed.stdout).toContain(`installed ${join(home, 'bin', 'docker-credential-scalr')}: a ${entry.label === 'npm entry' ? 'symbolic link' : 'copy'}`);
    expect(installed.stdout).toContain('is not on PATH');
    const { run, report } = await doctor(env);

    expect(run.code).toBe(0);
    expect(report!.ok).toBe(true);
    expect(report!.helper).toMatchObject({ status: 'ok', path: join(home, 'bin', 'docker-credential-scalr'), thisProgram: true });
    expect(report!.daemons).toEqual([
      expect.objectContaining({ status: 'ok', url: daemon.socketUrl, reachable: true, token: expect.objectContaining({ role: 'runner', hosts: null }) }),
    ]);
    expect(report!.hosts.map(({ host, status }) => [host, status])).toEqual([
      ['docker.io', 'ok'],
      ['ghcr.io', 'ok'],
      ['soon.example.com', 'warn'],
    ]);
    const soon = report!.hosts.find(({ host }) => host === 'soon.example.com')!;
    expect(soon.clients.find(({ client }) => client === 'docker')).toMatchObject({ sends: 'soon.example.com', configured: true, lookup: 'expires-soon' });

    const human = await doctor(env, false);
    expect(human.run.code).toBe(0);
    expect(human.run.stdout).toMatch(/^\[ok\] {3}helper .* is on PATH \(this program\)$/m);
    expect(human.run.stdout).toMatch(/role runner \(read-only: docker login and logout change nothing in scalr-credd\)/);
    expect(human.run.stdout).toContain('OpenTofu sends "https://ghcr.io"');
  });

  it('says which spelling each client sends for Docker Hub, and fails a docker config keyed only by docker.io', async () => {
    const { env } = await setUp({ credHelpers: { 'docker.io': 'scalr', 'ghcr.io': 'scalr', 'soon.example.com': 'scalr' } });

    const { run, report } = await doctor(env);

    expect(run.code).toBe(1);
    const hub = report!.hosts.find(({ host }) => host === 'docker.io')!;
    expect(hub.clients).toEqual([
      { client: 'docker', sends: 'https://index.docker.io/v1/', configured: false, lookup: 'found' },
      { client: 'containers', sends: 'docker.io', configured: true, lookup: 'found' },
      { client: 'opentofu', sends: 'https://docker.io', configured: true, lookup: 'found' },
    ]);
    expect(report!.files[0]).toMatchObject({ kind: 'docker', status: 'fail' });
    expect(report!.files[0]!.message).toContain('not "https://index.docker.io/v1/", the key the docker CLI uses for Docker Hub');
  });

  it('fails when the helper is not on PATH', async () => {
    const { env } = await setUp({ credHelpers: ALL_KEYS });

    const { run, report } = await doctor({ ...env, PATH: SYSTEM_PATH });

    expect(run.code).toBe(1);
    expect(report!.helper).toMatchObject({ status: 'fail', path: null });
    expect(report!.hosts.every(({ status }) => status !== 'fail')).toBe(true);
  });

  it('fails when the daemon is down, naming the URL, and never says not found', async () => {
    const { env, home } = await setUp({ credHelpers: ALL_KEYS });
    const url = `unix:${join(home, 'no-daemon.sock')}`;

    const { run, report } = await doctor({ ...env, SCALR_CREDD_URL: url });

    expect(run.code).toBe(1);
    expect(report!.daemons).toEqual([expect.objectContaining({ status: 'fail', url, reachable: false, token: null })]);
    expect(report!.daemons[0]!.message).toMatch(/^cannot reach scalr-credd at unix:.*no-daemon\.sock/);
    expect(report!.hosts.flatMap(({ clients }) => clients.map(({ lookup }) => lookup))).not.toContain('not-found');
  });

  it('fails with an expired token, saying the daemon rejected it', async () => {
    const { env } = await setUp({ credHelpers: ALL_KEYS });

    const { run, report } = await doctor({ ...env, SCALR_CREDD_TOKEN: expiredToken });

    expect(run.code).toBe(1);
    expect(report!.daemons[0]).toMatchObject({ status: 'fail', reachable: true, token: null });
    expect(report!.daemons[0]!.message).toMatch(/rejected the token \(401.*expired/);
  });

  it('fails for a host the daemon serves that no config file names', async () => {
    const { env } = await setUp({ credHelpers: { 'https://index.docker.io/v1/': 'scalr', 'docker.io': 'scalr', 'soon.example.com': 'scalr' } });

    const { run, report } = await doctor(env);

    expect(run.code).toBe(1);
    const ghcr = report!.hosts.find(({ host }) => host === 'ghcr.io')!;
    expect(ghcr).toMatchObject({ status: 'fail', listed: true });
    expect(ghcr.message).toContain('no config file names the helper for it; run `docker-credential-scalr configure`');
  });

  it('fails for a plaintext auths entry of a served host, without printing it', async () => {
    const { env, home } = await setUp({ credHelpers: ALL_KEYS, auths: { 'ghcr.io': { auth: PLAINTEXT }, 'https://index.docker.io/v1/': {} } });

    const { run, report } = await doctor(env);

    expect(run.code).toBe(1);
    expect(report!.files[0]).toMatchObject({ path: join(home, '.docker', 'config.json'), status: 'fail', plaintext: ['ghcr.io'] });
    expect(report!.files[0]!.message).toContain('auths["ghcr.io"] holds a plaintext credential for ghcr.io, which the helper serves');
  });
});
