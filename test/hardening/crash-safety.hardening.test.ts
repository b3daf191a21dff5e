/**
 * Crash safety: a writer issues writes (create, update, delete integrations; mint tokens) while the
 * daemon process is killed with SIGKILL at random moments. After every kill, with the daemon down,
 * the database passes `PRAGMA integrity_check`, the audit chain verifies, and every write that was
 * acknowledged (2xx received) is there and decrypts; after the restart the daemon serves it.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../daemon/src/audit/audit-log.js';
import { secretContext } from '../../daemon/src/barrier/barrier.js';
import { loadRootKey, openKeyring } from '../../daemon/src/barrier/root-key.js';
import { createSecretboxBarrier } from '../../daemon/src/barrier/secretbox-barrier.js';
import { sqliteStoreOver } from '../../daemon/src/store/sqlite-store.js';
import { DaemonStartError, initStore, startDaemon, type DaemonProcess } from '../support/hardening/daemon-process.js';
import { LONG, makeTempDir, removeTempDir, sleep } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';
import { call, type Target } from '../support/hardening/http.js';
import { createRandom, suiteSeed } from '../support/hardening/random.js';

const WRITE_KILLS = LONG ? 1000 : 200;
const STARTUP_KILLS = LONG ? 100 : 20;
const HOSTS = Array.from({ length: 24 }, (_, i) => `crash-${i}.registry.test`);

/** What a host may hold: null (absent) or a credential; the id is unknown for an unacknowledged create. */
type State = null | { id: string | undefined; username: string; secret: string };

interface TokenRecord {
  id: string;
  token: string;
}

const sameState = (a: State, b: State) =>
  a === null || b === null ? a === b : a.username === b.username && a.secret === b.secret && (a.id === undefined || b.id === undefined || a.id === b.id);

const describeState = (s: State) => (s === null ? 'absent' : `${s.username}`);

const figures = { kills: 0, writeKills: 0, startupKills: 0, acknowledged: 0, unacknowledged: 0, lost: 0, integrityFailures: 0, unexpected: 0 };
const problems: string[] = [];
let dir: string | undefined;

afterAll(() => {
  removeTempDir(dir);
  printFigures();
});

