import { describe, expect, it } from 'vitest';
import { createMetrics, type MetricGauges } from './metrics.js';

const GAUGES: MetricGauges = { integrations: 3, activeTokens: { admin: 1, manager: 0, auditor: 2, runner: 5 }, keyringActiveTerm: 4 };

describe('createMetrics', () => {
  it('renders HELP and TYPE before each family and one sample per line', () => {
    const text = createMetrics('1.2.3').render(GAUGES);

    const lines = text.trimEnd().split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.startsWith('# TYPE')) expect(lines[i - 1]).toMatch(/^# HELP /);
      else if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/);
    }
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('scalr_credd_tokens{role="runner"} 5');
    expect(text).toContain('scalr_credd_keyring_active_term 4');
  });

  it('counts requests per method, route and status', () => {
    const metrics = createMetrics('v');

    metrics.observeRequest({ method: 'GET', route: '/v1/tokens', status: 200, ms: 1 });
    metrics.observeRequest({ method: 'GET', route: '/v1/tokens', status: 200, ms: 1 });
    metrics.observeRequest({ method: 'GET', route: '/v1/tokens', status: 403, ms: 1 });

    const text = metrics.render(GAUGES);
    expect(text).toContain('scalr_credd_http_requests_total{method="GET",route="/v1/tokens",status="200"} 2');
    expect(text).toContain('scalr_credd_http_requests_total{method="GET",route="/v1/tokens",status="403"} 1');
  });

  it('puts lookup latencies in cumulative buckets with sum and count', () => {
    const metrics = createMetrics('v');

    for (const ms of [0.5, 3, 3, 40, 3000]) metrics.observeRequest({ method: 'POST', route: '/v1/credentials/get', status: 200, ms });

    const text = metrics.render(GAUGES);
    expect(text).toContain('scalr_credd_lookup_duration_seconds_bucket{le="0.001"} 1');
    expect(text).toContain('scalr_credd_lookup_duration_seconds_bucket{le="0.005"} 3');
    expect(text).toContain('scalr_credd_lookup_duration_seconds_bucket{le="0.05"} 4');
    expect(text).toContain('scalr_credd_lookup_duration_seconds_bucket{le="2.5"} 4');
    expect(text).toContain('scalr_credd_lookup_duration_seconds_bucket{le="+Inf"} 5');
    expect(text).toContain('scalr_credd_lookup_duration_seconds_count 5');
    expect(text).toMatch(/scalr_credd_lookup_duration_seconds_sum 3\.0465/);
  });

  it('does not put other routes in the lookup histogram', () => {
    const metrics = createMetrics('v');

    metrics.observeRequest({ method: 'GET', route: '/v1/credentials', status: 200, ms: 1 });

    expect(metrics.render(GAUGES)).toContain('scalr_credd_lookup_duration_seconds_count 0');
  });

  it('counts lookups by the outcome their status names, reporting zero for outcomes not seen yet', () => {
    const metrics = createMetrics('v');
    const lookup = (status: number) => metrics.observeRequest({ method: 'POST', route: '/v1/credentials/get', status, ms: 1 });

    for (const status of [200, 200, 500, 410, 401, 429, 403, 400, 413, 503]) lookup(status);
    metrics.observeRequest({ method: 'GET', route: '/v1/credentials', status: 200, ms: 1 });

    const text = metrics.render(GAUGES);
    const counted = Object.fromEntries([...text.matchAll(/^scalr_credd_lookups_total\{outcome="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(counted).toEqual({ hit: 2, not_found: 0, expired: 1, unauthenticated: 1, rate_limited: 1, denied: 1, invalid: 2, error: 2 });
    expect(text).toContain('scalr_credd_lookup_duration_seconds_count 10');
  });

  it('escapes quotes, backslashes and newlines in label values', () => {
    const text = createMetrics('a"b\\c\nd').render(GAUGES);

    expect(text).toContain('scalr_credd_build_info{version="a\\"b\\\\c\\nd"} 1');
  });
});
