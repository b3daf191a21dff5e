/** Counts failed authentications per source and blocks a source that fails too often. */
export interface FailureLimiter {
  recordFailure(source: string): void;
  /** Seconds the source must still wait; 0 when it is not blocked. */
  blockedFor(source: string): number;
}

/** Options of the fixed-window limiter. */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  now: () => number;
  /** Sources tracked at most, so a flood of addresses cannot grow memory without bound. */
  maxSources?: number;
}

/** Builds a fixed-window failure limiter: more than `maxFailures` in `windowMs` blocks the source until the window ends. */
export function createFailureLimiter({ maxFailures, windowMs, now, maxSources = 10_000 }: FailureLimiterOptions): FailureLimiter {
  const windows = new Map<string, { start: number; failures: number }>();
  const current = (source: string) => {
    const window = windows.get(source);
    if (window && now() - window.start < windowMs) return window;
    windows.delete(source);
    return undefined;
  };
  return {
    recordFailure(source) {
      const window = current(source);
      if (window) {
        window.failures++;
        return;
      }
      if (windows.size >= maxSources) windows.delete(windows.keys().next().value!);
      windows.set(source, { start: now(), failures: 1 });
    },
    blockedFor(source) {
      const window = current(source);
      if (!window || window.failures < maxFailures) return 0;
      return Math.max(1, Math.ceil((window.start + windowMs - now()) / 1000));
    },
  };
}
