import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createAuditLog, type AuditVerifyResult } from '../audit/audit-log.js';
import { loadDaemonConfig } from '../daemon-config.js';
import { ConfigError } from '../errors.js';
import { type CliIo, UsageError } from './io.js';

/** Help text of `scalr-credd audit`. */
export const AUDIT_HELP = `Usage: scalr-credd audit verify [--data-dir DIR] [--json]

Checks the audit log's hash chain offline: every row must follow the previous one, no row may be
changed or missing, and the recorded head must match the last row. Opens the database read-only
and needs no key; it may run while the daemon serves.

Exit status: 0 when the chain is intact, 1 when it is broken (the problem is printed).
To read events, use GET /v1/audit with an admin or auditor token.
`;

/** Runs `scalr-credd audit verify`. */
export function runAuditCommand(args: string[], io: CliIo): number {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '--help' || verb === '-h') return (io.stdout(AUDIT_HELP), verb === undefined ? 2 : 0);
  if (verb !== 'verify') throw new UsageError(`unknown audit verb "${verb}"`);
  const { values } = parseArgs({
    args: rest,
    options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(AUDIT_HELP), 0);
  const config = loadDaemonConfig({ dataDir: values['data-dir'] }, io.env, io.homeDir);
  const result = verifyAuditFile(config.paths.dbPath);
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    io.stdout(`audit log intact: ${result.rows} rows, hash chain verified\n`);
  } else {
    io.stderr(`scalr-credd: audit log BROKEN: ${result.problem} (checked ${result.rows} rows)\n`);
  }
  return result.ok ? 0 : 1;
}

/** Verifies the audit chain of a database file, opened read-only. */
export function verifyAuditFile(dbPath: string): AuditVerifyResult {
  if (!existsSync(dbPath)) throw new ConfigError(`database ${dbPath} does not exist`);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return createAuditLog(db).verify();
  } finally {
    db.close();
  }
}
