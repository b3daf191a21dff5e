import { API_ROUTES, ROLES, type Role } from '@dcs/shared';

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

/** Builds an empty registry; `version` becomes the build_info label. */
export function createMetrics(version: string): Metrics {
  const requests = new Map<string, number>();
  const lookups = new Map<LookupOutcome, number>(LOOKUP_OUTCOMES.map((outcome) => [outcome, 0]));
  const bucketCounts: number[] = LOOKUP_BUCKETS.map(() => 0);
  let lookupCount = 0;
  let lookupSum = 0;

  return {
    observeRequest({ method, route, status, ms }) {
      const key = labels({ method, route, status: String(status) });
      requests.set(key, (requests.get(key) ?? 0) + 1);
      if (route === API_ROUTES.credentialsGet) {
        const seconds = ms / 1000;
        lookupCount++;
        lookupSum += seconds;
        LOOKUP_BUCKETS.forEach((bound, index) => {
          if (seconds <= bound) bucketCounts[index]!++;
        });
        const outcome = lookupOutcome(status);
        lookups.set(outcome, (lookups.get(outcome) ?? 0) + 1);
      }
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
      LOOKUP_BUCKETS.forEach((bound, index) => {
        out.push(`scalr_credd_lookup_duration_seconds_bucket${labels({ le: String(bound) })} ${bucketCounts[index]}`);
      });
      out.push(`scalr_credd_lookup_duration_seconds_bucket${labels({ le: '+Inf' })} ${lookupCount}`);
      out.push(`scalr_credd_lookup_duration_seconds_sum ${lookupSum}`);
      out.push(`scalr_credd_lookup_duration_seconds_count ${lookupCount}`);

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
