import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createAuditLog, type AuditVerifyResult } from '../audit/audit-log.js';
import { ConfigError } from '../errors.js';
import { connectStore } from '../lifecycle/store-connection.js';
import type { StorePaths } from '../lifecycle/store-paths.js';
import { sqliteStoreOver } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { type CliIo, UsageError } from './io.js';
import { pathsFromOptions } from './store-options.js';

/** Help text of `scalr-credd audit`. */
export const AUDIT_HELP = `Usage: scalr-credd audit verify [--data-dir DIR | --store URL] [--anchor SEQ:HASH] [--json]
       scalr-credd audit list [--since WHEN] [--host HOST] [--action ACTION] [--token ID] [--limit N] [--json]

verify  Checks the audit log's hash chain offline: every row must follow the previous one, no row
        may be changed or missing, and the recorded head must match the last row. Opens an SQLite
        database read-only and needs no key; it may run while daemons serve. Prints the head
        (the last row's seq and hash): export it to a place the daemon's host cannot write (your
        log pipeline, a ticket) and later pass it as --anchor SEQ:HASH, which also fails when the
        chain was rebuilt since (someone who can write the database file can rebuild a chain that
        verifies on its own).
        With --json prints {"ok", "rows", "head": {"seq", "hash"} | null} (and "problem" when broken).
        Exit status: 0 when the chain is intact (and holds the anchor), 1 otherwise.

list    Reads events over the API (admin or auditor token), newest first; see
        'scalr-credd audit list --help'.
`;

/** Where the chain ended when it was last exported: `SEQ:HASH`. */
interface Anchor {
  seq: number;
  hash: string;
}

/** What `audit verify` reports: the chain check with its head, and whether it holds the anchor. */
export type AuditFileReport = AuditVerifyResult;

/** Runs `scalr-credd audit verify`. */
export async function runAuditCommand(args: string[], io: CliIo): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') return (io.stdout(AUDIT_HELP), verb === undefined ? 2 : 0);
  if (verb !== 'verify') throw new UsageError(`unknown audit verb "${verb}"; use verify or list`);
  const { values } = parseArgs({
    args: rest,
    options: { 'data-dir': { type: 'string' }, store: { type: 'string' }, anchor: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(AUDIT_HELP), 0);
  const anchor = values.anchor === undefined ? undefined : anchorArgument(values.anchor);
  const result = await verifyAuditLog(pathsFromOptions(values, io), anchor);
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    const head = result.head ? `head seq ${result.head.seq} hash ${result.head.hash}` : 'no head yet';
    const anchored = anchor ? `; holds the anchor at seq ${anchor.seq}` : '';
    io.stdout(`audit log intact: ${result.rows} rows, hash chain verified${anchored}\n${head}\n`);
  } else {
    io.stderr(`scalr-credd: audit log BROKEN: ${result.problem} (checked ${result.rows} rows)\n`);
  }
  return result.ok ? 0 : 1;
}

/**
 * Verifies the audit chain of a store (an SQLite file is opened read-only); with an anchor, the row
 * at its seq must still carry its hash.
 */
export async function verifyAuditLog(paths: StorePaths, anchor?: Anchor): Promise<AuditFileReport> {
  const store = await openForReading(paths);
  try {
    const log = createAuditLog(store);
    const result = await log.verify();
    if (!result.ok || anchor === undefined) return result;
    const [anchored] = await log.list({ after: anchor.seq - 1, limit: 1 });
    if (anchored?.seq !== anchor.seq) {
      return { ok: false, rows: result.rows, problem: `the anchored row ${anchor.seq} is not in the log (it ends at ${result.head?.seq ?? 0})`, head: null };
    }
    if (anchored.hash !== anchor.hash) {
      return { ok: false, rows: result.rows, problem: `row ${anchor.seq} no longer has the anchored hash: the chain was rewritten since it was exported`, head: null };
    }
    return result;
  } finally {
    await store.close();
  }
}

async function openForReading(paths: StorePaths): Promise<Store> {
  if (paths.storeUrl !== undefined) return connectStore(paths);
  if (!existsSync(paths.dbPath)) throw new ConfigError(`database ${paths.dbPath} does not exist`);
  return sqliteStoreOver(new Database(paths.dbPath, { readonly: true, fileMustExist: true }), `database ${paths.dbPath}`);
}

function anchorArgument(text: string): Anchor {
  const match = /^([1-9][0-9]{0,14}):([0-9a-f]{64})$/.exec(text.trim().toLowerCase());
  if (!match) throw new UsageError('--anchor takes SEQ:HASH as audit verify printed it, e.g. 42:3f9a… (64 hex digits)');
  return { seq: Number(match[1]), hash: match[2]! };
}
