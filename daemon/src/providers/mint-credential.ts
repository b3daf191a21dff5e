import { mintEcrCredential, type AwsIdentity } from './aws-ecr.js';
import { mintAcrCredential, type AzureIdentity } from './azure-acr.js';
import { mintGoogleCredential, type GoogleIdentity } from './google.js';
import type { MintedCredential, ProviderDeps } from './provider-common.js';

/** The cloud identity of an integration, by provider (the shapes `POST /v1/integrations` takes). */
export type CloudIdentity =
  | { provider: 'aws-ecr'; aws: AwsIdentity }
  | { provider: 'azure-acr'; azure: AzureIdentity }
  | { provider: 'google'; google: GoogleIdentity };

/** What a mint needs from an integration: the registry host asked for, its identity, and the registry's own CA if stored. */
export interface MintTarget {
  host: string;
  identity: CloudIdentity;
  caCert?: string | null;
}

/** Mints a registry credential for `target.host` from its cloud identity; rejects with MintError. */
export function mintCredential(target: MintTarget, deps: ProviderDeps): Promise<MintedCredential> {
  const { identity } = target;
  switch (identity.provider) {
    case 'aws-ecr':
      return mintEcrCredential(target.host, identity.aws, deps);
    case 'azure-acr':
      return mintAcrCredential(target.host, identity.azure, deps, { caCert: target.caCert });
    case 'google':
      return mintGoogleCredential(identity.google, deps);
  }
}
