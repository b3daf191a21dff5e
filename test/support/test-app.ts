import {
  CreateIntegrationBodySchema,
  CreateTokenBodySchema,
  ErrorBodySchema,
  IntegrationSummarySchema,
  type CreateTokenBody,
  type IntegrationSummary,
  type Role,
} from '@dcs/shared';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { buildServiceApp } from '../../daemon/src/http/app.js';
import { assembleServices, type Services } from '../../daemon/src/services/assemble.js';
import { createExpiryWarner } from '../../daemon/src/services/expiry-warner.js';
import type { SourceOf } from '../../daemon/src/http/client-address.js';
import type { ConsoleAssets } from '../../daemon/src/http/console-routes.js';
import { createFailureLimiter } from '../../daemon/src/http/failure-limiter.js';
import { createLogger, type LogLevel } from '../../daemon/src/observability/logger.js';
import { createMetrics, type Metrics } from '../../daemon/src/observability/metrics.js';
import type { ProbeOutcome, ProbeTarget, RegistryProbe } from '../../daemon/src/registry/registry-probe.js';
import type { RequestContext } from '../../daemon/src/services/context.js';
import { seedKeyring } from '../../daemon/src/lifecycle/init-store.js';
import { openTestStore } from './test-store.js';
import type { SendOutbound } from '../../daemon/src/providers/outbound.js';
import { buildIntegrationBody } from './factories.js';

/** The version string the test app reports on /healthz. */
export const TEST_VERSION = '0.0.0-test';

/** The instant every test app's clock starts at. */
export const TEST_START = new Date('2026-03-02T09:00:00.000Z');

/** The host the seeded host-limited runner token is limited to. */
export const SCOPED_HOST = 'ghcr.io';

/** A clock the test moves by hand. */
export interface TestClock {
  now(): Date;
  advance(ms: number): void;
  set(at: Date): void;
}

/** The seeded tokens, one per role plus a host-limited, an expired and a revoked one. */
export type SeededTokenName = 'admin' | 'manager' | 'auditor' | 'runner' | 'scopedRunner' | 'expired' | 'revoked';

/** Options a test may change. */
export interface TestAppOverrides {
  /** Failed authentications per source before the limiter answers 429 (default: high enough never to trip). */
  maxFailures?: number;
  /** The limiter's window in milliseconds. */
  windowMs?: number;
  /** Where the clock starts. */
  startAt?: Date;
  /** The lowest log level captured (default debug, so tests see every line). */
  logLevel?: LogLevel;
  /** Replaces the registry probe behind POST /v1/integrations/:id/test (default: a fake answering ok, no network). */
  probe?: RegistryProbe;
  /** How the app tells a request's source address (default: the peer address; tests of trusted proxies pass their own). */
  sourceOf?: SourceOf;
  /** The daemon's environment for the cloud providers (endpoint overrides pointing at the local fakes). */
  env?: Record<string, string | undefined>;
  /** How the providers reach the clouds (default: the daemon's outbound over `env`). */
  send?: SendOutbound;
  /** The admin console's files; without them `/ui/` is not served (as with `serve --no-ui`). */
  console?: ConsoleAssets;
}

/** A test app over a real in-memory database, real barrier and real services, wired as `serve` wires them. */
export interface TestApp {
  /** The daemon's request listener, as serve mounts it (supertest takes it as is). */
  app: RequestListener;
  /** Token values by name, for the Authorization header. */
  tokens: Record<SeededTokenName, string>;
  /** Token ids by name. */
  tokenIds: Record<SeededTokenName, string>;
  services: Services;
  /** The metrics behind `GET /metrics`, fed by requests and lookups. */
  metrics: Metrics;
  /** Every log line the app wrote, raw. */
  logs: string[];
  clock: TestClock;
  /** What the registry probe was asked to check, in order (the default fake probe records here). */
  probes: ProbeTarget[];
}

/** Builds a clock that stays still until the test moves it. */
export function createTestClock(start: Date = TEST_START): TestClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance: (ms) => void (current += ms),
    set: (at) => void (current = at.getTime()),
  };
}

/**
 * Builds the app as `serve` does (every route, `/metrics`, the expiry warner, lookup metrics), over
 * a fresh store (`:memory:` SQLite, or a new PostgreSQL database when SCALR_CREDD_TEST_STORE=postgres,
 * closed when the test ends) and a fresh random root key, with seeded tokens.
 */
