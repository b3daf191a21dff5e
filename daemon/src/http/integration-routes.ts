import { API_ROUTES, CreateIntegrationBodySchema, IdParamsSchema, UpdateIntegrationBodySchema } from '@dcs/shared';
import { Router } from 'express';
import type { IntegrationService } from '../services/integration-service.js';
import { methodNotAllowed } from './error-handler.js';
import { route } from './route.js';

/** `/v1/integrations`: create, list, show, update, delete. */
export function integrationRoutes(integrations: IntegrationService): Router {
  const router = Router();
  router
    .route(API_ROUTES.integrations)
    .post(route({ body: CreateIntegrationBodySchema }, async ({ body }, ctx) => ({ status: 201, body: await integrations.create(ctx, body) })))
    .get(route({}, async (_input, ctx) => ({ status: 200, json: `{"integrations":${await integrations.listJson(ctx)}}` })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.integration)
    .get(route({ params: IdParamsSchema }, async ({ params }, ctx) => ({ status: 200, body: await integrations.get(ctx, params.id) })))
    .patch(
      route({ params: IdParamsSchema, body: UpdateIntegrationBodySchema }, async ({ params, body }, ctx) => ({
        status: 200,
        body: await integrations.update(ctx, params.id, body),
      })),
    )
    .delete(route({ params: IdParamsSchema }, async ({ params }, ctx) => (await integrations.remove(ctx, params.id), { status: 204 })))
    .all(methodNotAllowed);
  return router;
}
