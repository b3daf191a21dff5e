import { INTEGRATION_SUMMARY_FIELDS, type IntegrationSummary } from '@dcs/shared';
import { secretContext, type LiveBarrier } from '../barrier/barrier.js';
import { newId } from '../ids.js';
import type { CloudIdentity } from '../providers/mint-credential.js';
import type { IntegrationListing, IntegrationRow } from '../store/integration-repository.js';
import { PROVIDER_USERNAME, identityPlaintext, summarizeIdentity } from './cloud-identity.js';

/** A static credential (stored as given) or a cloud identity (credentials minted from it). */
export type IntegrationCredential = { username: string; secret: string } | { identity: CloudIdentity };

/** What a new integration is made of; the optional fields default to empty and `export` to true. */
export type NewIntegration = IntegrationCredential & {
  host: string;
  export?: boolean | undefined;
  description?: string | null | undefined;
  expiresAt?: string | null | undefined;
  caCert?: string | null | undefined;
};

/** The row fields a credential sets. */
export type CredentialFields = Pick<IntegrationRow, 'username' | 'envelope' | 'term' | 'provider' | 'identity'>;

/**
 * The row fields of a credential: a static secret, or a cloud identity, sealed for the host (its
 * envelope is opened where the secret of a static row is) with the provider, its username and the
 * identity's non-secret fields beside it.
 */
export async function credentialFields(barrier: Pick<LiveBarrier, 'seal'>, host: string, credential: IntegrationCredential): Promise<CredentialFields> {
  if ('identity' in credential) {
    const { identity } = credential;
    return {
      username: PROVIDER_USERNAME[identity.provider],
      ...(await barrier.seal(secretContext(host), identityPlaintext(identity))),
      provider: identity.provider,
      identity: summarizeIdentity(identity),
    };
  }
  return { username: credential.username, ...(await barrier.seal(secretContext(host), credential.secret)), provider: 'static', identity: null };
}

/** Builds the row of a new integration: a fresh id, the credential sealed for its host, created and updated `at`, never tested. */
export async function buildIntegrationRow(barrier: Pick<LiveBarrier, 'seal'>, fields: NewIntegration, at: string): Promise<IntegrationRow> {
  return {
    id: newId('int'),
    host: fields.host,
    ...(await credentialFields(barrier, fields.host, fields)),
    export: fields.export ?? true,
    description: fields.description ?? null,
    createdAt: at,
    updatedAt: at,
    expiresAt: fields.expiresAt ?? null,
    caCert: fields.caCert ?? null,
    lastTestedAt: null,
    lastTestResult: null,
    lastTestDetail: null,
  };
}

/** An integration of a cloud provider: its envelope seals an identity, its credentials are minted. */
export type MintingRow = IntegrationRow & { provider: Exclude<IntegrationRow['provider'], 'static'> };

/** Whether the row is a cloud provider's (rows built before providers existed have no provider: static). */
export function mintsCredentials(row: Readonly<IntegrationRow>): row is Readonly<MintingRow> {
  return row.provider !== undefined && row.provider !== 'static';
}

/** The public view of a stored integration: the summary's fields (everything but the envelope and term). */
export function integrationSummary(row: IntegrationListing): IntegrationSummary {
  // `?? null`: rows built before the later columns existed may lack the fields.
  const summary = Object.fromEntries(INTEGRATION_SUMMARY_FIELDS.map((field) => [field, row[field] ?? null])) as IntegrationSummary;
  summary.provider = row.provider ?? 'static';
  return summary;
}
