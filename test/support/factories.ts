import { randomBytes } from 'node:crypto';

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
