/**
 * The rows of the store's tables, whatever engine holds them: their fields, how each is stored
 * (row-mapping.ts), and which fields a row's MAC covers (row-integrity.ts). Both store kinds read
 * and write rows through these tables, so a row authenticates the same on SQLite and PostgreSQL.
 */
import type { IdentitySummary, IntegrationProvider, RegistryTestResult, Role } from '@dcs/shared';
import { bytes, flag, json, plain, rowMapping, type ColumnCodec } from './row-mapping.js';
import type { AuthenticatedFields } from './row-integrity.js';

/** One data key of the keyring, sealed under the root key. */
export interface KeyringRow {
  term: number;
  sealedKey: Uint8Array;
  createdAt: string;
}

/** A token as stored: only the SHA-256 of its secret part. */
export interface TokenRow {
  id: string;
  name: string;
  role: Role;
  hash: Uint8Array;
  hosts: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export const TOKEN_ROW_MAPPING = rowMapping<TokenRow>({
  id: plain,
  name: plain,
  role: plain,
  hash: bytes,
  hosts: json<string[]>(),
  createdAt: plain,
  expiresAt: plain,
  revokedAt: plain,
});

/** What a token row's MAC covers: everything that decides what the token may do. */
export const TOKEN_AUTHENTICATED_FIELDS: AuthenticatedFields<TokenRow> = ['name', 'role', 'hash', 'hosts', 'createdAt', 'expiresAt', 'revokedAt'];

/**
 * An integration as stored: the secret only as an opaque envelope. For a cloud provider the envelope
 * seals its identity (JSON) instead, and `identity` repeats the identity's non-secret fields.
 */
export interface IntegrationRow {
  id: string;
  host: string;
  username: string;
  envelope: Uint8Array;
  term: number;
  export: boolean;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  /** When the registry credential itself expires, if the operator said so. */
  expiresAt: string | null;
  /** PEM CA certificates trusted when testing the registry over TLS (not secret). */
  caCert: string | null;
  lastTestedAt: string | null;
  lastTestResult: RegistryTestResult | null;
  lastTestDetail: string | null;
  provider: IntegrationProvider;
  /** The cloud identity's non-secret fields (summaries); null for a static integration. */
  identity: IdentitySummary | null;
}

/** NULL for a static integration: rows from before providers keep their MACs. */
const providerColumn: ColumnCodec<IntegrationProvider, Exclude<IntegrationProvider, 'static'> | null> = {
  // `?? null`: rows built before providers existed lack the field.
  toSql: (provider) => (provider === 'static' ? null : (provider ?? null)),
  fromSql: (value) => value ?? 'static',
};
const identityColumn = json<IdentitySummary>();

export const INTEGRATION_ROW_MAPPING = rowMapping<IntegrationRow>({
  id: plain,
  host: plain,
  username: plain,
  envelope: bytes,
  term: plain,
  export: flag,
  description: plain,
  createdAt: plain,
  updatedAt: plain,
  expiresAt: plain,
  caCert: plain,
  lastTestedAt: plain,
  lastTestResult: plain,
  lastTestDetail: plain,
  provider: providerColumn,
  identity: identityColumn,
});

/**
 * What an integration row's MAC covers: where its secret is served (host, export), as whom
 * (username), the sealed secret and its term, its expiry and the CA it trusts, and for a cloud
 * provider which one (it says how the envelope is read) and the identity shown for it. Description,
 * timestamps and the last test's outcome grant nothing and are not covered. Fields appended by later
 * migrations are null on rows that do not use them and so do not change existing MACs (encodeRow).
 */
export const INTEGRATION_AUTHENTICATED_FIELDS: AuthenticatedFields<IntegrationRow> = [
  'host',
  'username',
  'envelope',
  'term',
  'export',
  'expiresAt',
  'caCert',
  ['provider', providerColumn.toSql],
  ['identity', identityColumn.toSql],
];

/** An integration without its envelope and key term. */
export type IntegrationListing = Omit<IntegrationRow, 'envelope' | 'term'>;

