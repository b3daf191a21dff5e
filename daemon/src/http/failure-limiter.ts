/**
 * Counts failed authentications per source, limits the failing source only, and bounds what failures
 * cost in audit rows.
 *
 * - A source that failed `maxFailures` times in its window is answered 429 for further failures
 *   until the window ends. The limiter is asked only after a token failed: a valid token always
 *   passes, from any source (every client behind one proxy, or on the Unix socket, shares a source).
 * - A source's first failure of each kind (reason) in its window is audited on its own, so one bad
 *   token shows at once and the log still says why each kind of attempt failed; its later failures
 *   are counted and audited as one summary row with the count when the window ends. Only `maxAuditedSources` sources per window get rows of their own: failures from further
 *   sources (an attacker rotating addresses) fold into one summary row for all of them.
 */

/** Failures not audited one by one, summed up for one source (or for `sources` sources at once). */
export interface FailureSummary {
  /** The source, or `other sources` for the sources over the audit budget. */
  source: string;
  failures: number;
  /** How many sources the summary covers (1 for a single source). */
  sources: number;
  /** Window start and end, epoch milliseconds. */
  from: number;
  to: number;
}

/** What the limiter holds. */
export interface FailureLimiter {
  /** Counts a failure; true when it is to be audited on its own now, false when a summary will count it. */
  recordFailure(source: string, reason: string): boolean;
  /** Seconds the source must still wait; 0 when it is not blocked. */
  blockedFor(source: string): number;
  /** Summaries of the windows that have ended since the last call (of every window when `all`). */
  takeSummaries(all?: boolean): FailureSummary[];
}

/** Options of the fixed-window limiter. */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  now: () => number;
  /** Sources tracked at most, so a flood of addresses cannot grow memory without bound. */
  maxSources?: number;
  /** Sources per window whose failures are audited under their own name (default 20). */
  maxAuditedSources?: number;
}

/** The source name of the summary row for the sources over the audit budget. */
export const OTHER_SOURCES = 'other sources';

interface SourceWindow {
  start: number;
  failures: number;
  /** The reasons audited on their own in this window (the first failure of each). */
  reasons: Set<string>;
  /** Whether this source's failures are audited under its own name in this window. */
  named: boolean;
  /** For an unnamed source: the start of the budget window that counted it among the other sources. */
  countedIn?: number;
}

/** Builds a fixed-window failure limiter: `maxFailures` in `windowMs` block the source's further failures until the window ends. */
export function createFailureLimiter({ maxFailures, windowMs, now, maxSources = 10_000, maxAuditedSources = 20 }: FailureLimiterOptions): FailureLimiter {
  // Insertion order is start order and every window is as long, so the ended windows are a prefix.
  const windows = new Map<string, SourceWindow>();
  let budget: { start: number; named: number; otherFailures: number; otherSources: number } | undefined;
  const due: FailureSummary[] = [];

  const close = (source: string, window: SourceWindow) => {
    windows.delete(source);
    if (window.named && window.failures > window.reasons.size) {
      due.push({ source, failures: window.failures - window.reasons.size, sources: 1, from: window.start, to: window.start + windowMs });
    }
  };
  const closeBudget = () => {
    if (budget && budget.otherFailures > 0) {
      due.push({ source: OTHER_SOURCES, failures: budget.otherFailures, sources: budget.otherSources, from: budget.start, to: budget.start + windowMs });
    }
    budget = undefined;
  };
  const closeEnded = (at: number) => {
    for (const [source, window] of windows) {
      if (at - window.start < windowMs) break;
      close(source, window);
    }
    if (budget && at - budget.start >= windowMs) closeBudget();
  };
  const live = (source: string, at: number) => {
    const window = windows.get(source);
    return window && at - window.start < windowMs ? window : undefined;
  };

  return {
    recordFailure(source, reason) {
      const at = now();
      closeEnded(at);
      budget ??= { start: at, named: 0, otherFailures: 0, otherSources: 0 };
      let window = live(source, at);
      if (!window) {
        if (windows.size >= maxSources) {
          const [oldest, entry] = windows.entries().next().value!;
          close(oldest, entry);
        }
        const named = budget.named < maxAuditedSources;
        if (named) budget.named++;
        window = { start: at, failures: 0, reasons: new Set(), named };
        windows.set(source, window);
      }
      window.failures++;
      if (window.named) {
        if (window.reasons.has(reason)) return false;
        window.reasons.add(reason);
        return true;
      }
      if (window.countedIn !== budget.start) {
        window.countedIn = budget.start;
        budget.otherSources++;
      }
      budget.otherFailures++;
      return false;
    },
    blockedFor(source) {
      const at = now();
      const window = live(source, at);
      if (!window || window.failures < maxFailures) return 0;
      return Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));
    },
    takeSummaries(all = false) {
      if (all) {
        for (const [source, window] of windows) close(source, window);
        closeBudget();
      } else {
        closeEnded(now());
      }
      return due.splice(0);
    },
  };
}
