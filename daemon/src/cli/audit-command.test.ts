import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/audit-log.js';
import { initStore } from '../lifecycle/init-store.js';
import { openStore } from '../lifecycle/open-store.js';
import { storePaths, type StorePaths } from '../lifecycle/store-paths.js';
import { openSqliteStore } from '../store/sqlite-store.js';
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
  const { token } = await initStore(paths);
  const store = await openStore(paths);
  const ctx = { principal: await store.tokens.authenticate(token), requestId: 'r' };
  for (const host of ['a.example', 'b.example', 'c.example']) await store.integrations.create(ctx, { host, username: 'u', secret: 's', export: true });
  await store.credentials.lookupWithNotice(ctx, 'b.example');
  await store.close();
  return paths;
}

function tamper(paths: StorePaths, sql: string): void {
  const db = new Database(paths.dbPath);
  db.exec(sql);
  db.close();
}

function lastHash(paths: StorePaths): string {
  const db = new Database(paths.dbPath, { readonly: true });
  const hash = db.prepare('SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1').pluck().get() as string;
  db.close();
  return hash;
}

/** Edits a row and rebuilds the chain from it as an attacker with write access would (the code is public). */
function rebuildChainFrom(paths: StorePaths, seq: number, sql: string): void {
  const db = new Database(paths.dbPath);
  db.exec(sql);
  type Row = Record<string, string | number | null>;
  const rows = db.prepare('SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq').all(seq) as Row[];
  let prev = db.prepare('SELECT hash FROM audit_events WHERE seq = ?').pluck().get(seq - 1) as string;
  const set = db.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const row of rows) {
    const fields = ['seq', 'at', 'request_id', 'token_id', 'token_name', 'role', 'action', 'host', 'target_id', 'outcome', 'detail'].map((name) => row[name]);
    const hash = createHash('sha256').update(prev).update('\n').update(JSON.stringify(fields)).digest('hex');
    set.run(prev, hash, row['seq']);
    prev = hash;
  }
  db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(Buffer.from(`${rows.at(-1)!['seq']}:${prev}`));
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
    expect(result.stdout).toMatch(/^audit log intact: 5 rows, hash chain verified\nhead seq 5 hash [0-9a-f]{64}\n$/);
  });

  it.each([
    ['naming the row when a row was modified', "UPDATE audit_events SET host = 'evil.example' WHERE seq = 3", 'row 3 was modified'],
    ['when a row in the middle was deleted', 'DELETE FROM audit_events WHERE seq = 2', 'row 2 is missing'],
    ['when the last row was deleted', 'DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)', 'head does not match'],
  ])('exits 1 %s', async (_what, sql, problem) => {
    const paths = await auditedStore();
    tamper(paths, sql);

    const result = await verify(paths);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(problem);
  });

  it('prints JSON with --json, the head (seq and hash of the last row) included', async () => {
    const paths = await auditedStore();

    const result = await verify(paths, '--json');

    expect(JSON.parse(result.stdout)).toEqual({ ok: true, rows: 5, head: { seq: 5, hash: lastHash(paths) } });
  });

  it('holds an exported anchor while the log grows, and fails once the chain was rebuilt', async () => {
    const paths = await auditedStore();
    const { head } = JSON.parse((await verify(paths, '--json')).stdout) as { head: { seq: number; hash: string } };
    const anchor = `${head.seq}:${head.hash}`;
    const store = openSqliteStore(paths.dbPath);
    await createAuditLog(store).append({ action: 'test.later', outcome: 'ok' });
    await store.close();

    const held = await verify(paths, '--anchor', anchor);
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(/^audit log intact: 6 rows, hash chain verified; holds the anchor at seq 5\nhead seq 6 /);

    // Someone with write access rewrites row 3 and rebuilds every hash after it: the chain verifies on its own.
    rebuildChainFrom(paths, 3, "UPDATE audit_events SET host = 'evil.example' WHERE seq = 3");
    expect((await verify(paths)).code).toBe(0);

    const rewritten = await verify(paths, '--anchor', anchor, '--json');
    expect(rewritten.code).toBe(1);
    expect(JSON.parse(rewritten.stdout)).toMatchObject({ ok: false, problem: expect.stringContaining('row 5 no longer has the anchored hash') });
  });

  it('fails when the anchored row is gone, and refuses a malformed anchor', async () => {
    const paths = await auditedStore();

    const beyond = await verify(paths, '--anchor', `9:${'a'.repeat(64)}`);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toContain('the anchored row 9 is not in the log (it ends at 5)');

    expect((await verify(paths, '--anchor', '5')).stderr).toMatch(/--anchor takes SEQ:HASH/);
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
