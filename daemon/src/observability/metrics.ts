import { API_ROUTES, ROLES, type Role } from '@dcs/shared';
import type { MintObserver } from '../providers/mint-cache.js';
import type { CloudProvider } from '../providers/mint-error.js';

/**
 * Prometheus metrics, written in the text exposition format (0.0.4) by hand: a few counters, one
 * histogram and some gauges do not need a client library. Labels carry route patterns, methods,
 * statuses, outcomes and roles only — never a host, an id or a token — so `/metrics` can be scraped
 * without authentication.
 */

/** Numbers read from the store at scrape time. */
export interface MetricGauges {
  integrations: number;
  /** Active (not revoked, not expired) tokens by role. */
  activeTokens: Record<Role, number>;
  keyringActiveTerm: number;
}

/** A finished HTTP request, as the pre-flight (http/preflight.ts) reports it. */
export interface RequestObservation {
  method: string;
  route: string;
  status: number;
  ms: number;
}

/** The daemon's metrics registry. */
export interface Metrics {
  /** Counts a finished request; a lookup also lands in the latency histogram and in one outcome. */
  observeRequest(info: RequestObservation): void;
  /** The mint cache's hooks: a credential served from memory, a mint and its latency, a failure and its code. */
  mints: Required<MintObserver>;
  /** Renders every metric; `gauges` is read from the store for each scrape. */
  render(gauges: MetricGauges): string;
}

/**
 * How a credential lookup ended, read from its answer's status, so that every lookup the histogram
 * counts falls into exactly one outcome: the outcomes add up to the histogram's count.
 */
export type LookupOutcome = 'hit' | 'not_found' | 'expired' | 'unauthenticated' | 'rate_limited' | 'denied' | 'invalid' | 'error';

/** The outcome of a lookup answered with `status`. */
export function lookupOutcome(status: number): LookupOutcome {
  switch (status) {
    case 200:
      return 'hit';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'denied';
    case 404:
      return 'not_found';
    case 410:
      return 'expired';
    case 429:
      return 'rate_limited';
    default:
      return status >= 400 && status < 500 ? 'invalid' : 'error';
  }
}

/** Upper bounds (seconds) of the lookup latency histogram. */
export const LOOKUP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

const LOOKUP_OUTCOMES: readonly LookupOutcome[] = ['hit', 'not_found', 'expired', 'unauthenticated', 'rate_limited', 'denied', 'invalid', 'error'];

/** Upper bounds (seconds) of the mint latency histogram: a mint is one to three calls to a cloud. */
export const MINT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15] as const;

const PROVIDERS: readonly CloudProvider[] = ['aws-ecr', 'azure-acr', 'google'];

/** A histogram's counts, its sum and its total. */
interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

function emptyHistogram(bounds: readonly number[]): Histogram {
  return { buckets: bounds.map(() => 0), sum: 0, count: 0 };
}

function observe(histogram: Histogram, bounds: readonly number[], seconds: number): void {
  histogram.count++;
  histogram.sum += seconds;
  bounds.forEach((bound, index) => {
    if (seconds <= bound) histogram.buckets[index]!++;
  });
}

function renderHistogram(out: string[], name: string, bounds: readonly number[], histogram: Histogram, extra: Record<string, string> = {}): void {
  bounds.forEach((bound, index) => out.push(`${name}_bucket${labels({ ...extra, le: String(bound) })} ${histogram.buckets[index]}`));
  out.push(`${name}_bucket${labels({ ...extra, le: '+Inf' })} ${histogram.count}`);
  const suffix = Object.keys(extra).length > 0 ? labels(extra) : '';
  out.push(`${name}_sum${suffix} ${histogram.sum}`);
  out.push(`${name}_count${suffix} ${histogram.count}`);
}

