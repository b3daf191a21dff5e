import { API_ROUTES, type Health } from '@dcs/shared';
import { Router } from 'express';
import { BarrierSealedError } from '../errors.js';
import { methodNotAllowed } from './error-handler.js';

/** `GET /healthz`: liveness without auth and without data; 503 once the barrier is sealed. */
export function healthRoutes(version: string, isSealed: () => boolean): Router {
  const router = Router();
  router
    .route(API_ROUTES.health)
    .get((_req, res) => {
      if (isSealed()) throw new BarrierSealedError();
      res.json({ status: 'ok', version } satisfies Health);
    })
    .all(methodNotAllowed);
  return router;
}
