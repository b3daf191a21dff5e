import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { API_PREFIX, ERROR_STATUS, MAX_BODY_BYTES, type ErrorBody, type ErrorCode } from '@dcs/shared';
import express, { type Express } from 'express';
import { readMetricGauges, type Services } from '../services/assemble.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditLog } from '../audit/audit-log.js';
import { auditRoutes } from './audit-routes.js';
import { authenticate } from './authenticate.js';
import { credentialRoutes } from './credential-routes.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { lookupRoute } from './lookup-route.js';
import type { FailureLimiter } from './failure-limiter.js';
import { healthRoutes } from './health-routes.js';
import { integrationRoutes } from './integration-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { openApiRoutes } from './openapi-routes.js';
import { registryCheckRoutes } from './registry-check-routes.js';
import { requestId } from './request-id.js';
import { tokenRoutes } from './token-routes.js';
import type { Logger } from '../observability/logger.js';
import type { AuditService } from '../services/audit-service.js';
import type { CredentialService } from '../services/credential-service.js';
import type { IntegrationService } from '../services/integration-service.js';
import type { RegistryCheckService } from '../services/registry-check-service.js';
import type { TokenService } from '../services/token-service.js';

/** Everything the HTTP app needs, assembled by main.ts or a test. */
export interface AppDeps {
  version: string;
  logger: Logger;
  audit: Pick<AuditLog, 'append'>;
  limiter: FailureLimiter;
  integrations: IntegrationService;
  credentials: CredentialService;
  tokens: TokenService;
  isSealed: () => boolean;
  /** Observes every finished request (metrics); optional. */
  onRequest?: (info: { method: string; route: string; status: number; ms: number }) => void;
  /** Serves `GET /v1/audit` when given. */
  auditTrail?: AuditService;
  /** Serves `POST /v1/integrations/:id/test` when given. */
  registryChecks?: RegistryCheckService;
  /** Serves `GET /metrics` (no auth, counts only) when given. */
  metricsText?: () => string;
}

/**
 * Builds the daemon's request listener: the direct lookup route (the helpers' hot path), then the
 * express app for everything else. Never listens, never reads env.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const lookup = lookupRoute(deps);
  const rest = toRequestListener(buildExpressApp(deps), deps.logger);
  return (req, res) => {
    if (!lookup(req, res)) rest(req, res);
  };
}

/** The express app: middleware order, routers, error handler. */
function buildExpressApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // An ETag is a hash of the body: on a lookup response it would be a hash of the secret.
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestId(deps.logger, deps.onRequest));
  app.use(healthRoutes(deps.version, deps.isSealed));
  // Public, before authentication: neither exposes a host, an id or a secret.
  app.use(openApiRoutes(deps.version));
  if (deps.metricsText) app.use(metricsRoutes(deps.metricsText));
  app.use(API_PREFIX, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(API_PREFIX, authenticate({ tokens: deps.tokens, audit: deps.audit, limiter: deps.limiter }));
  app.use(API_PREFIX, express.json({ limit: MAX_BODY_BYTES, strict: true, type: 'application/json' }));
  app.use(integrationRoutes(deps.integrations));
  app.use(tokenRoutes(deps.tokens));
  app.use(credentialRoutes(deps.credentials));
  if (deps.auditTrail) app.use(auditRoutes(deps.auditTrail));
  if (deps.registryChecks) app.use(registryCheckRoutes(deps.registryChecks));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

/** What buildServiceApp needs besides the services. */
export interface ServiceAppOptions {
  version: string;
  logger: Logger;
  limiter: FailureLimiter;
  /** Request and lookup metrics for `/metrics`; without them the route is not mounted. */
  metrics?: Metrics;
  now?: () => Date;
  /** Runs before each metrics scrape (serve refreshes the keyring so the term gauge is current). */
  beforeMetrics?: () => void;
}

/** Builds the app over assembled services exactly as `serve` wires it; tests use the same wiring. */
export function buildServiceApp(services: Services, options: ServiceAppOptions): RequestListener {
  const { metrics, beforeMetrics } = options;
  const now = options.now ?? (() => new Date());
  return buildApp({
    version: options.version,
    logger: options.logger,
    audit: services.audit,
    limiter: options.limiter,
    integrations: services.integrations,
    credentials: services.credentials,
    tokens: services.tokens,
    isSealed: () => services.barrier.isSealed(),
    auditTrail: services.auditTrail,
    registryChecks: services.registryChecks,
    ...(metrics
      ? {
          onRequest: (info: Parameters<Metrics['observeRequest']>[0]) => metrics.observeRequest(info),
          metricsText: () => {
            beforeMetrics?.();
            return metrics.render(readMetricGauges(services, now()));
          },
        }
      : {}),
  });
}

/**
 * The node:http listener for an app. A request target express's router cannot parse (e.g.
 * `//..?a=#@x#y`) never reaches the app's middleware; instead of express's HTML page it gets the
 * API's JSON error shape, a request id and a log line, like every other answer.
 */
function toRequestListener(app: Express, logger: Logger): RequestListener {
  // An express app is itself a (req, res, done) handler; its Request type only narrows the same objects.
  const handle = app as unknown as (req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void) => void;
  return (req, res) => {
    handle(req, res, (error?: unknown) => {
      const requestId = randomUUID();
      const code: ErrorCode = error ? 'internal' : 'not_found';
      logger.warn('request target not routable', { requestId, method: req.method, status: ERROR_STATUS[code], error });
      if (res.headersSent) return void res.destroy();
      res.writeHead(ERROR_STATUS[code], { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId, 'Cache-Control': 'no-store' });
      const message = error ? 'internal error; see the daemon log for this request id' : 'no such route';
      res.end(JSON.stringify({ error: { code, message, requestId } } satisfies ErrorBody));
    });
  };
}
