// Load slices with autocannon (in this process), with every response's latency kept so that slices
// of one target, interleaved with other targets' slices, merge into exact percentiles.
import { createRequire } from 'node:module';
import { cpuTimeMs } from './procs.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/**
 * Runs `durationSec` seconds of load against one target and returns what it saw. `target` is
 * { url, pid, path, method, headers, body }. The server's CPU time over the slice is read from /proc.
 */
export async function runSlice(target, { connections, durationSec }) {
  const latencies = [];
  let non2xx = 0;
  const cpuBefore = cpuTimeMs(target.pid);
  const instance = autocannon({
    url: new URL(target.path, target.url).href,
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections,
    pipelining: 1,
    duration: durationSec,
    timeout: 10,
    renderProgressBar: false,
    renderLatencyTable: false,
    renderResultsTable: false,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    else non2xx++;
  });
  const result = await instance;
  const cpuMs = cpuTimeMs(target.pid) - cpuBefore;
  return {
    ok: latencies.length,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // autocannon's own measure of the slice (ms), from its start to its stop.
    durationMs: result.duration * 1000,
    cpuMs,
    latencies,
  };
}

/** Merges slices of one target into totals. */
export function mergeSlices(slices) {
  const merged = { ok: 0, non2xx: 0, errors: 0, timeouts: 0, durationMs: 0, cpuMs: 0, latencies: [] };
  for (const slice of slices) {
    merged.ok += slice.ok;
    merged.non2xx += slice.non2xx;
    merged.errors += slice.errors;
    merged.timeouts += slice.timeouts;
    merged.durationMs += slice.durationMs;
    merged.cpuMs += slice.cpuMs;
    for (const latency of slice.latencies) merged.latencies.push(latency);
  }
  return merged;
}
