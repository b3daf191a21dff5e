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
  /** The peer's address; undefined on the Unix socket. */
  remoteAddress: string | undefined;
  /** The Authorization header as received. */
  authorization: string | undefined;
  requestId: string;
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Bearer token → Principal; otherwise UnauthenticatedError (audited), or RateLimitedError after
 * repeated failures from one source. A blocked TCP address is refused outright for the rest of the
 * window. Every client of the Unix socket shares one source (and holds the socket's owner's rights
 * anyway), so there a block only answers further failures with 429, unaudited, and valid tokens
 * still pass: one runner looping on a stale token must not lock out every helper on the host.
 */
export function authenticateRequest({ tokens, audit, limiter }: AuthenticateDeps, request: Credentials): Principal {
  const source = request.remoteAddress ?? 'unix';
  const blockedFor = limiter.blockedFor(source);
  if (blockedFor > 0 && source !== 'unix') throw new RateLimitedError(blockedFor);

  const header = request.authorization;
  const match = header ? BEARER.exec(header) : null;
  try {
    if (!match) throw new AuthenticationFailure('malformed', undefined, 'a bearer token is required (Authorization: Bearer <token>)');
    return tokens.authenticate(match[1]!);
  } catch (error) {
    if (!(error instanceof AuthenticationFailure)) throw error;
    if (blockedFor > 0) throw new RateLimitedError(blockedFor);
    limiter.recordFailure(source);
    audit.append({
      action: 'auth.failed',
      outcome: 'denied',
      requestId: request.requestId,
      tokenId: error.claimedTokenId,
      detail: { reason: header ? error.reason : 'missing', source },
    });
    throw new UnauthenticatedError(error.message);
  }
}

/** The express middleware: authenticateRequest's Principal goes to the request state (res.locals). */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  return (req, res, next) => {
    const state = res.locals as RequestState;
    state.principal = authenticateRequest(deps, {
      remoteAddress: req.socket.remoteAddress,
      authorization: req.headers.authorization,
      requestId: state.requestId,
    });
    next();
  };
}
