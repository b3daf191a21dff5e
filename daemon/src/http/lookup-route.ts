/**
 * `POST /v1/credentials/get` served on node:http directly, in front of the express app.
 *
 * Every registry access on a runner is one lookup, so this is the daemon's hot path; express's
 * router and middleware stack cost several times the lookup itself. The request has been through the
 * same pre-flight as every other (preflight.ts); this route then does what the express pipeline does
 * for the lookup — authentication with the failure limiter, the JSON body rules, the zod schema, the
 * credential service (which audits before it answers), the same error bodies through the same mapper
 * — with the same functions. `EXPRESS_PIPELINE` in app.ts names, for each express middleware, how
 * this route mirrors it or why `claims()` keeps it away.
 *
 * It only claims the plain form every client sends: exactly this path, POST, a body announced by
 * Content-Length or Transfer-Encoding, `Content-Type: application/json` (optionally
 * `; charset=utf-8`) and no Content-Encoding. Anything else (a query string, a trailing slash,
 * another charset, a compressed body) goes to the express route, which answers it as before. The
 * API tests send the same requests both ways and compare the answers and the audit rows.
 */
import { API_ROUTES, CREDENTIAL_WARNING_HEADER, ServerUrlBodySchema } from '@dcs/shared';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { RequestContext } from '../services/context.js';
import type { CredentialService } from '../services/credential-service.js';
import { authenticateRequest, type AuthenticateDeps } from './authenticate.js';
import { sendError, sendJson } from './error-handler.js';
import { PLAIN_JSON_TYPES, readJsonBody } from './json-body.js';
import type { RequestState } from './preflight.js';

/** What the lookup route needs. */
export interface LookupRouteDeps extends AuthenticateDeps {
  credentials: Pick<CredentialService, 'lookupWithNotice'>;
  logger: Logger;
}

/** Answers the request and returns true when it is a lookup this route serves; false leaves it untouched. */
export type ClaimingHandler = (req: IncomingMessage, res: ServerResponse, state: RequestState) => boolean;

const ROUTE = API_ROUTES.credentialsGet;

/** Builds the direct lookup route. */
export function lookupRoute(deps: LookupRouteDeps): ClaimingHandler {
  const { credentials, logger } = deps;
  return (req, res, state) => {
    if (!claims(req)) return false;
    state.route = ROUTE;
    const id = state.requestId;
    authenticateRequest(deps, { source: state.source, authorization: req.headers.authorization, requestId: id }).then(
      (principal) => {
        state.principal = principal;
        answer(req, res, { principal, requestId: id });
      },
      (error: unknown) => sendError(res, error, id, logger),
    );
    return true;
  };

  /** Reads the body of an authenticated lookup and answers it. */
  function answer(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const id = ctx.requestId;
    readJsonBody(req, (error, body) => {
      if (error) return void sendError(res, error, id, logger);
      let serverURL: string;
      try {
        serverURL = ServerUrlBodySchema.parse(body).ServerURL;
      } catch (invalid) {
        return void sendError(res, invalid, id, logger);
      }
      credentials.lookupWithNotice(ctx, serverURL).then(
        ({ credential, warning }) => {
          if (warning) res.setHeader(CREDENTIAL_WARNING_HEADER, warning);
          sendJson(res, 200, credential);
        },
        (failure: unknown) => sendError(res, failure, id, logger),
      );
    });
  }
}

/**
 * Whether this route serves the request. Everything it does not take — other paths (so the
 * health, OpenAPI and metrics routes), other methods, and the bodies the JSON rules would read
 * differently — is left to express.
 */
function claims(req: IncomingMessage): boolean {
  const { headers } = req;
  return (
    req.url === ROUTE &&
    req.method === 'POST' &&
    (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) &&
    headers['content-encoding'] === undefined &&
    PLAIN_JSON_TYPES.has(headers['content-type']?.toLowerCase() ?? '')
  );
}
