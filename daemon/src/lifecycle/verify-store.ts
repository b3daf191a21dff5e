import { createAuditLog, type AuditVerifyResult } from '../audit/audit-log.js';
import { connectStore } from './store-connection.js';
import { requireExistingStore, type StorePaths } from './store-paths.js';
import { findUnauthenticatedRows, usingUnlockedStore } from './unlock-store.js';

/** What `scalr-credd verify` found. */
export interface StoreVerification {
  ok: boolean;
  /** Schema objects the migrations did not create (`trigger x`, `table y (changed)`). */
  foreignSchema: string[];
  /** Rows whose MAC fails (`tokens row tok_…`, `integrations row int_…`). */
  failedRows: string[];
  audit: AuditVerifyResult;
}

/**
 * Checks a store with its root key: the schema is exactly the migrations', the keyring opens (else
 * ConfigError, as at start), every token and integration row authenticates, and the audit chain holds.
 */
export async function verifyStore(paths: StorePaths): Promise<StoreVerification> {
  requireExistingStore(paths);
  const store = await connectStore(paths);
  try {
    const foreignSchema = await store.foreignSchemaObjects();
    const failedRows = await usingUnlockedStore(store, { keyPath: paths.rootKeyPath, subject: store.subject }, () => findUnauthenticatedRows(store));
    const audit = await createAuditLog(store).verify();
    return { ok: foreignSchema.length === 0 && failedRows.length === 0 && audit.ok, foreignSchema, failedRows, audit };
  } finally {
    await store.close();
  }
}
