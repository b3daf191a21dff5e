import { API_ROUTES, type Health } from '@dcs/shared';
import { Router } from 'express';
import { AppError, BarrierSealedError } from '../errors.js';
import { methodNotAllowed } from './error-handler.js';

/**
 * `GET /healthz` (liveness: the process serves; 503 once the barrier is sealed) and `GET /readyz`
 * (readiness for a load balancer: the store answers and the keyring is loaded). No auth, no data,
 * and neither takes a write lock.
 */
export function healthRoutes(version: string, isSealed: () => boolean, isReady: () => Promise<boolean> = async () => !isSealed()): Router {
  const router = Router();
  router
    .route(API_ROUTES.health)
    .get((_req, res) => {
      if (isSealed()) throw new BarrierSealedError();
      res.json({ status: 'ok', version } satisfies Health);
    })
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.ready)
    .get(async (_req, res) => {
      if (!(await isReady())) throw new AppError('unavailable', 'not ready: the store does not answer or the keyring is not loaded');
      res.json({ status: 'ok', version } satisfies Health);
    })
    .all(methodNotAllowed);
  return router;
}
