import { API_ROUTES, AuditQuerySchema } from '@dcs/shared';
import { Router } from 'express';
import type { AuditService } from '../services/audit-service.js';
import { methodNotAllowed } from './error-handler.js';
import { route } from './route.js';

/** `GET /v1/audit`: the audit log with filters and cursor paging (admin, auditor). */
export function auditRoutes(audit: AuditService): Router {
  const router = Router();
  router
    .route(API_ROUTES.audit)
    .get(route({ query: AuditQuerySchema }, async ({ query }, ctx) => ({ status: 200, body: await audit.list(ctx, query) })))
    .all(methodNotAllowed);
  return router;
}
