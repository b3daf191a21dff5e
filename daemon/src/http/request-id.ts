import type { RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Gives each request an id (the client's X-Request-Id when sane), echoes it, and logs the request when it ends. */
export function requestId(
  logger: Logger,
  onRequest?: (info: { method: string; route: string; status: number; ms: number }) => void,
): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const id = offered && CLIENT_ID.test(offered) ? offered : randomUUID();
    const started = process.hrtime.bigint();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The route pattern, not the URL: ids stay out of metric labels.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const principal = res.locals['principal'] as { tokenId?: string } | undefined;
      logger.info('request', {
        requestId: id,
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(ms * 100) / 100,
        tokenId: principal?.tokenId,
      });
      onRequest?.({ method: req.method, route, status: res.statusCode, ms });
    });
    next();
  };
}