/** Builds an empty registry; `version` becomes the build_info label. */
export function createMetrics(version: string): Metrics {
  const requests = new Map<string, number>();
  const lookups = new Map<LookupOutcome, number>(LOOKUP_OUTCOMES.map((outcome) => [outcome, 0]));
  const lookupLatency = emptyHistogram(LOOKUP_BUCKETS);
  const cacheHits = new Map<CloudProvider, number>(PROVIDERS.map((provider) => [provider, 0]));
  const mintLatency = new Map<CloudProvider, Histogram>(PROVIDERS.map((provider) => [provider, emptyHistogram(MINT_BUCKETS)]));
  const mintFailures = new Map<string, number>();

  return {
    observeRequest({ method, route, status, ms }) {
      const key = labels({ method, route, status: String(status) });
      requests.set(key, (requests.get(key) ?? 0) + 1);
      if (route === API_ROUTES.credentialsGet) {
        observe(lookupLatency, LOOKUP_BUCKETS, ms / 1000);
        const outcome = lookupOutcome(status);
        lookups.set(outcome, (lookups.get(outcome) ?? 0) + 1);
      }
    },

    mints: {
      onCacheHit: (provider) => void cacheHits.set(provider, (cacheHits.get(provider) ?? 0) + 1),
      onMint: (provider, latencyMs) => observe(mintLatency.get(provider)!, MINT_BUCKETS, latencyMs / 1000),
      onMintFailure(provider, code) {
        const key = labels({ provider, code });
        mintFailures.set(key, (mintFailures.get(key) ?? 0) + 1);
      },
    },

    render(gauges) {
      const out: string[] = [];
      const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

      family('scalr_credd_build_info', 'gauge', 'Version of the running scalr-credd.');
      out.push(`scalr_credd_build_info${labels({ version })} 1`);

      family('scalr_credd_http_requests_total', 'counter', 'HTTP requests by method, route pattern and status.');
      for (const [key, count] of [...requests].sort(([a], [b]) => a.localeCompare(b))) {
        out.push(`scalr_credd_http_requests_total${key} ${count}`);
      }

      family('scalr_credd_lookups_total', 'counter', 'Credential lookups by outcome (from the answer status; they add up to the duration count).');
      for (const outcome of LOOKUP_OUTCOMES) out.push(`scalr_credd_lookups_total${labels({ outcome })} ${lookups.get(outcome) ?? 0}`);

      family('scalr_credd_lookup_duration_seconds', 'histogram', 'Time to answer POST /v1/credentials/get, in seconds.');
      renderHistogram(out, 'scalr_credd_lookup_duration_seconds', LOOKUP_BUCKETS, lookupLatency);

      family('scalr_credd_mint_cache_hits_total', 'counter', 'Lookups of cloud provider integrations served from minted credentials held in memory, by provider.');
      for (const provider of PROVIDERS) out.push(`scalr_credd_mint_cache_hits_total${labels({ provider })} ${cacheHits.get(provider)}`);

      family('scalr_credd_mint_duration_seconds', 'histogram', 'Registry credentials minted from cloud identities, and how long each mint took, by provider.');
      for (const provider of PROVIDERS) renderHistogram(out, 'scalr_credd_mint_duration_seconds', MINT_BUCKETS, mintLatency.get(provider)!, { provider });

      family('scalr_credd_mint_failures_total', 'counter', "Failed mints by provider and the provider's error code.");
      for (const [key, count] of [...mintFailures].sort(([a], [b]) => a.localeCompare(b))) out.push(`scalr_credd_mint_failures_total${key} ${count}`);

      family('scalr_credd_integrations', 'gauge', 'Stored integrations.');
      out.push(`scalr_credd_integrations ${gauges.integrations}`);

      family('scalr_credd_tokens', 'gauge', 'Active (not revoked, not expired) tokens by role.');
      for (const role of ROLES) out.push(`scalr_credd_tokens${labels({ role })} ${gauges.activeTokens[role] ?? 0}`);

      family('scalr_credd_keyring_active_term', 'gauge', 'The data-key term new secrets are sealed with.');
      out.push(`scalr_credd_keyring_active_term ${gauges.keyringActiveTerm}`);

      return `${out.join('\n')}\n`;
    },
  };
}

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
