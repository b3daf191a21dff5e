import type { RequestHandler } from 'express';
import type { AuditLog } from '../audit/audit-log.js';
import { UnauthenticatedError, RateLimitedError } from '../errors.js';
import { AuthenticationFailure, type TokenService } from '../services/token-service.js';
import type { FailureLimiter } from './failure-limiter.js';

/** Dependencies of the authentication middleware. */
export interface AuthenticateDeps {
  tokens: Pick<TokenService, 'authenticate'>;
  audit: Pick<AuditLog, 'append'>;
  limiter: FailureLimiter;
}

/**
 * Bearer token → Principal in res.locals; otherwise 401 (audited), or 429 after repeated failures
 * from one source. A blocked TCP address is refused outright for the rest of the window. Every
 * client of the Unix socket shares one source (and holds the socket's owner's rights anyway), so
 * there a block only answers further failures with 429, unaudited, and valid tokens still pass:
 * one runner looping on a stale token must not lock out every helper on the host.
 */
export function authenticate({ tokens, audit, limiter }: AuthenticateDeps): RequestHandler {
  return (req, res, next) => {
    const source = req.socket.remoteAddress ?? 'unix';
    const blockedFor = limiter.blockedFor(source);
    if (blockedFor > 0 && source !== 'unix') throw new RateLimitedError(blockedFor);

    const header = req.get('authorization');
    const match = header ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
    try {
      if (!match) throw new AuthenticationFailure('malformed', undefined, 'a bearer token is required (Authorization: Bearer <token>)');
      res.locals['principal'] = tokens.authenticate(match[1]!);
    } catch (error) {
      if (error instanceof AuthenticationFailure) {
        if (blockedFor > 0) throw new RateLimitedError(blockedFor);
        limiter.recordFailure(source);
        audit.append({
          action: 'auth.failed',
          outcome: 'denied',
          requestId: res.locals['requestId'] as string,
          tokenId: error.claimedTokenId,
          detail: { reason: header ? error.reason : 'missing', source },
        });
        throw new UnauthenticatedError(error.message);
      }
      throw error;
    }
    next();
  };
}
