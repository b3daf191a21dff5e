import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../barrier/secretbox-barrier.js';
import { initStore } from '../lifecycle/init-store.js';
import { openStore } from '../lifecycle/open-store.js';
import { storePaths, type StorePaths } from '../lifecycle/store-paths.js';
import { recordingIo } from '../../../test/support/cli-io.js';
import { sqliteDbOf } from '../../../test/support/tamper.js';
import { runCli } from './run-cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newStore(): Promise<{ dir: string; paths: StorePaths }> {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-recover-'));
  dirs.push(dir);
  const paths = storePaths(join(dir, 'data'));
  await initStore(paths);
  return { dir, paths };
}

async function adminRole(paths: StorePaths, token: string): Promise<string> {
  const store = await openStore(paths);
  try {
    return (await store.tokens.authenticate(token)).role;
  } finally {
    await store.close();
  }
}

describe('scalr-credd token recover-admin', () => {
  it('mints an admin token with the root key, prints it once, and audits it as a recovery', async () => {
    const { paths } = await newStore();
    const io = recordingIo();

    const code = await runCli(['token', 'recover-admin', '--data-dir', paths.dataDir, '--name', 'break glass'], io);

    expect(code).toBe(0);
    const token = io.out.join('').trim();
    expect(await adminRole(paths, token)).toBe('admin');
    expect(io.err.join('')).not.toContain(token);
    const store = await openStore(paths);
    const detail = sqliteDbOf(store.store).prepare("SELECT detail FROM audit_events WHERE action = 'token.create' ORDER BY seq DESC LIMIT 1").pluck().get() as string;
    await store.close();
    expect(JSON.parse(detail)).toEqual({ role: 'admin', recovery: true, via: 'cli' });
  });

  it('with --out writes the token to a new 0600 file and prints only the path', async () => {
    const { dir, paths } = await newStore();
    const out = join(dir, 'admin.token');
    const io = recordingIo();

    expect(await runCli(['token', 'recover-admin', '--data-dir', paths.dataDir, '--out', out], io)).toBe(0);

    expect(io.out.join('')).toBe(`${out}\n`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(await adminRole(paths, readFileSync(out, 'utf8').trim())).toBe('admin');
    expect(await runCli(['token', 'recover-admin', '--data-dir', paths.dataDir, '--out', out], recordingIo())).toBe(1);
  });

  it('refuses without the store root key and mints nothing', async () => {
    const { dir, paths } = await newStore();
    const wrongKey = join(dir, 'wrong.key');
    writeFileSync(wrongKey, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });
    const io = recordingIo();

    const code = await runCli(['token', 'recover-admin', '--data-dir', paths.dataDir, '--root-key-file', wrongKey], io);

    expect(code).toBe(1);
    expect(io.out).toEqual([]);
    expect(io.err.join('')).toMatch(/does not open with root key file .*wrong\.key/);
  });
});
