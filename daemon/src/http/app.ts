import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { API_PREFIX } from '@dcs/shared';
import express, { type Express, type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { readMetricGauges, type Services } from '../services/assemble.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditLog } from '../audit/audit-log.js';
import { auditRoutes } from './audit-routes.js';
import { authenticate } from './authenticate.js';
import { credentialRoutes } from './credential-routes.js';
import { consoleRoutes, type ConsoleAssets } from './console-routes.js';
import { errorHandler, notFoundHandler, sendError } from './error-handler.js';
import { jsonBodyParser } from './json-body.js';
import { lookupRoute } from './lookup-route.js';
import type { FailureLimiter } from './failure-limiter.js';
import { healthRoutes } from './health-routes.js';
import { integrationRoutes } from './integration-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { openApiRoutes } from './openapi-routes.js';
import { registryCheckRoutes } from './registry-check-routes.js';
import { preflight, type RequestObserver, type RequestState } from './preflight.js';
import type { SourceOf } from './client-address.js';
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
  onRequest?: RequestObserver;
  /** Serves `GET /v1/audit` when given. */
  auditTrail?: AuditService;
  /** Serves `POST /v1/integrations/:id/test` when given. */
  registryChecks?: RegistryCheckService;
  /** Serves `GET /metrics` (no auth, counts only) when given. */
  metricsText?: () => Promise<string>;
  /** How a request's source address is found (trusted proxies); default: the peer's address. */
  sourceOf?: SourceOf;
  /** Whether the daemon can serve: the store answers and the keyring is loaded (`GET /readyz`). */
  isReady?: () => Promise<boolean>;
  /** Serves the admin console at `/ui/` when given. */
  console?: ConsoleAssets | undefined;
}

/**
 * Builds the daemon's request listener: the pre-flight for every request, then the direct lookup
 * route (the helpers' hot path), then the express app for everything else. Never listens, never
 * reads env.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const lookup = lookupRoute(deps);
  const rest = toRequestListener(buildExpressApp(deps), deps.logger);
  return (req, res) => {
    const state = preflight(req, res, deps);
    if (!lookup(req, res, state)) rest(req, res, state);
  };
}

/** How the direct lookup route stands for one express middleware. */
type LookupRouteParity =
  /** It calls the same function as the middleware. */
  | { mirrored: string }
  /** Its claims() never takes a request this middleware would act on. */
  | { excluded: string };

/** One express middleware that runs before the routers. */
interface PipelineStep {
  path?: string;
  handler: RequestHandler;
  lookupRoute: LookupRouteParity;
}

/**
 * The express middleware before the routers, in order. The rule lives here: every step is mirrored
 * by the direct lookup route (the same function) or excluded by its claims(); a new step must say
 * which, and the lookup route must follow it when it is mirrored. The pre-flight (request id,
 * no-store, log line) runs before both paths in buildApp, and the error mapper (sendError) is shared.
 */
function expressPipeline(deps: AppDeps): PipelineStep[] {
  const otherPath = { excluded: 'claims() takes only POST /v1/credentials/get' };
  return [
    { handler: healthRoutes(deps.version, deps.isSealed, deps.isReady), lookupRoute: otherPath },
    // Public, before authentication: neither exposes a host, an id or a secret.
    { handler: openApiRoutes(deps.version), lookupRoute: otherPath },
    ...(deps.metricsText ? [{ handler: metricsRoutes(deps.metricsText), lookupRoute: otherPath }] : []),
    // Public static files under /ui/: the page holds no data, it asks /v1 with the token typed into it.
    ...(deps.console ? [{ handler: consoleRoutes(deps.console), lookupRoute: { excluded: 'claims() takes only POST /v1/credentials/get, never a path under /ui' } }] : []),
    {
      path: API_PREFIX,
      handler: authenticate({ tokens: deps.tokens, audit: deps.audit, limiter: deps.limiter }),
      lookupRoute: { mirrored: 'authenticateRequest, the function behind this middleware' },
    },
    {
      path: API_PREFIX,
      handler: jsonBodyParser(),
      lookupRoute: { mirrored: 'readJsonBody (json-body.ts); claims() leaves every other media type and any Content-Encoding here' },
    },
  ];
}

/** The express app: middleware order, routers, error handler. */
function buildExpressApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // An ETag is a hash of the body: on a lookup response it would be a hash of the secret.
  app.set('etag', false);
  app.set('query parser', 'simple');

  for (const step of expressPipeline(deps)) {
    if (step.path) app.use(step.path, step.handler);
    else app.use(step.handler);
  }
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
  beforeMetrics?: () => Promise<void>;
  /** How a request's source address is found (trusted proxies); default: the peer's address. */
  sourceOf?: SourceOf;
  /** The admin console's files; without them `/ui/` is not served. */
  console?: ConsoleAssets | undefined;
}

/** Builds the app over assembled services exactly as `serve` wires it; tests use the same wiring. */
export function buildServiceApp(services: Services, options: ServiceAppOptions): RequestListener {
  const { metrics, beforeMetrics } = options;
  const now = options.now ?? (() => new Date());
  const isSealed = () => services.barrier.isSealed();
  // A read of a real row: the store must answer (never a write lock).
  const isReady = async () => {
    if (isSealed()) return false;
    try {
      await services.store.ping();
      return true;
    } catch {
      return false;
    }
  };
  return buildApp({
    version: options.version,
    logger: options.logger,
    audit: services.audit,
    limiter: options.limiter,
    integrations: services.integrations,
    credentials: services.credentials,
    tokens: services.tokens,
    isSealed,
    isReady,
    ...(options.sourceOf ? { sourceOf: options.sourceOf } : {}),
    ...(options.console ? { console: options.console } : {}),
    auditTrail: services.auditTrail,
    registryChecks: services.registryChecks,
    ...(metrics
      ? {
          onRequest: (info: Parameters<Metrics['observeRequest']>[0]) => metrics.observeRequest(info),
          metricsText: async () => {
            await beforeMetrics?.();
            return metrics.render(await readMetricGauges(services, now()));
          },
        }
      : {}),
  });
}

/**
 * The node:http listener for an app; express keeps the pre-flight's state as `res.locals`. A request
 * target express's router cannot parse (e.g. `//..?a=#@x#y`) never reaches the app's middleware;
 * instead of express's HTML page it gets the API's JSON error shape like every other answer.
 */
function toRequestListener(app: Express, logger: Logger): (req: IncomingMessage, res: ServerResponse, state: RequestState) => void {
  // An express app is itself a (req, res, done) handler; its Request type only narrows the same objects.
  const handle = app as unknown as (req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void) => void;
  return (req, res, state) => {
    (res as ServerResponse & { locals?: RequestState }).locals = state;
    handle(req, res, (error?: unknown) => {
      logger.warn('request target not routable', { requestId: state.requestId, method: req.method, error });
      if (res.headersSent) return void res.destroy();
      sendError(res, error ?? new AppError('route_not_found', 'no such route; check the base URL'), state.requestId, logger);
    });
  };
}
