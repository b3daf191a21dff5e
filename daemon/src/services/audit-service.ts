import type { AuditEvent, AuditPage, AuditQuery } from '@dcs/shared';
import type { AuditLog, AuditRecord } from '../audit/audit-log.js';
import { auditActor, authorize, type RequestContext } from './context.js';

/** Dependencies of the audit service. */
export interface AuditServiceDeps {
  audit: Pick<AuditLog, 'append' | 'list'>;
}

/** Reading the audit log through `GET /v1/audit` (admin and auditor). */
export interface AuditService {
  /** Returns one page of events matching the filters, after the cursor, in log order. */
  list(ctx: RequestContext, query: AuditQuery): AuditPage;
}

/** Builds the audit service. Reading the log is itself recorded (`audit.read`). */
export function createAuditService({ audit }: AuditServiceDeps): AuditService {
  return {
    list(ctx, query) {
      authorize(audit, ctx, 'audit.read');
      // One row more than asked tells whether another page follows without a second query.
      const rows = audit.list({
        since: query.since,
        host: query.host,
        action: query.action,
        tokenId: query.token,
        after: query.cursor === undefined ? undefined : Number(query.cursor),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? String(page.at(-1)!.seq) : null;
      audit.append({ ...auditActor(ctx), action: 'audit.read', outcome: 'ok', detail: { count: page.length } });
      return { events: page.map(toEvent), nextCursor };
    },
  };
}

function toEvent(record: AuditRecord): AuditEvent {
  return {
    seq: record.seq,
    at: record.at,
    requestId: record.requestId,
    tokenId: record.tokenId,
    tokenName: record.tokenName,
    role: record.role as AuditEvent['role'],
    action: record.action,
    host: record.host,
    targetId: record.targetId,
    outcome: record.outcome as AuditEvent['outcome'],
    detail: record.detail,
    hash: record.hash,
  };
}
