import { API_ROUTES } from '@dcs/shared';
import { Router } from 'express';
import { methodNotAllowed } from './error-handler.js';

/** `GET /metrics`: Prometheus text, without auth; it holds counts only, never a host, id or token. */
export function metricsRoutes(render: () => Promise<string>): Router {
  const router = Router();
  router
    .route(API_ROUTES.metrics)
    .get(async (_req, res) => {
      res.type('text/plain; version=0.0.4; charset=utf-8').send(await render());
    })
    .all(methodNotAllowed);
  return router;
}
