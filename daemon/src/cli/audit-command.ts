import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createAuditLog, type AuditVerifyResult } from '../audit/audit-log.js';
import { ConfigError } from '../errors.js';
import { type CliIo, UsageError } from './io.js';
import { pathsFromOptions } from './store-options.js';

/** Help text of `scalr-credd audit`. */
export const AUDIT_HELP = `Usage: scalr-credd audit verify [--data-dir DIR] [--anchor SEQ:HASH] [--json]
       scalr-credd audit list [--since WHEN] [--host HOST] [--action ACTION] [--token ID] [--limit N] [--json]

verify  Checks the audit log's hash chain offline: every row must follow the previous one, no row
        may be changed or missing, and the recorded head must match the last row. Opens the
        database read-only and needs no key; it may run while the daemon serves. Prints the head
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

/** What `audit verify` reports: the chain check, its head, and whether it holds the anchor. */
export type AuditFileReport = AuditVerifyResult & { head: Anchor | null };

/** Runs `scalr-credd audit verify`. */
export function runAuditCommand(args: string[], io: CliIo): number {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') return (io.stdout(AUDIT_HELP), verb === undefined ? 2 : 0);
  if (verb !== 'verify') throw new UsageError(`unknown audit verb "${verb}"; use verify or list`);
  const { values } = parseArgs({
    args: rest,
    options: { 'data-dir': { type: 'string' }, anchor: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(AUDIT_HELP), 0);
  const anchor = values.anchor === undefined ? undefined : anchorArgument(values.anchor);
  const result = verifyAuditFile(pathsFromOptions(values, io).dbPath, anchor);
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
 * Verifies the audit chain of a database file, opened read-only, and reads its head in the same
 * snapshot; with an anchor, the row at its seq must still carry its hash.
 */
export function verifyAuditFile(dbPath: string, anchor?: Anchor): AuditFileReport {
  if (!existsSync(dbPath)) throw new ConfigError(`database ${dbPath} does not exist`);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const log = createAuditLog(db);
    return db.transaction((): AuditFileReport => {
      const result = log.verify();
      const last = log.list({ order: 'desc', limit: 1 })[0];
      const head = last ? { seq: last.seq, hash: last.hash } : null;
      if (!result.ok || anchor === undefined) return { ...result, head };
      const anchored = log.list({ after: anchor.seq - 1, limit: 1 })[0];
      if (anchored?.seq !== anchor.seq) {
        return { ok: false, rows: result.rows, problem: `the anchored row ${anchor.seq} is not in the log (it ends at ${head?.seq ?? 0})`, head };
      }
      if (anchored.hash !== anchor.hash) {
        return { ok: false, rows: result.rows, problem: `row ${anchor.seq} no longer has the anchored hash: the chain was rewritten since it was exported`, head };
      }
      return { ...result, head };
    })();
  } finally {
    db.close();
  }
}

function anchorArgument(text: string): Anchor {
  const match = /^([1-9][0-9]{0,14}):([0-9a-f]{64})$/.exec(text.trim().toLowerCase());
  if (!match) throw new UsageError('--anchor takes SEQ:HASH as audit verify printed it, e.g. 42:3f9a… (64 hex digits)');
  return { seq: Number(match[1]), hash: match[2]! };
}
