/**
 * Row tamper: someone who can write the database file or a backup, but has no root key, plants an
 * admin token (a known hash), promotes a runner's role, or adds a trigger that un-revokes a token.
 * A backup so edited does not restore; the live file so edited does not grant: the daemon answers 401
 * for the tampered token, logs "row failed authentication", audits it, and `scalr-credd verify`
 * names the row; with the trigger it does not start.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, freshStore, type FreshStore, runDaemonCli, startDaemon, startDaemonExpectingRefusal } from '../support/hardening/daemon-process.js';
import { removeTempDir, sleep } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { call } from '../support/hardening/http.js';
import { UNREVOKE_TRIGGER, editDatabase, plantAdminToken } from '../support/tamper.js';

let fresh: FreshStore | undefined;
let daemon: DaemonProcess | undefined;
const figures = { refusedRestores: 0, refusedTokens: 0, grantedAfterTamper: 0 };

afterAll(async () => {
  await daemon?.kill();
  removeTempDir(fresh?.dir);
  recordFigures('row tamper', {
    'tampered backups refused': figures.refusedRestores,
    'tampered tokens refused': figures.refusedTokens,
    'grants after tamper': figures.grantedAfterTamper,
  });
  printFigures();
});

describe('row tamper', () => {
  it('refuses edited backups at restore, and edited rows of the live file when they are read', async () => {
    fresh = freshStore('row-tamper');
    const { dir, dataDir, adminToken } = fresh;
    daemon = await startDaemon({ dataDir, logLevel: 'info' });
    const mint = async (name: string) =>
      (await call(daemon!.unix(), { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name, role: 'runner' } })).json<{ id: string; token: string }>();
    const runner = await mint('runner');
    const revoked = await mint('revoked');
    expect((await call(daemon.unix(), { method: 'DELETE', path: `/v1/tokens/${revoked.id}`, token: adminToken })).status).toBe(204);
    const backup = join(dir, 'backup.sqlite');
    const made = runDaemonCli(['backup', '--data-dir', dataDir, '--out', backup]);
    expect(made.code, made.stderr).toBe(0);
    await daemon.stop();

    // ---- edited backups: restore refuses each, and the target stays empty ----
    const backupCases: Array<[string, (db: Database.Database) => void, RegExp]> = [
      ['planted admin token', (db) => void plantAdminToken(db), /holds rows that fail authentication \(tokens row tok_/],
      ['promoted runner', (db) => void db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(runner.id), new RegExp(`tokens row ${runner.id}`)],
      ['un-revoke trigger', (db) => db.exec(UNREVOKE_TRIGGER), /did not create \(trigger unrevoke\)/],
    ];
    for (const [label, tamper, message] of backupCases) {
      const copy = join(dir, `${label.replace(/ /g, '-')}.sqlite`);
      copyFileSync(backup, copy);
      editDatabase(copy, tamper);
      const target = join(dir, `restore-${label.replace(/ /g, '-')}`);
      const restored = runDaemonCli(['restore', '--from', copy, '--data-dir', target, '--root-key-file', join(dataDir, 'root.key')]);
      expect(restored.code, `${label}: ${restored.stdout}`).toBe(1);
      expect(restored.stderr, label).toMatch(message);
      expect(existsSync(join(target, 'credd.sqlite')), label).toBe(false);
      figures.refusedRestores++;
    }

    // ---- the same edits on the live file ----
    let planted = '';
    editDatabase(join(dataDir, 'credd.sqlite'), (db) => {
      planted = plantAdminToken(db);
      db.prepare("UPDATE tokens SET role = 'admin' WHERE id = ?").run(runner.id);
      db.prepare('UPDATE tokens SET revoked_at = NULL WHERE id = ?').run(revoked.id);
    });
    daemon = await startDaemon({ dataDir, logLevel: 'info' });
    for (const [label, token] of [['planted admin', planted], ['promoted runner', runner.token], ['un-revoked runner', revoked.token]] as const) {
      const reply = await call(daemon.unix(), { method: 'GET', path: '/v1/tokens', token });
      expect(reply.status, `${label}: ${reply.text}`).toBe(401);
      if (reply.status === 200) figures.grantedAfterTamper++;
      else figures.refusedTokens++;
    }
    const lookup = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: runner.token, body: { serverURL: 'ghcr.io' } });
    expect(lookup.status).toBe(401);
    // The admin still works, and sees neither the planted row nor the promoted one in the list.
    const listed = await call(daemon.unix(), { method: 'GET', path: '/v1/tokens', token: adminToken });
    expect(listed.status).toBe(200);
    expect(listed.json<{ tokens: Array<{ id: string }> }>().tokens.map((token) => token.id)).not.toContain(runner.id);
    // Reported: a log line per failing row (no values), and audited as tampered.
    const failureLines = () => daemon!.stderr().split('\n').filter((line) => line.includes('row failed authentication'));
    for (let i = 0; i < 50 && failureLines().length < 3; i++) await sleep(20);
    expect(failureLines().length).toBeGreaterThanOrEqual(3);
    expect(failureLines().join('\n')).toContain(runner.id);
    expect(failureLines().join('\n')).not.toContain(runner.token);
    await daemon.stop();
    editDatabase(join(dataDir, 'credd.sqlite'), (db) => {
      const reasons = db.prepare("SELECT json_extract(detail, '$.reason') FROM audit_events WHERE action = 'auth.failed'").pluck().all();
      expect(reasons.filter((reason) => reason === 'tampered').length).toBeGreaterThanOrEqual(4);
    });
    const verified = runDaemonCli(['verify', '--data-dir', dataDir]);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toContain(`row failed authentication: tokens row ${runner.id}`);
    expect(verified.stderr).toContain(`row failed authentication: tokens row ${revoked.id}`);

    // ---- a trigger in the live file: serve refuses to start ----
    editDatabase(join(dataDir, 'credd.sqlite'), (db) => db.exec(UNREVOKE_TRIGGER));
    const refused = await startDaemonExpectingRefusal({ dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^scalr-credd: database .* holds schema objects scalr-credd did not create \(trigger unrevoke\)/);
    expect(figures.grantedAfterTamper).toBe(0);
  });
});
