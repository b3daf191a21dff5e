import { API_ROUTES, CREDENTIAL_WARNING_HEADER, ServerUrlBodySchema, StoreCredentialBodySchema } from '@dcs/shared';
import { Router } from 'express';
import type { CredentialService } from '../services/credential-service.js';
import { methodNotAllowed } from './error-handler.js';
import { route } from './route.js';

/** The helper's verbs: get and list (runner and up), store and erase (manager and up). */
export function credentialRoutes(credentials: CredentialService): Router {
  const router = Router();
  router
    .route(API_ROUTES.credentialsGet)
    .post(
      route({ body: ServerUrlBodySchema }, async ({ body }, ctx) => {
        const { credential, warning } = await credentials.lookupWithNotice(ctx, body.ServerURL);
        return { status: 200, body: credential, ...(warning ? { headers: { [CREDENTIAL_WARNING_HEADER]: warning } } : {}) };
      }),
    )
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.credentials)
    .get(route({}, async (_input, ctx) => ({ status: 200, body: await credentials.list(ctx) })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.credentialsStore)
    .post(route({ body: StoreCredentialBodySchema }, async ({ body }, ctx) => (await credentials.store(ctx, body), { status: 204 })))
    .all(methodNotAllowed);
  router
    .route(API_ROUTES.credentialsErase)
    .post(route({ body: ServerUrlBodySchema }, async ({ body }, ctx) => (await credentials.erase(ctx, body.ServerURL), { status: 204 })))
    .all(methodNotAllowed);
  return router;
}
