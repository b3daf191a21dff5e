import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { initStore } from '../lifecycle/init-store.js';
import { openStore } from '../lifecycle/open-store.js';
import { storePaths, type StorePaths } from '../lifecycle/store-paths.js';
import { recordingIo } from '../../../test/support/cli-io.js';
import { runCli } from './run-cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store with a few audited changes. */
async function auditedStore(): Promise<StorePaths> {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-audit-cli-'));
  dirs.push(dir);
  const paths = storePaths(join(dir, 'data'));
  const { token } = initStore(paths);
  const store = openStore(paths);
  const ctx = { principal: store.tokens.authenticate(token), requestId: 'r' };
  for (const host of ['a.example', 'b.example', 'c.example']) store.integrations.create(ctx, { host, username: 'u', secret: 's', export: true });
  await store.credentials.lookupWithNotice(ctx, 'b.example');
  store.close();
  return paths;
}

function tamper(paths: StorePaths, sql: string): void {
  const db = new Database(paths.dbPath);
  db.exec(sql);
  db.close();
}

async function verify(paths: StorePaths, ...extra: string[]) {
  const io = recordingIo();
  const code = await runCli(['audit', 'verify', '--data-dir', paths.dataDir, ...extra], io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

describe('scalr-credd audit verify', () => {
  it('exits 0 and reports the row count when the chain is intact', async () => {
    const paths = await auditedStore();

    const result = await verify(paths);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('audit log intact: 5 rows, hash chain verified\n');
  });

  it('exits 1 naming the row when a row was modified', async () => {
    const paths = await auditedStore();
    tamper(paths, "UPDATE audit_events SET host = 'evil.example' WHERE seq = 3");

    const result = await verify(paths);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('row 3 was modified');
  });

  it('exits 1 when a row in the middle was deleted', async () => {
    const paths = await auditedStore();
    tamper(paths, 'DELETE FROM audit_events WHERE seq = 2');

    const result = await verify(paths);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('row 2 is missing');
  });

  it('exits 1 when the last row was deleted', async () => {
    const paths = await auditedStore();
    tamper(paths, 'DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)');

    const result = await verify(paths);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('head does not match');
  });

  it('prints JSON with --json', async () => {
    const paths = await auditedStore();

    const result = await verify(paths, '--json');

    expect(JSON.parse(result.stdout)).toEqual({ ok: true, rows: 5 });
  });

  it('opens the database read-only: the file is byte-identical afterwards and needs no root key', async () => {
    const paths = await auditedStore();
    rmSync(paths.rootKeyPath);
    const before = createHash('sha256').update(readFileSync(paths.dbPath)).digest('hex');

    const result = await verify(paths);

    expect(result.code).toBe(0);
    expect(createHash('sha256').update(readFileSync(paths.dbPath)).digest('hex')).toBe(before);
  });

  it('exits 1 with a message when there is no database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalr-audit-cli-'));
    dirs.push(dir);

    const result = await verify(storePaths(dir));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does not exist/);
  });

  it('exits 2 for an unknown verb', async () => {
    const paths = await auditedStore();
    const io = recordingIo();

    const code = await runCli(['audit', 'erase', '--data-dir', paths.dataDir], io);

    expect(code).toBe(2);
  });
});
