/**
 * The pre-flight: what every request gets before it is routed, on both paths (the direct lookup
 * route and the express app). It runs once per request, in buildApp's listener, and gives the
 * request its id (echoed as X-Request-Id), `Cache-Control: no-store` (nothing the daemon answers may
 * be cached: a lookup answer holds a secret, every other answer describes the store at one instant)
 * and the request log line and metrics observation written when the response finishes.
 */
import { randomUUID } from 'node:crypto';
import { API_ROUTES } from '@dcs/shared';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/authorize.js';
import type { Logger } from '../observability/logger.js';
import { createSourceOf, type SourceOf } from './client-address.js';

/** A client's X-Request-Id is kept only when it is this short and plain; otherwise a UUID replaces it. */
const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Observes every finished request (metrics). */
export type RequestObserver = (info: { method: string; route: string; status: number; ms: number }) => void;

/**
 * What the pre-flight hands the route that serves a request. Express keeps it as `res.locals`, so
 * `authenticate` and `route()` read and write the same object the lookup route does.
 */
export interface RequestState {
  readonly requestId: string;
  /** Where the request comes from (client-address.ts): the failure limiter's key, and in the log line. */
  readonly source: string;
  /** Set once the request is authenticated; its token id goes into the log line. */
  principal?: Principal | undefined;
  /**
   * The route pattern for the log line and metric labels; unset, express's matched route is used, and
   * for a request answered before routing (a 401 from authentication, a 400 from the body parser) the
   * API route its path names (routeOfPath).
   */
  route?: string | undefined;
}

/** What the pre-flight needs. */
export interface PreflightDeps {
  logger: Logger;
  onRequest?: RequestObserver | undefined;
  /** How the source address is found; default: the peer's address. */
  sourceOf?: SourceOf | undefined;
}

const peerAddress = createSourceOf([]);

/** Each API route's pattern and a matcher for the paths it takes (a `:param` is one segment; express ignores a trailing slash). */
const ROUTE_MATCHERS = Object.values(API_ROUTES).map((pattern) => ({
  pattern,
  matcher: new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}/?$`),
}));

/** The API route pattern a request target's path names, else `unmatched`: never the path itself (ids and hosts stay out of labels). */
export function routeOfPath(url: string | undefined): string {
  const path = (url ?? '').split('?', 1)[0]!;
  return ROUTE_MATCHERS.find(({ matcher }) => matcher.test(path))?.pattern ?? 'unmatched';
}

/** The request's id: the client's X-Request-Id when short and plain, otherwise a new UUID. */
export function requestIdFor(offered: string | string[] | undefined): string {
  return typeof offered === 'string' && CLIENT_ID.test(offered) ? offered : randomUUID();
}

/** Runs the pre-flight on a request and returns its state. */
export function preflight(req: IncomingMessage, res: ServerResponse, { logger, onRequest, sourceOf = peerAddress }: PreflightDeps): RequestState {
  const state: RequestState = { requestId: requestIdFor(req.headers['x-request-id']), source: sourceOf(req) };
  res.setHeader('X-Request-Id', state.requestId);
  res.setHeader('Cache-Control', 'no-store');
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // The route pattern, not the URL: ids stay out of metric labels.
    const route = state.route ?? (req as { route?: { path?: string } }).route?.path ?? routeOfPath(req.url);
    const method = req.method ?? 'GET';
    logger.info('request', {
      requestId: state.requestId,
      method,
      route,
      status: res.statusCode,
      ms: Math.round(ms * 100) / 100,
      tokenId: state.principal?.tokenId,
      source: state.source,
    });
    onRequest?.({ method, route, status: res.statusCode, ms });
  });
  return state;
}
