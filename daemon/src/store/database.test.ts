import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from './database.js';
import { MIGRATIONS, type Migration } from './migrations.js';

describe('openDatabase', () => {
  it('applies every migration once and records each version', () => {
    const db = openDatabase(':memory:');

    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();

    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('creates the tables the repositories use', () => {
    const db = openDatabase(':memory:');

    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();

    expect(tables).toEqual(expect.arrayContaining(['audit_events', 'integrations', 'keyring', 'meta', 'tokens']));
  });

  it('turns foreign keys on', () => {
    const db = openDatabase(':memory:');

    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('opens a file in WAL mode, synchronous NORMAL, checkpointing every 250 pages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'database-test-'));
    try {
      const db = openDatabase(join(dir, 'store.db'));

      expect([db.pragma('journal_mode', { simple: true }), db.pragma('synchronous', { simple: true }), db.pragma('wal_autocheckpoint', { simple: true })]).toEqual(['wal', 1, 250]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('migrate', () => {
  it('does nothing when run again on an up-to-date database', () => {
    const db = openDatabase(':memory:');

    migrate(db, MIGRATIONS);

    expect(db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
  });

  it('refuses a database whose schema is newer than the code knows', () => {
    const db = openDatabase(':memory:');
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00.000Z')").run();

    expect(() => migrate(db, MIGRATIONS)).toThrow(/newer/);
  });

  it('rolls back a failing migration and does not record it', () => {
    const db = openDatabase(':memory:');
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      sql: 'CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);',
    };

    expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow();
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.at(-1)!.version);
  });
});
