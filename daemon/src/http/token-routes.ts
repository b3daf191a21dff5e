import { API_ROUTES, CreateTokenBodySchema, IdParamsSchema } from '@dcs/shared';
import { Router } from 'express';
import type { TokenService } from '../services/token-service.js';
import { methodNotAllowed } from './error-handler.js';
import { route } from './route.js';

/** `/v1/tokens`: mint (value shown once), list (never values), revoke; `/v1/whoami`: the calling token. */
export function tokenRoutes(tokens: TokenService): Router {
  const router = Router();
  router
    .route(API_ROUTES.tokens)
    .post(route({ body: CreateTokenBodySchema }, async ({ body }, ctx) => ({ status: 201, body: await tokens.create(ctx, body) })))
    .get(route({}, async (_input, ctx) => ({ status: 200, body: { tokens: await tokens.list(ctx) } })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.token)
    .delete(route({ params: IdParamsSchema }, async ({ params }, ctx) => (await tokens.revoke(ctx, params.id), { status: 204 })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.whoami)
    .get(route({}, async (_input, ctx) => ({ status: 200, body: await tokens.whoami(ctx) })))
    .all(methodNotAllowed);
  return router;
}
