import type { AuditPage, AuditQuery } from '@dcs/shared';
import type { AuditFilter, AuditLog } from '../audit/audit-log.js';
import { coversHosts } from '../auth/authorize.js';
import type { TokenTable } from '../store/store.js';
import { auditActor, authorize, type RequestContext } from './context.js';

/** Dependencies of the audit service. */
export interface AuditServiceDeps {
  audit: Pick<AuditLog, 'append' | 'list'>;
  tokens: Pick<TokenTable, 'list'>;
}

/** Reading the audit log through `GET /v1/audit` (admin and auditor). */
export interface AuditService {
  /** Returns one page of events matching the filters, past the cursor, oldest or newest first. */
  list(ctx: RequestContext, query: AuditQuery): Promise<AuditPage>;
}

/**
 * Builds the audit service. Reading the log is itself recorded (`audit.read`). A host-limited reader
 * sees the rows that name one of its hosts, and the rows that name no host (token and audit actions,
 * listings) only when a token within its hosts wrote them, itself included; rows without a host or
 * a token (the first admin token, failed logins with no token id) stay hidden from it.
 */
export function createAuditService({ audit, tokens }: AuditServiceDeps): AuditService {
  const readerView = async (ctx: RequestContext): Promise<AuditFilter['within']> => {
    const hosts = ctx.principal.hosts;
    if (hosts === null) return undefined;
    const tokenIds = (await tokens.list())
      .filter((row) => coversHosts(ctx.principal, row.hosts))
      .map((row) => row.id);
    return { hosts, tokenIds };
  };

  return {
    async list(ctx, query) {
      await authorize(audit, ctx, 'audit.read');
      // One row more than asked tells whether another page follows without a second query.
      const rows = await audit.list({
        since: query.since,
        host: query.host,
        action: query.action,
        tokenId: query.token,
        within: await readerView(ctx),
        // The cursor is the last seq of the previous page: the next one starts past it, in the order asked.
        ...(query.cursor === undefined ? {} : query.order === 'desc' ? { before: Number(query.cursor) } : { after: Number(query.cursor) }),
        order: query.order,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? String(page.at(-1)!.seq) : null;
      await audit.append({ ...auditActor(ctx), action: 'audit.read', outcome: 'ok', detail: { count: page.length } });
      return { events: page, nextCursor };
    },
  };
}
