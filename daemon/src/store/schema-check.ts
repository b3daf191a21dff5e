import Database from 'better-sqlite3';
import { migrate, type Db } from './database.js';
import { MIGRATIONS, type Migration } from './migrations.js';

interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

const LIST = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name";

/**
 * The schema objects of `db` that the migrations did not create, or created otherwise: a trigger
 * that un-revokes a token, a view, an extra table or index, a table whose definition was changed.
 * Compared with a fresh in-memory database migrated the same way. Each entry reads `trigger unrevoke`
 * or `table tokens (changed)`; empty when the schema is exactly ours.
 */
export function foreignSchemaObjects(db: Db, migrations: readonly Migration[] = MIGRATIONS): string[] {
  const reference = new Database(':memory:');
  let expected: Map<string, string | null>;
  try {
    migrate(reference, migrations);
    expected = new Map((reference.prepare(LIST).all() as SchemaObject[]).map((object) => [`${object.type} ${object.name}`, object.sql]));
  } finally {
    reference.close();
  }
  const found: string[] = [];
  for (const object of db.prepare(LIST).all() as SchemaObject[]) {
    const key = `${object.type} ${object.name}`;
    if (!expected.has(key)) found.push(key);
    else if (expected.get(key) !== object.sql) found.push(`${key} (changed)`);
  }
  return found;
}
