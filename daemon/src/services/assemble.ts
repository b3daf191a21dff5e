import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { ROLES } from '@dcs/shared';
import type { LiveBarrier } from '../barrier/barrier.js';
import type { MetricGauges } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import { createRegistryProbe, type RegistryProbe } from '../registry/registry-probe.js';
import { createMintCache, type MintCache, type MintObserver } from '../providers/mint-cache.js';
import { mintCredential } from '../providers/mint-credential.js';
import { createOutbound, type EnvironmentVariables, type SendOutbound } from '../providers/outbound.js';
import type { ProviderDeps } from '../providers/provider-common.js';
import { createAuditService, type AuditService } from './audit-service.js';
import { createCredentialService, type CredentialService, type ExpiryNotice } from './credential-service.js';
import { createIntegrationService, type IntegrationService } from './integration-service.js';
import { createRegistryCheckService, type RegistryCheckService } from './registry-check-service.js';
import { createTokenService, type TokenService } from './token-service.js';

/** The services wired over one store and barrier. */
export interface Services {
  store: Store;
  barrier: LiveBarrier;
  audit: AuditLog;
  integrations: IntegrationService;
  credentials: CredentialService;
  tokens: TokenService;
  auditTrail: AuditService;
  registryChecks: RegistryCheckService;
  /** The credentials minted for cloud provider integrations, in memory only. */
  mintCache: MintCache;
}

/** What assembleServices takes besides the store and the barrier. */
export interface AssembleOptions {
  now?: () => Date;
  /** Told when a served credential expires within a week (the caller throttles and logs). */
  onExpiring?: (notice: ExpiryNotice) => void;
  /** Checks credentials against registries; default: node:http(s) with a 5 s deadline. */
  probe?: RegistryProbe;
  /**
   * The daemon's environment, as its entry point read it: the cloud providers' endpoint overrides
   * (AWS_ENDPOINT_URL_*, AZURE_AUTHORITY_HOST) and HTTPS_PROXY / NO_PROXY. Default: none.
   */
  env?: EnvironmentVariables;
  /** How the providers reach the clouds; default: createOutbound over `env`, `outboundTimeoutMs` per call. */
  send?: SendOutbound;
  /** Deadline of one call to a cloud (connect included); default: outbound.ts's. */
  outboundTimeoutMs?: number;
  /** Told of mints, mint failures and cache hits (metrics). */
  mintObserver?: MintObserver;
}

/** Wires repositories and services; `now`, the observers and the probe are injected so tests and metrics can observe. */
export function assembleServices(options: { store: Store; barrier: LiveBarrier } & AssembleOptions): Services {
  const { store, barrier } = options;
  const now = options.now ?? (() => new Date());
  const audit = createAuditLog(store, now);
  const base = { store, audit, now };
  const env = options.env ?? {};
  const nowMs = () => now().getTime();
  const timeouts = options.outboundTimeoutMs === undefined ? {} : { timeoutMs: options.outboundTimeoutMs, connectTimeoutMs: options.outboundTimeoutMs };
  const providerDeps: ProviderDeps = { send: options.send ?? createOutbound({ env, ...timeouts }), nowMs, env };
  const mint = (target: Parameters<typeof mintCredential>[0]) => mintCredential(target, providerDeps);
  const mintCache = createMintCache({ mint, nowMs, ...(options.mintObserver ? { observer: options.mintObserver } : {}) });
  return {
    store,
    barrier,
    audit,
    mintCache,
    integrations: createIntegrationService({ ...base, barrier, mintCache }),
    credentials: createCredentialService({
      ...base,
      barrier,
      mintCache,
      ...(options.onExpiring ? { onExpiring: options.onExpiring } : {}),
    }),
    tokens: createTokenService(base),
    auditTrail: createAuditService({ audit, tokens: store.tokens }),
    registryChecks: createRegistryCheckService({
      ...base,
      barrier,
      probe: options.probe ?? createRegistryProbe(),
      mint,
    }),
  };
}

/** Reads the gauges `/metrics` reports from the store (counts only). */
export async function readMetricGauges(services: Pick<Services, 'store' | 'barrier'>, now: Date): Promise<MetricGauges> {
  const at = now.toISOString();
  const { tokens, integrations } = services.store;
  const active = await Promise.all(ROLES.map(async (role) => [role, await tokens.countActive(role, at)] as const));
  return {
    integrations: await integrations.count(),
    activeTokens: Object.fromEntries(active) as MetricGauges['activeTokens'],
    keyringActiveTerm: services.barrier.isSealed() ? 0 : services.barrier.activeTerm(),
  };
}
