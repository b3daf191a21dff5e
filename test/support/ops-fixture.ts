/**
 * An in-process app with the operational surface wired as `serve` wires it: GET /v1/audit,
 * POST /v1/integrations/:id/test, GET /metrics, the expiry warner and the lookup metrics. The
 * registry probe can be replaced; everything else is the real code over `:memory:` SQLite.
 */
import { CreateIntegrationBodySchema, type CreateIntegrationBody, type IntegrationSummary, type Role } from '@dcs/shared';
import type { RequestListener } from 'node:http';
import { buildServiceApp } from '../../daemon/src/http/app.js';
import { assembleServices, type Services } from '../../daemon/src/services/assemble.js';
import { createExpiryWarner } from '../../daemon/src/services/expiry-warner.js';
import { createFailureLimiter } from '../../daemon/src/http/failure-limiter.js';
import { createLogger } from '../../daemon/src/observability/logger.js';
import { createMetrics, type Metrics } from '../../daemon/src/observability/metrics.js';
import type { RegistryProbe } from '../../daemon/src/registry/registry-probe.js';
import type { RequestContext } from '../../daemon/src/services/context.js';
import { openDatabase } from '../../daemon/src/store/database.js';
import { seedKeyring } from '../../daemon/src/lifecycle/init-store.js';
import { createTestClock, type TestClock } from './test-app.js';

/** The version the ops app reports. */
export const OPS_VERSION = '0.0.0-ops';

/** The app, its seeded tokens (one per role) and what a test inspects. */
export interface OpsApp {
  /** The daemon's request listener, as serve mounts it (supertest takes it as is). */
  app: RequestListener;
  tokens: Record<Role, string>;
  tokenIds: Record<Role, string>;
  services: Services;
  metrics: Metrics;
  logs: string[];
  clock: TestClock;
}

/** Builds the app; `probe` replaces the node:http(s) registry probe (default: the real one). */
export function buildOpsApp(options: { probe?: RegistryProbe; maxFailures?: number } = {}): OpsApp {
  const clock = createTestClock();
  const logs: string[] = [];
  const logger = createLogger((line) => void logs.push(line), 'debug', clock.now);
  const metrics = createMetrics(OPS_VERSION);

  const db = openDatabase(':memory:');
  const keys = seedKeyring(db, clock.now());
  const services = assembleServices({
    db,
    ...keys,
    now: clock.now,
    onLookup: (outcome) => metrics.observeLookup(outcome),
    onExpiring: createExpiryWarner(logger, () => clock.now().getTime()),
    ...(options.probe ? { probe: options.probe } : {}),
  });

  const admin = services.tokens.bootstrap('ops admin', 'admin');
  const ctx: RequestContext = { principal: services.tokens.authenticate(admin.token), requestId: 'seed' };
  const minted = {
    admin,
    manager: services.tokens.create(ctx, { name: 'ops manager', role: 'manager' }),
    auditor: services.tokens.create(ctx, { name: 'ops auditor', role: 'auditor' }),
    runner: services.tokens.create(ctx, { name: 'ops runner', role: 'runner' }),
  };

  const app = buildServiceApp(services, {
    version: OPS_VERSION,
    logger,
    limiter: createFailureLimiter({ maxFailures: options.maxFailures ?? 10_000, windowMs: 60_000, now: () => clock.now().getTime() }),
    metrics,
    now: clock.now,
  });
  const roles: Role[] = ['admin', 'manager', 'auditor', 'runner'];
  return {
    app,
    tokens: Object.fromEntries(roles.map((role) => [role, minted[role].token])) as Record<Role, string>,
    tokenIds: Object.fromEntries(roles.map((role) => [role, minted[role].id])) as Record<Role, string>,
    services,
    metrics,
    logs,
    clock,
  };
}

/** Creates an integration through the service as the seeded admin (an arrange step, no HTTP, audited as `seed`). */
export function seedOpsIntegration(ops: OpsApp, body: Partial<CreateIntegrationBody> & { host: string }): IntegrationSummary {
  const ctx: RequestContext = { principal: ops.services.tokens.authenticate(ops.tokens.admin), requestId: 'seed' };
  return ops.services.integrations.create(ctx, CreateIntegrationBodySchema.parse({ username: 'ops-user', secret: 'ops-secret', ...body }));
}
