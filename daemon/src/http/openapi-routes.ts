import { API_ROUTES } from '@dcs/shared';
import { Router } from 'express';
import { methodNotAllowed } from './error-handler.js';
import { buildOpenApiDocument } from './openapi.js';

/** `GET /v1/openapi.json`, without auth; the document is built on first request and then reused. */
export function openApiRoutes(version: string): Router {
  const router = Router();
  let document: string | undefined;
  router
    .route(API_ROUTES.openapi)
    .get((_req, res) => {
      document ??= JSON.stringify(buildOpenApiDocument(version));
      res.type('application/json').send(document);
    })
    .all(methodNotAllowed);
  return router;
}