export async function buildTestApp(overrides: TestAppOverrides = {}): Promise<TestApp> {
  const clock = createTestClock(overrides.startAt);
  const logs: string[] = [];
  const logger = createLogger((line) => void logs.push(line), overrides.logLevel ?? 'debug', clock.now);
  const metrics = createMetrics(TEST_VERSION);

  const store = await openTestStore();
  const keys = await seedKeyring(store, clock.now());
  const probes: ProbeTarget[] = [];
  const fakeProbe: RegistryProbe = async (target): Promise<ProbeOutcome> => {
    probes.push(target);
    return { result: 'ok', detail: 'fake probe' };
  };
  const services = assembleServices({
    store,
    ...keys,
    now: clock.now,
    probe: overrides.probe ?? fakeProbe,
    onExpiring: createExpiryWarner(logger, () => clock.now().getTime()),
    env: overrides.env ?? {},
    ...(overrides.send ? { send: overrides.send } : {}),
    mintObserver: metrics.mints,
  });

  const { tokens, tokenIds } = await seedTokens(services, clock);

  const app = buildServiceApp(services, {
    version: TEST_VERSION,
    logger,
    limiter: createFailureLimiter({
      maxFailures: overrides.maxFailures ?? 10_000,
      windowMs: overrides.windowMs ?? 60_000,
      now: () => clock.now().getTime(),
    }),
    metrics,
    now: clock.now,
    ...(overrides.sourceOf ? { sourceOf: overrides.sourceOf } : {}),
    ...(overrides.console ? { console: overrides.console } : {}),
  });
  return { app, tokens, tokenIds, services, metrics, logs, clock, probes };
}

async function seedTokens(services: Services, clock: TestClock) {
  const admin = await services.tokens.bootstrap('test admin', 'admin');
  const ctx: RequestContext = { principal: await services.tokens.authenticate(admin.token), requestId: 'seed' };
  const mint = (body: Partial<CreateTokenBody> & Pick<CreateTokenBody, 'name' | 'role'>) =>
    services.tokens.create(ctx, CreateTokenBodySchema.parse(body));

  // Minted with the shortest TTL, then the clock moves past it before any test runs.
  const expired = await mint({ name: 'expired runner', role: 'runner', ttlSeconds: 60 });
  const manager = await mint({ name: 'test manager', role: 'manager' });
  const auditor = await mint({ name: 'test auditor', role: 'auditor' });
  const runner = await mint({ name: 'test runner', role: 'runner' });
  const scopedRunner = await mint({ name: 'scoped runner', role: 'runner', hosts: [SCOPED_HOST] });
  const revoked = await mint({ name: 'revoked runner', role: 'runner' });
  await services.tokens.revoke(ctx, revoked.id);
  clock.advance(60 * 60 * 1000);

  const created = { admin, manager, auditor, runner, scopedRunner, expired, revoked };
  const names = Object.keys(created) as SeededTokenName[];
  return {
    tokens: Object.fromEntries(names.map((name) => [name, created[name].token])) as Record<SeededTokenName, string>,
    tokenIds: Object.fromEntries(names.map((name) => [name, created[name].id])) as Record<SeededTokenName, string>,
  };
}

/** The Authorization header value for a token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** Requests to the app that carry a token: `withToken(t, t.tokens.admin).post('/v1/integrations').send(body)`. */
export function withToken(t: TestApp, token: string) {
  return request.agent(t.app).set('Authorization', bearer(token));
}

/** The error an error answer carries, checked against the API's error schema. */
export function errorOf(res: { body: unknown }) {
  return ErrorBodySchema.parse(res.body).error;
}

/** Every audit row the app wrote, oldest first. */
export function auditRows(t: TestApp): ReturnType<TestApp['services']['audit']['list']> {
  return t.services.audit.list({ limit: 10_000 });
}

/** What each role gets from each route (`METHOD /path`), written out as data in a test. */
export type RoleMatrix<K extends string, V> = Record<K, Record<Role, V>>;

/** One case per cell of a route × role matrix, for `it.each`. */
export function matrixCases<K extends string, V>(matrix: RoleMatrix<K, V>): Array<{ key: K; role: Role; status: V }> {
  return (Object.entries(matrix) as Array<[K, Record<Role, V>]>).flatMap(([key, byRole]) =>
    (Object.entries(byRole) as Array<[Role, V]>).map(([role, status]) => ({ key, role, status })),
  );
}

/** The paths among `routes` that no row of the matrix names: each must be read by some row. */
export function routesMissingFrom(matrix: RoleMatrix<string, unknown>, routes: readonly string[]): string[] {
  const paths = new Set(Object.keys(matrix).map((key) => key.split(' ')[1]));
  return routes.filter((path) => !paths.has(path));
}

/** Creates an integration through the real service as the seeded admin (arrange step, no HTTP). */
export async function seedIntegration(t: TestApp, overrides: Parameters<typeof buildIntegrationBody>[0] = {}): Promise<IntegrationSummary> {
  const ctx: RequestContext = { principal: await t.services.tokens.authenticate(t.tokens.admin), requestId: 'seed' };
  return t.services.integrations.create(ctx, CreateIntegrationBodySchema.parse(buildIntegrationBody(overrides)));
}

/** Creates an integration over HTTP with the given token and returns the parsed summary. */
export async function postIntegration(t: TestApp, token: string, body: object): Promise<IntegrationSummary> {
  const res = await request(t.app).post('/v1/integrations').set('Authorization', bearer(token)).send(body);
  if (res.status !== 201) throw new Error(`arrange failed: POST /v1/integrations answered ${res.status} ${res.text}`);
  return IntegrationSummarySchema.parse(res.body);
}
