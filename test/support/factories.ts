import { randomBytes } from 'node:crypto';
import type { IntegrationSummary, TokenSummary } from '@dcs/shared';
import type { TokenRow } from '../../daemon/src/store/rows.js';

/**
 * Every secret a factory makes starts with this marker, so a test can scan any text (a response,
 * a log line, an audit row, a database dump) for plaintext that must not be there.
 */
export const SECRET_MARKER = 'PLAINTEXT-SECRET-';

let counter = 0;

/** Returns a new distinctive secret: the marker, a sequence number and random hex. */
export function distinctiveSecret(label = 'pat'): string {
  counter += 1;
  return `${SECRET_MARKER}${label}-${counter}-${randomBytes(6).toString('hex')}`;
}

/** A JSON body for `POST /v1/integrations` (client form, before the schema normalises it). */
export interface IntegrationBodyInput {
  host?: unknown;
  username?: unknown;
  secret?: unknown;
  export?: unknown;
  description?: unknown;
  [extra: string]: unknown;
}

/** Builds a valid `POST /v1/integrations` body with a distinctive secret; overrides win. */
export function buildIntegrationBody(overrides: IntegrationBodyInput = {}): {
  host: string;
  username: string;
  secret: string;
  export: boolean;
  description: string;
} & IntegrationBodyInput {
  return {
    host: 'registry.example.com',
    username: 'ci-bot',
    secret: distinctiveSecret(),
    export: true,
    description: 'registry used by the build pipeline',
    ...overrides,
  } as ReturnType<typeof buildIntegrationBody>;
}

/** A JSON body for `POST /v1/tokens`. */
export interface TokenBodyInput {
  name?: unknown;
  role?: unknown;
  ttlSeconds?: unknown;
  hosts?: unknown;
  [extra: string]: unknown;
}

/** Builds a valid `POST /v1/tokens` body (a runner token with a distinctive name); overrides win. */
export function buildTokenBody(overrides: TokenBodyInput = {}): { name: string; role: string } & TokenBodyInput {
  counter += 1;
  return { name: `ci runner ${counter}`, role: 'runner', ...overrides } as ReturnType<typeof buildTokenBody>;
}

/** Builds a valid `POST /v1/credentials/store` body (the helper protocol's casing) with a distinctive secret. */
export function buildStoreBody(overrides: { ServerURL?: unknown; Username?: unknown; Secret?: unknown } = {}): {
  ServerURL: string;
  Username: string;
  Secret: string;
} {
  return {
    ServerURL: 'registry.example.com',
    Username: 'docker-login-user',
    Secret: distinctiveSecret('login'),
    ...overrides,
  } as ReturnType<typeof buildStoreBody>;
}

/** An integration as the API lists it: a static credential for ghcr.io, exported, never tested; overrides win. */
export function integrationSummary(overrides: Partial<IntegrationSummary> = {}): IntegrationSummary {
  return {
    id: 'int_0000000000000001',
    host: 'ghcr.io',
    username: 'robot',
    export: true,
    description: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
    expiresAt: null,
    caCert: null,
    lastTestedAt: null,
    lastTestResult: null,
    lastTestDetail: null,
    provider: 'static',
    identity: null,
    ...overrides,
  };
}

/** A token as the API lists it: the initial admin token, no host limit, no expiry; overrides win. */
export function tokenSummary(overrides: Partial<TokenSummary> = {}): TokenSummary {
  return { id: 'tok_0000000000000001', name: 'initial admin', role: 'admin', hosts: null, createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null, ...overrides };
}

let tokenRows = 0;

/** A token row as a store holds it, with a new id, name and hash each time; overrides win. */
export function tokenRow(overrides: Partial<TokenRow> = {}): TokenRow {
  tokenRows += 1;
  return {
    id: `tok_${tokenRows.toString(16).padStart(16, '0')}`,
    name: `token ${tokenRows}`,
    role: 'runner',
    hash: new Uint8Array(32).fill(tokenRows & 0xff),
    hosts: null,
    createdAt: `2026-03-02T09:00:${String(tokenRows % 60).padStart(2, '0')}.000Z`,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}
