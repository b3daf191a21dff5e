// Load slices with autocannon (in this process), with every response's latency kept so that slices
// of one target, interleaved with other targets' slices, merge into exact percentiles.
import { createRequire } from 'node:module';
import { cpuTimeMs } from './procs.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/**
 * Runs `durationSec` seconds of load against one target and returns what it saw. `target` is
 * { url, pid, path, method, headers, body }, or with `urls` instead of `url` for several servers of one
 * store: the connections are then split between them as equally as they divide, one autocannon instance
 * each, all running at once in this process, and their responses make one slice. The CPU time over the
 * slice is read from /proc: the server's (`pid`), or each part of `target.cpu` ({ name: () => ms }).
 */
export async function runSlice(target, { connections, durationSec }) {
  const urls = target.urls ?? [target.url];
  const cpu = target.cpu ?? { server: () => cpuTimeMs(target.pid) };
  const latencies = [];
  let non2xx = 0;
  const cpuBefore = readCpu(cpu);
  const results = await Promise.all(
    urls.map((url, index) => {
      const instance = autocannon({
        url: new URL(target.path, url).href,
        method: target.method,
        headers: target.headers,
        body: target.body,
        connections: Math.floor(connections / urls.length) + (index < connections % urls.length ? 1 : 0),
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
      return instance;
    }),
  );
  const cpuAfter = readCpu(cpu);
  const cpuPartsMs = Object.fromEntries(Object.keys(cpu).map((name) => [name, cpuAfter[name] - cpuBefore[name]]));
  return {
    ok: latencies.length,
    non2xx,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    timeouts: results.reduce((sum, result) => sum + result.timeouts, 0),
    // autocannon's own measure of the slice (ms), from its start to its stop (the longest instance's).
    durationMs: Math.max(...results.map((result) => result.duration * 1000)),
    cpuMs: Object.values(cpuPartsMs).reduce((sum, ms) => sum + ms, 0),
    cpuPartsMs,
    latencies,
  };
}

function readCpu(cpu) {
  return Object.fromEntries(Object.entries(cpu).map(([name, read]) => [name, read()]));
}

/** Merges slices of one target into totals. */
export function mergeSlices(slices) {
  const merged = { ok: 0, non2xx: 0, errors: 0, timeouts: 0, durationMs: 0, cpuMs: 0, cpuPartsMs: {}, latencies: [] };
  for (const slice of slices) {
    merged.ok += slice.ok;
    merged.non2xx += slice.non2xx;
    merged.errors += slice.errors;
    merged.timeouts += slice.timeouts;
    merged.durationMs += slice.durationMs;
    merged.cpuMs += slice.cpuMs;
    for (const [name, ms] of Object.entries(slice.cpuPartsMs)) merged.cpuPartsMs[name] = (merged.cpuPartsMs[name] ?? 0) + ms;
    for (const latency of slice.latencies) merged.latencies.push(latency);
  }
  return merged;
}
