import type { CloudProviderName, CreateIntegrationBody, IdentitySummary, UpdateIntegrationBody } from '@dcs/shared';
import { ValidationError } from '../errors.js';
import { ECR_USERNAME, parseEcrHost } from '../providers/aws-ecr.js';
import { ACR_USERNAME } from '../providers/azure-acr.js';
import { GOOGLE_USERNAME, googleHostMatches, parseServiceAccountKey } from '../providers/google.js';
import { MintError } from '../providers/mint-error.js';
import { createHash } from 'node:crypto';
import type { CachedIntegration } from '../providers/mint-cache.js';
import type { CloudIdentity } from '../providers/mint-credential.js';
import type { IntegrationRow } from '../store/integration-repository.js';

/**
 * The cloud identity of a provider integration as the services handle it: taken from a request body,
 * checked before it is stored, reduced to its non-secret fields for summaries, and written to and
 * read from the envelope (as JSON; the barrier seals it like a secret, bound to the host).
 */

/** The username each provider's minted credentials carry (ECR's is decoded from the token; it is always this). */
export const PROVIDER_USERNAME: Record<CloudProviderName, string> = {
  'aws-ecr': ECR_USERNAME,
  'azure-acr': ACR_USERNAME,
  google: GOOGLE_USERNAME,
};

/** The credential a create body carries: its username and secret, or its cloud identity. */
export function credentialOfCreate(body: CreateIntegrationBody): { username: string; secret: string } | { identity: CloudIdentity } {
  switch (body.provider) {
    case undefined:
    case 'static':
      return { username: body.username, secret: body.secret };
    case 'aws-ecr':
      return { identity: { provider: 'aws-ecr', aws: body.aws } };
    case 'azure-acr':
      return { identity: { provider: 'azure-acr', azure: body.azure } };
    case 'google':
      return { identity: { provider: 'google', google: body.google } };
  }
}

/** The replacement identity a PATCH body carries, if any (the schema allows at most one). */
export function identityOfUpdate(body: UpdateIntegrationBody): CloudIdentity | undefined {
  if (body.aws) return { provider: 'aws-ecr', aws: body.aws };
  if (body.azure) return { provider: 'azure-acr', azure: body.azure };
  if (body.google) return { provider: 'google', google: body.google };
  return undefined;
}

/**
 * Checks what can be checked without calling the cloud, so a bad identity is a 400 now rather than a
 * failed mint later: an ECR integration's host must name its region (or `region` be given), a
 * service-account key must parse. The messages name fields, never values.
 */
export function checkIdentity(host: string, identity: CloudIdentity): void {
  const invalid = (path: string, message: string) => new ValidationError(`${path}: ${message}`, [{ path, message }]);
  switch (identity.provider) {
    case 'aws-ecr':
      if (!identity.aws.region && !parseEcrHost(host)) {
        throw invalid('aws.region', `${host} is not an ECR host name (<account>.dkr.ecr.<region>.amazonaws.com); give the region`);
      }
      if (identity.aws.sessionDurationSeconds !== undefined && !identity.aws.roleArn) {
        throw invalid('aws.sessionDurationSeconds', 'applies only with roleArn');
      }
      return;
    case 'azure-acr':
      return;
    case 'google':
      try {
        parseServiceAccountKey(identity.google.serviceAccountKey);
      } catch (error) {
        if (error instanceof MintError) throw invalid('google.serviceAccountKey', error.message.replace(/^google: /, ''));
        throw error;
      }
  }
}

/** The non-secret fields of an identity: never an access key id or secret, a client secret or a private key. */
export function summarizeIdentity(identity: CloudIdentity): IdentitySummary {
  switch (identity.provider) {
    case 'aws-ecr': {
      const { region, roleArn, sessionDurationSeconds } = identity.aws;
      return {
        ...(region ? { region } : {}),
        ...(roleArn ? { roleArn } : {}),
        ...(sessionDurationSeconds !== undefined ? { sessionDurationSeconds } : {}),
      };
    }
    case 'azure-acr':
      return { tenantId: identity.azure.tenantId, clientId: identity.azure.clientId };
    case 'google': {
      const key = JSON.parse(identity.google.serviceAccountKey) as { client_email: string; project_id?: unknown };
      return { clientEmail: key.client_email, ...(typeof key.project_id === 'string' ? { projectId: key.project_id } : {}) };
    }
  }
}

/** The plaintext the envelope of a provider integration seals. */
export function identityPlaintext(identity: CloudIdentity): string {
  return JSON.stringify(identity);
}

/** Reads the identity back from an opened envelope (it was checked when stored, and the envelope authenticated). */
export function parseIdentityPlaintext(plaintext: string): CloudIdentity {
  return JSON.parse(plaintext) as CloudIdentity;
}

/** The host whose `google` integration serves a Google registry host that has none of its own. */
export const GOOGLE_FALLBACK_HOST = 'gcr.io';

/**
 * The host to look up when `host` has no integration of its own: `gcr.io` for every other Google
 * registry host (its integration, when it is a `google` one, serves them all); otherwise none.
 */
export function fallbackHost(host: string): string | undefined {
  return host !== GOOGLE_FALLBACK_HOST && googleHostMatches(host) ? GOOGLE_FALLBACK_HOST : undefined;
}

/**
 * What the mint cache and the providers need of a provider integration whose envelope was just
 * opened (`plaintext`), to serve `host` (a google integration may serve another host than its own).
 */
export function mintTargetOf(row: Readonly<IntegrationRow>, host: string, plaintext: string): CachedIntegration {
  return {
    id: row.id,
    // A new envelope is a new identity (or a re-seal): what was minted from the old one is not served.
    revision: createHash('sha256').update(row.envelope).digest('base64url'),
    host: row.provider === 'google' ? host : row.host,
    identity: parseIdentityPlaintext(plaintext),
    caCert: row.caCert,
    ...(row.expiresAt ? { notAfter: Date.parse(row.expiresAt) } : {}),
  };
}
