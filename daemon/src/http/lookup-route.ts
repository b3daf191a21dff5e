/**
 * `POST /v1/credentials/get` served on node:http directly, in front of the express app.
 *
 * Every registry access on a runner is one lookup, so this is the daemon's hot path; express's
 * router and middleware stack cost several times the lookup itself. This route does what the
 * express pipeline does for the lookup — request id, `Cache-Control: no-store`, authentication with
 * the failure limiter, the 64 KiB JSON body, the zod schema, the credential service (which audits
 * before it answers), the same error bodies through the same mapper, the request log line and
 * metrics — with the same functions where they exist.
 *
 * It only claims the plain form every client sends: exactly this path, POST, a body announced by
 * Content-Length or Transfer-Encoding, `Content-Type: application/json` (optionally
 * `; charset=utf-8`) and no Content-Encoding. Anything else (a query string, a trailing slash,
 * another charset, a compressed body) goes to the express route, which answers it as before. The
 * API tests send the same requests both ways and compare the answers and the audit rows.
 */
import { API_ROUTES, CREDENTIAL_WARNING_HEADER, MAX_BODY_BYTES, ServerUrlBodySchema } from '@dcs/shared';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/authorize.js';
import type { Logger } from '../observability/logger.js';
import type { CredentialService } from '../services/credential-service.js';
import { authenticateRequest, type AuthenticateDeps } from './authenticate.js';
import { sendError, sendJson } from './error-handler.js';
import { logWhenFinished, requestIdFor, type RequestObserver } from './request-id.js';

/** What the lookup route needs. */
export interface LookupRouteDeps extends AuthenticateDeps {
  credentials: Pick<CredentialService, 'lookupWithNotice'>;
  logger: Logger;
  onRequest?: RequestObserver | undefined;
}

/** Answers the request and returns true when it is a lookup this route serves; false leaves it untouched. */
export type ClaimingHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = API_ROUTES.credentialsGet;
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/** Builds the direct lookup route. */
export function lookupRoute(deps: LookupRouteDeps): ClaimingHandler {
  const { credentials, logger, onRequest } = deps;
  return (req, res) => {
    if (!claims(req)) return false;
    const id = requestIdFor(req.headers['x-request-id']);
    let principal: Principal | undefined;
    res.setHeader('X-Request-Id', id);
    logWhenFinished(res, { id, method: 'POST', route: () => ROUTE, tokenId: () => principal?.tokenId }, logger, onRequest);
    res.setHeader('Cache-Control', 'no-store');
    try {
      principal = authenticateRequest(deps, { remoteAddress: req.socket.remoteAddress, authorization: req.headers.authorization, requestId: id });
    } catch (error) {
      sendError(res, error, id, logger);
      return true;
    }
    const ctx = { principal, requestId: id };
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
    return true;
  };
}

function claims(req: IncomingMessage): boolean {
  const { headers } = req;
  return (
    req.url === ROUTE &&
    req.method === 'POST' &&
    (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) &&
    headers['content-encoding'] === undefined &&
    JSON_TYPES.has(headers['content-type']?.toLowerCase() ?? '')
  );
}

/** An error of the kind body-parser raises (its `type`), so the one error mapper answers it as for express. */
function bodyError(type: 'entity.too.large' | 'entity.parse.failed'): Error {
  return Object.assign(new Error(type), { type });
}

const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/;

/**
 * Reads the body as express.json (strict) does: at most MAX_BODY_BYTES (more is read to the end and
 * refused), UTF-8 with a leading BOM dropped, an empty body is `{}`, the top level must be an object
 * or an array. A request the client abandons gets no answer.
 */
function readJsonBody(req: IncomingMessage, done: (error: unknown, body?: unknown) => void): void {
  const announced = Number(req.headers['content-length']);
  let tooLarge = announced > MAX_BODY_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      chunks.length = 0;
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (tooLarge) return done(bodyError('entity.too.large'));
    let text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) return done(undefined, {});
    const first = text[0] === '{' || text[0] === '[' ? text[0] : FIRST_NON_WHITESPACE.exec(text)?.[1];
    if (first !== '{' && first !== '[') return done(bodyError('entity.parse.failed'));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return done(bodyError('entity.parse.failed'));
    }
    done(undefined, body);
  });
}