describe('crash safety under SIGKILL', () => {
  it(
    `keeps every acknowledged write across ${WRITE_KILLS} kills mid-write and ${STARTUP_KILLS} kills mid-start`,
    async () => {
      const seed = suiteSeed();
      const random = createRandom(seed);
      console.log(`crash-safety: seed ${seed} (HARDENING_SEED=${seed} to repeat the choices)`);
      dir = makeTempDir('crash');
      const dataDir = join(dir, 'data');
      const adminToken = initStore(dataDir);
      const dbPath = join(dataDir, 'credd.sqlite');
      const rootKey = loadRootKey(join(dataDir, 'root.key'));

      const model = new Map<string, State[]>(HOSTS.map((host) => [host, [null]]));
      const ackedTokens: TokenRecord[] = [];
      let sequence = 0;
      const startTimes: number[] = [];

      /** Checks the store with the daemon down: integrity, audit chain, and the model. Collapses `model` to what is stored. */
      const checkOffline = async (cycle: number) => {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          const integrity = db.pragma('integrity_check', { simple: true });
          if (integrity !== 'ok') {
            figures.integrityFailures++;
            problems.push(`cycle ${cycle}: integrity_check said ${String(integrity)}`);
          }
          const fk = db.pragma('foreign_key_check') as unknown[];
          if (fk.length) problems.push(`cycle ${cycle}: foreign_key_check found ${fk.length} rows`);
          // The whole chain is re-hashed every tenth cycle and at the end (it grows with every write).
          if (cycle % 10 === 0 || cycle >= WRITE_KILLS) {
            const audit = await checkAuditChain(db, dbPath);
            if (audit) problems.push(`cycle ${cycle}: audit chain: ${audit}`);
          }
          const keyRows = (db.prepare('SELECT term, sealed_key FROM keyring').all() as Array<{ term: number; sealed_key: Buffer }>).map(
            (row) => ({ term: row.term, sealedKey: new Uint8Array(row.sealed_key) }),
          );
          const barrier = createSecretboxBarrier(openKeyring(rootKey, keyRows));
          const byHost = db.prepare('SELECT id, username, envelope FROM integrations WHERE host = ?');
          for (const host of HOSTS) {
            const row = byHost.get(host) as { id: string; username: string; envelope: Buffer } | undefined;
            let observed: State = null;
            if (row) {
              let secret: string;
              try {
                secret = barrier.open(secretContext(host), new Uint8Array(row.envelope));
              } catch (error) {
                figures.lost++;
                problems.push(`cycle ${cycle}: ${host} does not decrypt: ${(error as Error).message}`);
                model.set(host, [null]);
                continue;
              }
              observed = { id: row.id, username: row.username, secret };
            }
            const possible = model.get(host)!;
            if (!possible.some((state) => sameState(state, observed))) {
              figures.lost++;
              problems.push(`cycle ${cycle}: ${host} holds ${describeState(observed)}, expected one of ${possible.map(describeState).join(' | ')}`);
            }
            model.set(host, [observed]);
          }
          const tokenById = db.prepare('SELECT id, revoked_at FROM tokens WHERE id = ?');
          for (const { id } of ackedTokens) {
            const row = tokenById.get(id) as { id: string; revoked_at: string | null } | undefined;
            if (!row || row.revoked_at !== null) {
              figures.lost++;
              problems.push(`cycle ${cycle}: acknowledged token ${id} is ${row ? 'revoked' : 'missing'}`);
            }
          }
        } finally {
          db.close();
        }
      };

      /** With the daemon up: the hosts and tokens the last cycle touched are served as stored. */
      const checkOnline = async (daemon: DaemonProcess, hosts: Set<string>, tokens: TokenRecord[], cycle: number) => {
        for (const host of hosts) {
          const expected = model.get(host)![0]!;
          const reply = await call(daemon.unix(), { method: 'POST', path: '/v1/credentials/get', token: adminToken, body: { serverURL: host } });
          if (expected === null) {
            if (reply.status !== 404) problems.push(`cycle ${cycle}: lookup of deleted ${host} answered ${reply.status}`);
          } else {
            const body = reply.status === 200 ? reply.json<{ Username?: string; Secret?: string }>() : {};
            if (reply.status !== 200 || body.Username !== expected.username || body.Secret !== expected.secret) {
              figures.lost++;
              problems.push(`cycle ${cycle}: lookup of ${host} answered ${reply.status} ${body.Username ?? ''}, expected ${expected.username}`);
            }
          }
        }
        for (const { id, token } of tokens) {
          const reply = await call(daemon.unix(), { method: 'GET', path: '/v1/credentials', token });
          if (reply.status !== 200) {
            figures.lost++;
            problems.push(`cycle ${cycle}: acknowledged token ${id} answered ${reply.status}`);
          }
        }
      };

      /** Writes until the daemon dies; returns what it touched. */
      const writeUntilKilled = async (daemon: DaemonProcess, alive: () => boolean) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const target: Target = { socketPath: daemon.socketPath, agent };
        const touched = new Set<string>();
        const minted: TokenRecord[] = [];
        try {
          while (alive()) {
            const n = ++sequence;
            if (random.chance(0.15)) {
              try {
                const reply = await call(target, { method: 'POST', path: '/v1/tokens', token: adminToken, body: { name: `crash-${n}`, role: 'runner' } });
                if (reply.status !== 201) throw new UnexpectedReply(reply.status, reply.text);
                const created = reply.json<{ id: string; token: string }>();
                ackedTokens.push({ id: created.id, token: created.token });
                minted.push({ id: created.id, token: created.token });
                figures.acknowledged++;
              } catch (error) {
                if (error instanceof UnexpectedReply) throw error;
                figures.unacknowledged++;
                return { touched, minted };
              }
              continue;
            }
            const host = random.pick(HOSTS);
            const [current] = model.get(host)! as [State];
            const next: State = { id: current?.id, username: `user-${n}`, secret: `secret-${n}-${random.hex(12)}` };
            let request: Parameters<typeof call>[1];
            let after: State;
            if (current === null) {
              request = { method: 'POST', path: '/v1/integrations', token: adminToken, body: { host, username: next.username, secret: next.secret } };
              after = { ...next, id: undefined };
            } else if (random.chance(0.7)) {
              request = { method: 'PATCH', path: `/v1/integrations/${current.id}`, token: adminToken, body: { username: next.username, secret: next.secret } };
              after = next;
            } else {
              request = { method: 'DELETE', path: `/v1/integrations/${current.id}`, token: adminToken };
              after = null;
            }
            touched.add(host);
            try {
              const reply = await call(target, request);
              if (reply.status < 200 || reply.status > 299) throw new UnexpectedReply(reply.status, reply.text);
              if (after !== null && after.id === undefined) after = { ...after, id: reply.json<{ id: string }>().id };
              model.set(host, [after]);
              figures.acknowledged++;
            } catch (error) {
              if (error instanceof UnexpectedReply) throw error;
              // No answer: the write may or may not have committed.
              model.set(host, [current, after]);
              figures.unacknowledged++;
              return { touched, minted };
            }
          }
          return { touched, minted };
        } finally {
          agent.destroy();
        }
      };

      let lastTouched = new Set<string>();
      let lastMinted: TokenRecord[] = [];
      for (let cycle = 1; cycle <= WRITE_KILLS; cycle++) {
        const daemon = await startDaemon({ dataDir, logLevel: 'warn' });
        startTimes.push(daemon.startMs);
        let dead = false;
        void daemon.exited.then(() => (dead = true));
        await checkOnline(daemon, lastTouched, lastMinted, cycle);
        const killAfter = random.int(20, 150);
        const killer = setTimeout(() => daemon.child.kill('SIGKILL'), killAfter);
        let writes: Awaited<ReturnType<typeof writeUntilKilled>>;
        try {
          writes = await writeUntilKilled(daemon, () => !dead);
        } catch (error) {
          clearTimeout(killer);
          await daemon.kill();
          if (error instanceof UnexpectedReply) {
            figures.unexpected++;
            problems.push(`cycle ${cycle}: ${error.message}; daemon stderr: ${daemon.stderr().slice(-500)}`);
            writes = { touched: new Set(HOSTS), minted: [] };
          } else throw error;
        }
        const exit = await daemon.exited;
        clearTimeout(killer);
        if (exit.signal !== 'SIGKILL') problems.push(`cycle ${cycle}: daemon exited with ${exit.code}/${exit.signal}, not by SIGKILL`);
        figures.kills++;
        figures.writeKills++;
        await checkOffline(cycle);
        lastTouched = writes.touched;
        lastMinted = writes.minted;
        if (problems.length > 20) break;
      }

      // Kills while the daemon opens the store (migrations, keyring, socket), before it is ready.
      for (let i = 0; i < STARTUP_KILLS && problems.length <= 20; i++) {
        const delay = random.int(0, Math.max(50, Math.round(median(startTimes))));
        let child: ChildProcess | undefined;
        const starting = startDaemon({ dataDir, logLevel: 'warn', onSpawn: (c) => (child = c) });
        await sleep(delay);
        child!.kill('SIGKILL');
        // Ready before the kill landed (then it killed a ready daemon) or refused: either way it is gone.
        const outcome = await starting.then(
          async (daemon) => (await daemon.exited, 'ready'),
          (error: unknown) => {
            if (error instanceof DaemonStartError) return 'starting';
            throw error;
          },
        );
        if (outcome === 'starting') figures.startupKills++;
        figures.kills++;
        await checkOffline(WRITE_KILLS + i + 1);
      }

      // A last start proves the store is usable, and serves every host as stored.
      const final = await startDaemon({ dataDir, logLevel: 'warn' });
      await checkOnline(final, new Set(HOSTS), ackedTokens.slice(-20), WRITE_KILLS + STARTUP_KILLS + 1);
      await final.stop();

      recordFigures('crash', {
        kills: figures.kills,
        'acknowledged writes': figures.acknowledged,
        'writes lost': figures.lost,
        'integrity failures': figures.integrityFailures,
        'unexpected answers': figures.unexpected,
        'median start ms': Math.round(median(startTimes)),
      });
      expect(problems, problems.slice(0, 20).join('\n')).toEqual([]);
      expect(figures.writeKills).toBeGreaterThanOrEqual(WRITE_KILLS);
      expect(figures.lost).toBe(0);
      expect(figures.integrityFailures).toBe(0);
      expect(figures.unexpected).toBe(0);
      // The kills landed while writes were in flight, not only between them.
      expect(figures.acknowledged).toBeGreaterThan(WRITE_KILLS);
      expect(figures.unacknowledged).toBeGreaterThan(WRITE_KILLS / 2);
    },
    LONG ? 1_800_000 : 300_000,
  );
});

class UnexpectedReply extends Error {
  constructor(status: number, text: string) {
    super(`unexpected answer ${status}: ${text.slice(0, 300)}`);
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Verifies the audit hash chain with the daemon's own check, read-only; returns a problem or undefined. */
async function checkAuditChain(db: Database.Database, dbPath: string): Promise<string | undefined> {
  // The store over the caller's read-only connection, which the caller closes.
  const result = await createAuditLog(sqliteStoreOver(db, `database ${dbPath}`)).verify();
  return result.ok ? undefined : result.problem;
}
