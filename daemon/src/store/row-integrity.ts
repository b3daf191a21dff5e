import { IntegrityError } from '../errors.js';

/**
 * Row authentication. Someone who can write the database file (or a backup of it) but has no root key
 * must not be able to plant a token, promote one, un-revoke one, or point an integration elsewhere.
 * Every security-relevant row therefore carries a MAC over its fields under a key only the root key
 * unlocks (barrier/row-authenticator.ts); repositories check it on every read that grants anything
 * (before a row enters the read cache) and write it with every change.
 *
 * The store knows which fields are authenticated and how they are encoded; the key and the MAC
 * belong to the barrier, which the store never imports: it is handed a RowAuthenticator.
 */

/** Computes and checks MACs over encoded rows; implemented by the barrier. */
export interface RowAuthenticator {
  tag(message: Uint8Array): Uint8Array;
  /** Constant-time. */
  verify(message: Uint8Array, tag: Uint8Array): boolean;
}

/** A value of an authenticated field. */
export type RowValue = string | number | boolean | null | undefined | Uint8Array | readonly string[];

/** The authenticated fields of a row, by name, in a fixed order. */
export type RowFields = ReadonlyArray<readonly [name: string, value: RowValue]>;

/**
 * Which fields of a row its MAC covers, in MAC order: a field's name where the MAC takes its value
 * as it is, or its name with how the MAC takes it.
 */
export type AuthenticatedFields<R> = ReadonlyArray<
  (keyof R & string) | { [K in keyof R & string]: readonly [name: K, encode: (value: R[K]) => RowValue] }[keyof R & string]
>;

/** The tables whose rows carry a MAC. */
export type AuthenticatedTable = 'tokens' | 'integrations';

/** A row whose MAC is missing or does not match its fields. The message names the table and id only. */
export class RowAuthenticationError extends IntegrityError {
  constructor(
    readonly table: AuthenticatedTable,
    readonly id: string,
  ) {
    super(`${table} row ${id} failed authentication`);
  }
}

/** What repositories use: the MAC of a row, and the check that throws (and reports) when it fails. */
export interface RowGuard {
  mac(table: AuthenticatedTable, id: string, fields: RowFields): Buffer;
  /** Throws RowAuthenticationError unless `mac` is the MAC of the row; reports the failure first. */
  check(table: AuthenticatedTable, id: string, fields: RowFields, mac: Uint8Array | null): void;
}

/** Told when a row fails authentication (the daemon logs it); never given the row's values. */
export type RowFailureListener = (failure: { table: AuthenticatedTable; id: string }) => void;

/** Builds the guard over an authenticator. */
export function createRowGuard(authenticator: RowAuthenticator, onFailure?: RowFailureListener): RowGuard {
  return {
    mac: (table, id, fields) => Buffer.from(authenticator.tag(encodeRow(table, id, fields))),
    check(table, id, fields, mac) {
      if (mac && authenticator.verify(encodeRow(table, id, fields), mac)) return;
      onFailure?.({ table, id });
      throw new RowAuthenticationError(table, id);
    },
  };
}

/**
 * The bytes a row's MAC covers: JSON of [format, table, id, [[name, value], ...]], bytes as base64.
 * Fields whose value is null or undefined are left out, so a nullable column added by a later
 * migration (a provider's fields) joins the MAC by being appended to the field list: rows that do
 * not use it keep their MACs, and setting or clearing it on a row changes the MAC input.
 */
export function encodeRow(table: AuthenticatedTable, id: string, fields: RowFields): Uint8Array {
  const present = fields
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => [name, value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value]);
  return Buffer.from(JSON.stringify(['row-mac-v1', table, id, present]), 'utf8');
}

/** Splits rows into those that authenticate (as `verify` returns them) and the ids of those that do not. */
export function sortByAuthenticity<S extends { id: string }, R>(rows: readonly S[], verify: (row: S) => R): { authentic: R[]; failed: string[] } {
  const authentic: R[] = [];
  const failed: string[] = [];
  for (const row of rows) {
    try {
      authentic.push(verify(row));
    } catch (error) {
      if (!(error instanceof RowAuthenticationError)) throw error;
      failed.push(row.id);
    }
  }
  return { authentic, failed };
}

/** What every repository of authenticated rows offers for checking and upgrading its table. */
export interface AuthenticatedRows {
  /** Ids of the rows whose MAC is missing or wrong. */
  unauthenticated(): string[];
  /** Writes the MAC of every row (the one-time upgrade of a store from before row MACs). */
  authenticateAll(): number;
}

/** How one repository authenticates its rows: the MAC of a row, and a SQL row read back only when it authenticates. */
export interface TableAuthentication<S, R> {
  macOf(row: R): Buffer;
  /** The row of `sql`, or RowAuthenticationError. */
  verified(sql: S): R;
  /** Computes and stores the MAC of every row (the one-time upgrade); returns how many. */
  authenticateAll(rows: readonly S[], store: (id: string, mac: Buffer) => void): number;
}

/** Binds the guard to a table, its SQL-row reader and its authenticated fields. */
export function authenticateTable<S extends { mac: Buffer | null }, R extends { id: string }>(
  guard: RowGuard,
  table: AuthenticatedTable,
  fromSql: (sql: S) => R,
  authenticated: AuthenticatedFields<R>,
): TableAuthentication<S, R> {
  const fields = (row: R): RowFields =>
    authenticated.map((field) =>
      typeof field === 'string' ? [field, row[field] as RowValue] : [field[0], (field[1] as (value: unknown) => RowValue)(row[field[0]])],
    );
  const macOf = (row: R): Buffer => guard.mac(table, row.id, fields(row));
  return {
    macOf,
    verified(sql) {
      const row = fromSql(sql);
      guard.check(table, row.id, fields(row), sql.mac);
      return row;
    },
    authenticateAll(rows, store) {
      for (const row of rows.map(fromSql)) store(row.id, macOf(row));
      return rows.length;
    },
  };
}
