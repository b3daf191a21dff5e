/**
 * The offline operations against a real `scalr-credd serve` process sharing the data dir: rotate
 * (with re-seal), rekey, backup, restore and audit verify. The daemon keeps serving throughout and
 * must notice a new keyring term and a new root key by itself.
 */
import { chmodSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrationSummarySchema, LookupResponseSchema } from '@dcs/shared';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openKeyring, rootKeyMatches } from '../../daemon/src/barrier/root-key.js';
import { generateKey } from '../../daemon/src/barrier/secretbox-barrier.js';
import { IntegrityError } from '../../daemon/src/errors.js';
import { callDaemon } from '../support/ops-http.js';
import { makePrivateDir, makeTempDir, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

async function addIntegration(daemon: RunningDaemon, token: string, host: string): Promise<string> {
  const res = await callDaemon(daemon.url, 'POST', '/v1/integrations', { token, body: { host, username: `user-${host}`, secret: secretOf(host) } });
  expect(res.status, res.text).toBe(201);
  return IntegrationSummarySchema.parse(res.body).id;
}

async function readSecret(daemon: RunningDaemon, token: string, host: string): Promise<string | number> {
  const res = await callDaemon(daemon.url, 'POST', '/v1/credentials/get', { token, body: { serverURL: host } });
  return res.status === 200 ? LookupResponseSchema.parse(res.body).Secret : res.status;
}

async function readAll(daemon: RunningDaemon, token: string, hosts: string[]): Promise<Record<string, string | number>> {
  const entries = await Promise.all(hosts.map(async (host) => [host, await readSecret(daemon, token, host)] as const));
  return Object.fromEntries(entries);
}

function secretOf(host: string): string {
  return `pat-for-${host}`;
}

function expected(hosts: string[]): Record<string, string> {
  return Object.fromEntries(hosts.map((host) => [host, secretOf(host)]));
}

function termsByHost(dataDir: string): Record<string, number> {
  const db = new Database(join(dataDir, 'credd.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT host, term FROM integrations ORDER BY host').all() as Array<{ host: string; term: number }>;
    return Object.fromEntries(rows.map((row) => [row.host, row.term]));
  } finally {
    db.close();
  }
}

function writeKeyFile(path: string): Uint8Array {
  const key = generateKey();
  writeFileSync(path, `${Buffer.from(key).toString('base64')}\n`, { mode: 0o600 });
  return key;
}

function keyFrom(path: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'));
}

describe('rotate and rekey while the daemon serves', () => {
  it('keeps every secret readable through rotate --reseal, rekey and a later rotate, and after a restart', async () => {
    const daemon = await startDaemon();
    const token = daemon.adminToken!;
    const keyPath = join(daemon.dataDir, 'root.key');
    const oldKey = keyFrom(keyPath);
    const first = ['a.registry.test', 'b.registry.test', 'c.registry.test'];
    for (const host of first) await addIntegration(daemon, token, host);

    const rotated = await runCli(['rotate', '--reseal', '--data-dir', daemon.dataDir]);
    await addIntegration(daemon, token, 'd.registry.test');
    const afterRotate = await readAll(daemon, token, [...first, 'd.registry.test']);

    const newKeyFile = join(makeTempDir(), 'new-root.key');
    const newKey = writeKeyFile(newKeyFile);
    const rekeyed = await runCli(['rekey', '--data-dir', daemon.dataDir, '--new-key-file', newKeyFile]);
    await addIntegration(daemon, token, 'e.registry.test');
    const rotatedAgain = await runCli(['rotate', '--data-dir', daemon.dataDir]);
    // Sealing this one needs term 3, which the daemon can only open with the root key it re-read from disk.
    await addIntegration(daemon, token, 'f.registry.test');
    const all = [...first, 'd.registry.test', 'e.registry.test', 'f.registry.test'];
    const afterRekey = await readAll(daemon, token, all);

    expect([rotated.code, rekeyed.code, rotatedAgain.code], `${rotated.stderr}${rekeyed.stderr}${rotatedAgain.stderr}`).toEqual([0, 0, 0]);
    expect(rotated.stdout).toContain('resealed: 3 secret(s) moved to term 2');
    expect(afterRotate).toEqual(expected([...first, 'd.registry.test']));
    expect(afterRekey).toEqual(expected(all));
    expect(termsByHost(daemon.dataDir)).toEqual({
      'a.registry.test': 2,
      'b.registry.test': 2,
      'c.registry.test': 2,
      'd.registry.test': 2,
      'e.registry.test': 2,
      'f.registry.test': 3,
    });
    const reloads = daemon
      .logs()
      .stderr.split('\n')
      .filter((line) => line.includes('keyring reloaded'))
      .map((line) => JSON.parse(line) as { activeTerm: number; rootKeyChanged: boolean });
    expect(reloads.map(({ activeTerm, rootKeyChanged }) => ({ activeTerm, rootKeyChanged }))).toEqual([
      { activeTerm: 2, rootKeyChanged: false },
      { activeTerm: 2, rootKeyChanged: true },
      { activeTerm: 3, rootKeyChanged: false },
    ]);

    const db = new Database(join(daemon.dataDir, 'credd.sqlite'), { readonly: true });
    const check = db.prepare("SELECT value FROM meta WHERE key = 'root_key_check'").pluck().get() as Buffer;
    const rows = (db.prepare('SELECT term, sealed_key FROM keyring').all() as Array<{ term: number; sealed_key: Buffer }>).map((row) => ({
      term: row.term,
      sealedKey: new Uint8Array(row.sealed_key),
    }));
    db.close();
    expect(rootKeyMatches(oldKey, new Uint8Array(check))).toBe(false);
    expect(() => openKeyring(oldKey, rows)).toThrow(IntegrityError);
    expect(openKeyring(newKey, rows).terms()).toEqual([1, 2, 3]);
    expect(Buffer.from(keyFrom(keyPath)).equals(Buffer.from(newKey))).toBe(true);

    await daemon.stop();
    const restarted = await startDaemon({ dataDir: daemon.dataDir });
    expect(await readAll(restarted, token, all)).toEqual(expected(all));
    await restarted.stop();
  });

  it('refuses a rekey with a key file readable by others and leaves the daemon on the old key', async () => {
    const daemon = await startDaemon();
    const token = daemon.adminToken!;
    await addIntegration(daemon, token, 'keep.registry.test');
    const keyBefore = readFileSync(join(daemon.dataDir, 'root.key'), 'utf8');
    const loose = join(makeTempDir(), 'loose.key');
    writeKeyFile(loose);
    chmodSync(loose, 0o644);

    const result = await runCli(['rekey', '--data-dir', daemon.dataDir, '--new-key-file', loose]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('readable by group or others');
    expect(readFileSync(join(daemon.dataDir, 'root.key'), 'utf8')).toBe(keyBefore);
    expect(await readSecret(daemon, token, 'keep.registry.test')).toBe(secretOf('keep.registry.test'));
    await daemon.stop();
  });
});

describe('backup and restore', () => {
  it('backs up online, refuses to restore under a running daemon, and restores after it stops', async () => {
    // TCP only: no socket in the data dir to probe; the daemon's serve lock is what restore sees.
    const daemon = await startDaemon({ listen: ['127.0.0.1:0'] });
    const token = daemon.adminToken!;
    const kept = ['one.registry.test', 'two.registry.test'];
    for (const host of kept) await addIntegration(daemon, token, host);
    const backupFile = join(makeTempDir(), 'credd.backup');

    const backup = await runCli(['backup', '--out', backupFile, '--data-dir', daemon.dataDir]);
    await addIntegration(daemon, token, 'later.registry.test');
    const whileRunning = await runCli(['restore', '--from', backupFile, '--data-dir', daemon.dataDir, '--force']);
    await daemon.stop();
    const withoutForce = await runCli(['restore', '--from', backupFile, '--data-dir', daemon.dataDir]);
    const forced = await runCli(['restore', '--from', backupFile, '--data-dir', daemon.dataDir, '--force']);
    const restarted = await startDaemon({ dataDir: daemon.dataDir });

    expect(backup.code, backup.stderr).toBe(0);
    expect(statSync(backupFile).mode & 0o777).toBe(0o600);
    expect(whileRunning.code).toBe(1);
    expect(whileRunning.stderr).toContain(`a daemon is serving ${daemon.dataDir}`);
    expect(withoutForce.code).toBe(1);
    expect(withoutForce.stderr).toContain('already exists');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('restored: 2 integration(s)');
    expect(await readAll(restarted, token, [...kept, 'later.registry.test'])).toEqual({ ...expected(kept), 'later.registry.test': 404 });
    await restarted.stop();
  });

  it('restores into a new data dir that holds only the root key, and the restored store serves', async () => {
    const daemon = await startDaemon();
    const token = daemon.adminToken!;
    await addIntegration(daemon, token, 'dr.registry.test');
    const backupFile = join(makeTempDir(), 'credd.backup');
    expect((await runCli(['backup', '--out', backupFile, '--data-dir', daemon.dataDir])).code).toBe(0);
    await daemon.stop();
    const target = makePrivateDir(join(makeTempDir(), 'recovered'));
    copyFileSync(join(daemon.dataDir, 'root.key'), join(target, 'root.key'));

    const restore = await runCli(['restore', '--from', backupFile, '--data-dir', target]);
    const recovered = await startDaemon({ dataDir: target });

    expect(restore.code, restore.stderr).toBe(0);
    expect(await readSecret(recovered, token, 'dr.registry.test')).toBe(secretOf('dr.registry.test'));
    await recovered.stop();
  });

  it('refuses to restore with a root key the backup was not sealed with', async () => {
    const daemon = await startDaemon();
    const backupFile = join(makeTempDir(), 'credd.backup');
    expect((await runCli(['backup', '--out', backupFile, '--data-dir', daemon.dataDir])).code).toBe(0);
    await daemon.stop();
    const target = makePrivateDir(join(makeTempDir(), 'wrong-key'));
    writeKeyFile(join(target, 'root.key'));

    const restore = await runCli(['restore', '--from', backupFile, '--data-dir', target]);

    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain('does not open with root key');
  });
});

describe('scalr-credd audit verify', () => {
  it('passes while the daemon serves and fails after a row is changed', async () => {
    const daemon = await startDaemon();
    await addIntegration(daemon, daemon.adminToken!, 'audited.registry.test');
    await readSecret(daemon, daemon.adminToken!, 'audited.registry.test');

    const live = await runCli(['audit', 'verify', '--data-dir', daemon.dataDir]);
    await daemon.stop();
    const db = new Database(join(daemon.dataDir, 'credd.sqlite'));
    db.prepare("UPDATE audit_events SET outcome = 'denied' WHERE action = 'credential.get'").run();
    db.close();
    const tampered = await runCli(['audit', 'verify', '--data-dir', daemon.dataDir]);

    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/^audit log intact: \d+ rows, hash chain verified\nhead seq \d+ hash [0-9a-f]{64}\n$/);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/audit log BROKEN: row \d+ was modified/);
  });
});
