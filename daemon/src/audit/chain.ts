/**
 * What an audit row's hash covers, in one place: the daemon hashes it with node:crypto when it writes
 * and verifies, and the admin console rebuilds it from the API's events to check the rows it shows.
 * Pure (no Node modules), so the console's bundle can import it.
 */

/** The hash before the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** The hashed columns of a row, in this order: seq, at, request_id, token_id, token_name, role, action, host, target_id, outcome, detail. */
export type ChainFields = [
  seq: number, at: string, requestId: string | null, tokenId: string | null, tokenName: string | null, role: string | null,
  action: string, host: string | null, targetId: string | null, outcome: string, detail: string | null,
];

/** The text a row's hash is the SHA-256 (hex) of: the previous row's hash, a newline, and the JSON array of its fields. */
export function chainText(prevHash: string, fields: ChainFields): string {
  return `${prevHash}\n${JSON.stringify(fields)}`;
}

/** A row's hashed fields after its seq. */
export type ChainFieldsAfterSeq = ChainFields extends [unknown, ...infer Rest] ? Rest : never;

/**
 * The JSON text of a row's fields after its seq, without the array's opening bracket, so that a store
 * can hash a row knowing only the seq it assigns (PostgreSQL does it in SQL, store/postgres/):
 * chainText(prev, [seq, ...rest]) === `${prev}\n[${seq},${chainTail(rest)}` for every integer seq.
 */
export function chainTail(rest: ChainFieldsAfterSeq): string {
  return JSON.stringify(rest).slice(1);
}

/** The hashed fields of an audit row, by name, with its detail as `D` (JSON text where stored, parsed where listed). */
export interface ChainedFieldsOf<D> {
  seq: number;
  at: string;
  requestId: string | null;
  tokenId: string | null;
  tokenName: string | null;
  role: string | null;
  action: string;
  host: string | null;
  targetId: string | null;
  outcome: string;
  detail: D | null;
}

/** The hashed fields of an audit row as the API lists it (its detail parsed). */
export type ChainedRecord = ChainedFieldsOf<Record<string, unknown>>;

/** The hashed fields of a listed event: its detail back in the JSON text it was stored as (key order survives the round trip). */
export function eventChainFields(event: ChainedRecord): ChainFields {
  return [
    event.seq, event.at, event.requestId, event.tokenId, event.tokenName, event.role,
    event.action, event.host, event.targetId, event.outcome, event.detail === null ? null : JSON.stringify(event.detail),
  ];
}
