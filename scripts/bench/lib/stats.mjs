// Small statistics helpers for the bench: quantiles (linear interpolation between order statistics),
// summaries and ratios.

/** The q-quantile (0 ≤ q ≤ 1) of an ascending-sorted array, interpolated linearly (R type 7). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** Median, p95, p99, min, max and mean of a list of numbers. */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    min: sorted.length ? sorted[0] : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** a / b, or NaN when b is not a positive number. */
export function ratio(a, b) {
  return b > 0 ? a / b : Number.NaN;
}

/** Rounds for the JSON report (keeps it readable; the raw samples are not stored). */
export function round(value, digits = 2) {
  if (!Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Rounds every number of a summary. */
export function roundSummary(summary, digits = 2) {
  return Object.fromEntries(Object.entries(summary).map(([key, value]) => [key, key === 'n' ? value : round(value, digits)]));
}
