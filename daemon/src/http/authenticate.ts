import type { RequestHandler } from 'express';
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../auth/authorize.js';
import { UnauthenticatedError, RateLimitedError } from '../errors.js';
import { AuthenticationFailure, type TokenService } from '../services/token-service.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { RequestState } from './preflight.js';

/** Dependencies of authentication. */
export interface AuthenticateDeps {
  tokens: Pick<TokenService, 'authenticate'>;
  audit: Pick<AuditLog, 'append'>;
  limiter: FailureLimiter;
}

/** What authentication reads from a request. */
export interface Credentials {
  /** Where the request comes from (RequestState.source). */
  source: string;
  /** The Authorization header as received. */
  authorization: string | undefined;
  requestId: string;
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Bearer token → Principal; otherwise UnauthenticatedError, or RateLimitedError once the source
 * failed too often. A valid token always passes, whatever its source did: every client behind one
 * proxy, and every client of the Unix socket, shares a source, and one runner looping on a stale
 * token must not lock the others out. The limiter decides which failures get an audit row of their
 * own; the rest are audited as summaries with a count (writeFailureSummaries).
 */
export async function authenticateRequest(deps: AuthenticateDeps, request: Credentials): Promise<Principal> {
  const header = request.authorization;
  const match = header ? BEARER.exec(header) : null;
  try {
    if (!match) throw new AuthenticationFailure('malformed', undefined, 'a bearer token is required (Authorization: Bearer <token>)');
    return await deps.tokens.authenticate(match[1]!);
  } catch (error) {
    if (!(error instanceof AuthenticationFailure)) throw error;
    const { source } = request;
    const { limiter, audit } = deps;
    const reason = header ? error.reason : 'missing';
    const blockedFor = limiter.blockedFor(source);
    // A row that fails its MAC is evidence of an edited store, not a guess: every one is audited.
    const auditedAlone = limiter.recordFailure(source, reason) || reason === 'tampered';
    // Summaries of ended windows first, so the rows keep the order of the failures.
    await writeFailureSummaries(deps);
    if (auditedAlone) {
      await audit.append({
        action: 'auth.failed',
        outcome: 'denied',
        requestId: request.requestId,
        tokenId: error.claimedTokenId,
        detail: { reason, source },
      });
    }
    if (blockedFor > 0) throw new RateLimitedError(blockedFor);
    throw new UnauthenticatedError(error.message);
  }
}

/** Audits the limiter's summaries of repeated failures: one row per source and window, with the count. */
export async function writeFailureSummaries({ limiter, audit }: Pick<AuthenticateDeps, 'limiter' | 'audit'>, all = false): Promise<void> {
  for (const summary of limiter.takeSummaries(all)) {
    await audit.append({
      action: 'auth.failed',
      outcome: 'denied',
      detail: {
        reason: 'repeated',
        source: summary.source,
        count: summary.failures,
        sources: summary.sources,
        from: new Date(summary.from).toISOString(),
        to: new Date(summary.to).toISOString(),
      },
    });
  }
}

/** The express middleware: authenticateRequest's Principal goes to the request state (res.locals). */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  return async (req, res, next) => {
    const state = res.locals as RequestState;
    state.principal = await authenticateRequest(deps, {
      source: state.source,
      authorization: req.headers.authorization,
      requestId: state.requestId,
    });
    next();
  };
}
