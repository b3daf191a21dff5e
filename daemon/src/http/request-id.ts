import type { RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Observes every finished request (metrics). */
export type RequestObserver = (info: { method: string; route: string; status: number; ms: number }) => void;

/** The request's id: the client's X-Request-Id when sane, otherwise a new UUID. */
export function requestIdFor(offered: string | string[] | undefined): string {
  return typeof offered === 'string' && CLIENT_ID.test(offered) ? offered : randomUUID();
}

/** Logs the request and tells the observer once the response finished; `route` is read then. */
export function logWhenFinished(
  res: ServerResponse,
  request: { id: string; method: string; route: () => string; tokenId: () => string | undefined },
  logger: Logger,
  onRequest: RequestObserver | undefined,
): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const route = request.route();
    logger.info('request', {
      requestId: request.id,
      method: request.method,
      route,
      status: res.statusCode,
      ms: Math.round(ms * 100) / 100,
      tokenId: request.tokenId(),
    });
    onRequest?.({ method: request.method, route, status: res.statusCode, ms });
  });
}

/** Gives each request an id, echoes it, and logs the request when it ends. */
export function requestId(logger: Logger, onRequest?: RequestObserver): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFor(req.headers['x-request-id']);
    res.locals['requestId'] = id;
    res.setHeader('X-Request-Id', id);
    logWhenFinished(
      res,
      {
        id,
        method: req.method,
        // The route pattern, not the URL: ids stay out of metric labels.
        route: () => (req.route as { path?: string } | undefined)?.path ?? 'unmatched',
        tokenId: () => (res.locals['principal'] as { tokenId?: string } | undefined)?.tokenId,
      },
      logger,
      onRequest,
    );
    next();
  };
}
