import { API_ROUTES, IdParamsSchema } from '@dcs/shared';
import { Router } from 'express';
import type { RegistryCheckService } from '../services/registry-check-service.js';
import { methodNotAllowed } from './error-handler.js';
import { route } from './route.js';

/** `POST /v1/integrations/:id/test`: checks the stored credential against the registry (admin, manager). */
export function registryCheckRoutes(checks: RegistryCheckService): Router {
  const router = Router();
  router
    .route(API_ROUTES.integrationTest)
    .post(route({ params: IdParamsSchema }, async ({ params }, ctx) => ({ status: 200, body: await checks.test(ctx, params.id) })))
    .all(methodNotAllowed);
  return router;
}
