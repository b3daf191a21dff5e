import { INTEGRATION_SUMMARY_FIELDS, type IntegrationSummary } from '@dcs/shared';
import { secretContext, type Barrier } from '../barrier/barrier.js';
import { newId } from '../ids.js';
import type { IntegrationListing, IntegrationRow } from '../store/integration-repository.js';

/** What a new integration is made of; the optional fields default to empty and `export` to true. */
export interface NewIntegration {
  host: string;
  username: string;
  secret: string;
  export?: boolean | undefined;
  description?: string | null | undefined;
  expiresAt?: string | null | undefined;
  caCert?: string | null | undefined;
}

/** Returns the secret sealed for its host, with the term that sealed it. */
export function sealSecret(barrier: Pick<Barrier, 'seal'>, host: string, secret: string): Pick<IntegrationRow, 'envelope' | 'term'> {
  return barrier.seal(secretContext(host), secret);
}

/** Builds the row of a new integration: a fresh id, the secret sealed for its host, created and updated `at`, never tested. */
export function buildIntegrationRow(barrier: Pick<Barrier, 'seal'>, fields: NewIntegration, at: string): IntegrationRow {
  return {
    id: newId('int'),
    host: fields.host,
    username: fields.username,
    ...sealSecret(barrier, fields.host, fields.secret),
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

/** The public view of a stored integration: the summary's fields (everything but the envelope and term). */
export function integrationSummary(row: IntegrationListing): IntegrationSummary {
  // `?? null`: rows built before the later columns existed may lack the fields.
  return Object.fromEntries(INTEGRATION_SUMMARY_FIELDS.map((field) => [field, row[field] ?? null])) as IntegrationSummary;
}
