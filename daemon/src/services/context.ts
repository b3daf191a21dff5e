import type { AuditEntry, AuditLog } from '../audit/audit-log.js';
import { assertCan, type Principal, type Resource } from '../auth/authorize.js';
import type { Action } from '../auth/permissions.js';
import { ForbiddenError } from '../errors.js';

/** Who asks, and the request id that ties log lines and audit rows together. */
export interface RequestContext {
  principal: Principal;
  requestId: string;
}

/** The audit fields that identify the caller. */
export function auditActor(ctx: RequestContext): Pick<AuditEntry, 'requestId' | 'tokenId' | 'tokenName' | 'role'> {
  return {
    requestId: ctx.requestId,
    tokenId: ctx.principal.tokenId,
    tokenName: ctx.principal.name,
    role: ctx.principal.role,
  };
}

const ALLOWED = Promise.resolve();

/** assertCan that also records a denial in the audit log before it rejects; allowed, it is an already resolved promise. */
export function authorize(audit: Pick<AuditLog, 'append'>, ctx: RequestContext, action: Action, resource: Resource = {}): Promise<void> {
  try {
    assertCan(ctx.principal, action, resource);
    return ALLOWED;
  } catch (error) {
    if (!(error instanceof ForbiddenError)) return Promise.reject(error as Error);
    return audit.append({ ...auditActor(ctx), action, host: resource.host, outcome: 'denied' }).then(() => Promise.reject(error));
  }
}
