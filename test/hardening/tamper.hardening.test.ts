/**
 * Tamper: a flipped byte in a stored ciphertext, a ciphertext moved to another row, a row moved to
 * another host, a swapped keyring row, a wrong root key. Each gives a clear error and serves nothing:
 * a lookup answers 500 `internal` with a generic message (and the helper exits 1, never "not found"),
 * the daemon log has the integrity error with the request id but no secret; a keyring or root key
 * that does not open is refused at start with one line.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, freshStore, type FreshStore, runDaemonCli, startDaemon, startDaemonExpectingRefusal } from '../support/hardening/daemon-process.js';
import { removeTempDir, sleep } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { bundledHelper, helperEnv, runHelperProcess } from '../support/hardening/helper-process.js';
import { call, replyBytes } from '../support/hardening/http.js';
import { NOT_FOUND_LINE } from '../support/hardening/protocol.js';
import { LeakScanner, describeHits } from '../support/hardening/scan.js';

let fresh: FreshStore | undefined;
let daemon: DaemonProcess | undefined;
const figures = { tampers: 0, served: 0, refusedStarts: 0 };

afterAll(async () => {
  await daemon?.kill();
  removeTempDir(fresh?.dir);
  recordFigures('tamper', { 'tamper cases': figures.tampers, 'secrets served after tamper': figures.served, 'refused starts': figures.refusedStarts });
  printFigures();
});

const GENERIC = 'internal error; see the daemon log for this request id';

describe('tamper', () => {
  it('serves nothing from a tampered row and refuses a keyring or root key that does not open', async () => {
    fresh = freshStore('tamper');
    const { home, dataDir, adminToken } = fresh;
    daemon = await startDaemon({ dataDir, logLevel: 'info' });
    const scanner = new LeakScanner();

    const hosts = ['flip.registry.test', 'header.registry.test', 'term.registry.test', 'short.registry.test', 'source.registry.test', 'target.registry.test', 'renamed.registry.test', 'intact.registry.test'];
    const secrets = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const host of hosts) {
      const secret = `TamperCanary-${host.split('.')[0]}-${randomBytes(8).toString('hex')}`;
      secrets.set(host, secret);
      scanner.add(host, secret);
      const reply = await call(daemon.unix(), { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host, username: 'u', secret } });
      expect(reply.status, reply.text).toBe(201);
      ids.set(host, reply.json<{ id: string }>().id);
    }
    const runner = (await call(daemon.unix(), { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name: 'tamper runner', role: 'runner' } })).json<{ token: string }>().token;
    for (const host of hosts) {
      const ok = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: runner, body: { serverURL: host } });
      expect(ok.json()).toMatchObject({ Secret: secrets.get(host) });
    }

    // ---- tamper with rows while the daemon serves (it reads every row fresh) ----
    const db = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const envelopeOf = (host: string) => Buffer.from((db.prepare('SELECT envelope FROM integrations WHERE host = ?').pluck().get(host) as Buffer));
    const setEnvelope = (host: string, envelope: Buffer) => db.prepare('UPDATE integrations SET envelope = ? WHERE host = ?').run(envelope, host);
    const flip = (host: string, offset: (length: number) => number) => {
      const envelope = envelopeOf(host);
      const at = offset(envelope.length);
      envelope[at] = envelope[at]! ^ 0x01;
      setEnvelope(host, envelope);
    };
    flip('flip.registry.test', (n) => n - 5); // inside the authenticated box
    flip('header.registry.test', () => 0); // the envelope version
    const term = envelopeOf('term.registry.test');
    term.writeUInt32BE(99, 1); // a key term the keyring does not hold
    setEnvelope('term.registry.test', term);
    setEnvelope('short.registry.test', envelopeOf('short.registry.test').subarray(0, 20)); // truncated
    setEnvelope('target.registry.test', envelopeOf('source.registry.test')); // a ciphertext moved to another row
    db.prepare("UPDATE integrations SET host = 'renamed-evil.registry.test' WHERE host = 'renamed.registry.test'").run(); // a row moved to another host
    const broken: Array<[string, string]> = [
      ['flip.registry.test', 'flipped byte in the ciphertext'],
      ['header.registry.test', 'flipped version byte'],
      ['term.registry.test', 'unknown key term'],
      ['short.registry.test', 'truncated envelope'],
      ['target.registry.test', "another row's ciphertext"],
      ['renamed-evil.registry.test', 'row moved to another host'],
    ];

    const problems: string[] = [];
    const exe = bundledHelper();
    const env = helperEnv({ url: `unix:${daemon.socketPath}`, token: runner, home });
    for (const [host, label] of broken) {
      figures.tampers++;
      const reply = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: runner, body: { serverURL: host } });
      const body = reply.json<{ error?: { code?: string; message?: string; requestId?: string } }>();
      if (reply.status !== 500 || body.error?.code !== 'internal' || body.error.message !== GENERIC) {
        problems.push(`${label}: lookup answered ${reply.status} ${reply.text.slice(0, 200)}`);
      }
      if (reply.status === 200) figures.served++;
      scanner.scan(`lookup answer (${label})`, replyBytes(reply));
      // The log line for this request names the integrity failure and carries the request id.
      const requestId = body.error?.requestId ?? '';
      // stderr travels through another pipe than the answer: give it a moment to arrive.
      const findLine = () => daemon!.stderr().split('\n').find((entry) => entry.includes(requestId) && entry.includes('"level":"error"'));
      for (let i = 0; i < 50 && requestId && !findLine(); i++) await sleep(20);
      const line = findLine();
      if (!requestId || !line || !/integrity check failed/.test(line)) problems.push(`${label}: no integrity error logged for request ${requestId}`);
      // The helper fails loudly: one line, exit 1, never "not found", nothing on stderr.
      const run = await runHelperProcess(exe, ['get'], host, env);
      const stdout = run.stdout.toString();
      if (run.code !== 1 || stdout === `${NOT_FOUND_LINE}\n` || run.stderr.length || !/status 500/.test(stdout) || stdout.split('\n').length !== 2) {
        problems.push(`${label}: helper exit ${run.code}: ${stdout.slice(0, 200)} ${run.stderr.toString().slice(0, 200)}`);
      }
      scanner.scan(`helper stdout (${label})`, run.stdout);
      // The credential test opens the secret too: same refusal.
      const id = host === 'renamed-evil.registry.test' ? ids.get('renamed.registry.test') : ids.get(host);
      const tested = await call(daemon.unix(), { method: 'POST', path: `/v1/integrations/${id}/test`, token: adminToken });
      if (tested.status !== 500) problems.push(`${label}: credential test answered ${tested.status}`);
      scanner.scan(`test answer (${label})`, replyBytes(tested));
    }
    // Untouched rows, and the row whose ciphertext was copied, still serve.
    for (const host of ['intact.registry.test', 'source.registry.test']) {
      const ok = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: runner, body: { serverURL: host } });
      expect(ok.json(), host).toMatchObject({ Secret: secrets.get(host) });
    }
    // Every failed lookup is audited as an error.
    const auditErrors = db.prepare("SELECT COUNT(*) FROM audit_events WHERE action = 'credential.get' AND outcome = 'error'").pluck().get() as number;
    expect(auditErrors).toBeGreaterThanOrEqual(broken.length * 2);
    db.close();
    scanner.scan('daemon stderr', daemon.stderr());
    scanner.scan('daemon stdout', daemon.stdout());
    expect(problems, problems.join('\n')).toEqual([]);
    expect(scanner.hits, describeHits(scanner.hits)).toEqual([]);
    await daemon.stop();

    // ---- tamper with what is read at start ----
    const keyPath = join(dataDir, 'root.key');
    const rightKey = readFileSync(keyPath);
    const refusal = async (label: string, pattern: RegExp) => {
      const refused = await startDaemonExpectingRefusal({ dataDir });
      figures.refusedStarts++;
      figures.tampers++;
      const lines = refused.stderr.trim().split('\n');
      if (refused.code !== 1 || lines.length !== 1 || !pattern.test(lines[0]!) || /\n\s+at /.test(refused.stderr)) {
        problems.push(`${label}: exit ${refused.code}: ${refused.stderr.slice(0, 400)}`);
      }
      // No key material in the message.
      if (refused.stderr.includes(rightKey.toString().trim()) || refused.stderr.includes(rightKey.toString().trim().slice(0, 16))) problems.push(`${label}: the message holds key material`);
      return refused;
    };

    // A wrong root key (a valid key, just not this store's).
    writeFileSync(keyPath, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await refusal('wrong root key', /does not match/);
    writeFileSync(keyPath, rightKey, { mode: 0o600 });

    // A second keyring term, then its rows swapped.
    const rotated = runDaemonCli(['rotate', '--data-dir', dataDir]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const store = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    const rows = store.prepare('SELECT term, sealed_key FROM keyring ORDER BY term').all() as Array<{ term: number; sealed_key: Buffer }>;
    expect(rows.map((row) => row.term)).toEqual([1, 2]);
    const swap = (a: Buffer, b: Buffer) =>
      store.transaction(() => {
        store.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 1').run(a);
        store.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 2').run(b);
      })();
    swap(rows[1]!.sealed_key, rows[0]!.sealed_key);
    store.close();
    await refusal('swapped keyring rows', /^scalr-credd: the keyring in .* does not open with root key file .*restore it from a backup$/);
    const restore = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    restore.transaction(() => {
      restore.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 1').run(rows[0]!.sealed_key);
      restore.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 2').run(rows[1]!.sealed_key);
    })();
    // A flipped byte in a sealed data key.
    const flipped = Buffer.from(rows[0]!.sealed_key);
    flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 0x80;
    restore.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 1').run(flipped);
    restore.close();
    await refusal('flipped byte in a sealed data key', /^scalr-credd: the keyring in .* does not open with root key file .*restore it from a backup$/);
    const again = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    again.prepare('UPDATE keyring SET sealed_key = ? WHERE term = 1').run(rows[0]!.sealed_key);
    // A flipped byte in the root key check value.
    const check = Buffer.from(again.prepare("SELECT value FROM meta WHERE key = 'root_key_check'").pluck().get() as Buffer);
    const goodCheck = Buffer.from(check);
    check[check.length - 1] = check[check.length - 1]! ^ 0x01;
    again.prepare("UPDATE meta SET value = ? WHERE key = 'root_key_check'").run(check);
    again.close();
    await refusal('flipped byte in the root key check value', /does not match/);
    const last = new Database(join(dataDir, 'credd.sqlite'), { fileMustExist: true });
    last.prepare("UPDATE meta SET value = ? WHERE key = 'root_key_check'").run(goodCheck);
    last.close();

    // Put back, the store opens and serves its intact rows again.
    daemon = await startDaemon({ dataDir, logLevel: 'warn' });
    const ok = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: runner, body: { serverURL: 'intact.registry.test' } });
    expect(ok.json()).toMatchObject({ Secret: secrets.get('intact.registry.test') });
    expect(problems, problems.join('\n')).toEqual([]);
    expect(figures.served).toBe(0);
  });
});
