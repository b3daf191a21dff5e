import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { SERVE_LOCK_FILE, acquireServeLock, isServing } from './serve-lock.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'scalr-lock-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('serve lock', () => {
  it('is held until released; a second holder is refused meanwhile', () => {
    expect(isServing({ dataDir })).toBe(false);
    const lock = acquireServeLock({ dataDir });

    expect(isServing({ dataDir })).toBe(true);
    expect(() => acquireServeLock({ dataDir })).toThrow(ConfigError);
    expect(() => acquireServeLock({ dataDir })).toThrow(/another scalr-credd serves/);
    lock.release();
    expect(isServing({ dataDir })).toBe(false);
    acquireServeLock({ dataDir }).release();
  });

  it('is seen from another process, and freed by the kernel when its holder is killed', async () => {
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(${JSON.stringify(join(dataDir, SERVE_LOCK_FILE))});
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
      db.prepare('INSERT INTO holder VALUES (?, ?)').run(process.pid, 'now');
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));

    expect(isServing({ dataDir })).toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(isServing({ dataDir })).toBe(false);
    expect(statSync(join(dataDir, SERVE_LOCK_FILE)).isFile()).toBe(true);
  });
});
