/**
 * Rows to and from SQL: a repository names each field of its row once, with how its value is stored,
 * and reads its column list, its INSERT parameters and both conversions from that one table. A field
 * is stored in the snake_case column of its camelCase name (`createdAt` → `created_at`); every table
 * with authenticated rows also has a `mac` column (row-integrity.ts), which the mapping carries as is.
 */

/** How a field's value is stored when SQLite holds it differently (bytes, booleans, JSON). */
export interface ColumnCodec<T, S = unknown> {
  toSql(value: T): S;
  fromSql(value: S): T;
}

/** A row as SQLite returns it or takes it as named parameters, by column. */
export type SqlRecord = { id: string; mac: Buffer | null } & Record<string, unknown>;

/** Stored as it is (text, integers, and NULL for null). */
export const plain: ColumnCodec<never> = { toSql: (value) => value, fromSql: (value) => value as never };

/** Bytes in a BLOB: better-sqlite3 reads a Buffer, rows hold a plain Uint8Array. */
export const bytes: ColumnCodec<Uint8Array, Buffer> = {
  toSql: (value) => Buffer.from(value),
  fromSql: (value) => new Uint8Array(value),
};

/** A boolean as 0 or 1. */
export const flag: ColumnCodec<boolean, number> = { toSql: (value) => (value ? 1 : 0), fromSql: (value) => value === 1 };

/** A value as JSON text; null (and an empty value) as NULL. */
export function json<T>(): ColumnCodec<T | null, string | null> {
  return {
    toSql: (value) => (value ? JSON.stringify(value) : null),
    fromSql: (value) => (value === null ? null : (JSON.parse(value) as T)),
  };
}

/** The column of a field: its camelCase name in snake_case. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** One table's mapping, derived from its field list. */
export interface RowMapping<R> {
  /** Every column in field order, then `mac`: for SELECT and INSERT. */
  columns: string;
  /** INSERT's named parameters, in the order of `columns`. */
  params: string;
  toSql(row: R, mac: Buffer): SqlRecord;
  fromSql(sql: SqlRecord): R;
}

/**
 * Builds a table's mapping from every field of its row (in column order) and each field's codec:
 * `plain` where the value is stored as it is. A field missing from a row (one built before its
 * column existed) is written as NULL.
 */
export function rowMapping<R extends { id: string }>(codecs: { readonly [K in keyof R]-?: ColumnCodec<R[K]> }): RowMapping<R> {
  // Worked out once: every row read or written goes through these (10,000 of them for a listing).
  const mapped = (Object.keys(codecs) as Array<keyof R & string>).map((field) => ({
    field,
    column: columnOf(field),
    codec: codecs[field] as ColumnCodec<unknown>,
  }));
  const columns = [...mapped.map(({ column }) => column), 'mac'];
  return {
    columns: columns.join(', '),
    params: columns.map((column) => `@${column}`).join(', '),
    toSql(row, mac) {
      const sql: Record<string, unknown> = { mac };
      for (const { field, column, codec } of mapped) sql[column] = codec.toSql(row[field] ?? null);
      return sql as SqlRecord;
    },
    fromSql(sql) {
      const row: Record<string, unknown> = {};
      for (const { field, column, codec } of mapped) row[field] = codec.fromSql(sql[column]);
      return row as R;
    },
  };
}
