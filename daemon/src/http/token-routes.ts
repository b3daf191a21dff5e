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
    .post(route({ body: CreateTokenBodySchema }, ({ body }, ctx) => ({ status: 201, body: tokens.create(ctx, body) })))
    .get(route({}, (_input, ctx) => ({ status: 200, body: { tokens: tokens.list(ctx) } })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.token)
    .delete(route({ params: IdParamsSchema }, ({ params }, ctx) => (tokens.revoke(ctx, params.id), { status: 204 })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.whoami)
    .get(route({}, (_input, ctx) => ({ status: 200, body: tokens.whoami(ctx) })))
    .all(methodNotAllowed);
  return router;
}
