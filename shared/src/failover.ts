/**
 * Failover across several daemons (`SCALR_CREDD_URL=URL1,URL2,…`), the same on every runtime of the
 * helper and in the admin CLI: in which order the daemons are asked, which failures are worth asking
 * the next one, and how one deadline is shared between the attempts. Pure apart from the clock and
 * host name passed in; the requests themselves go through the caller's RequestJson.
 *
 * - Order: the list rotated by a stable hash of the host name, so that a fleet of runners spreads
 *   over the daemons while each host keeps asking the same one first.
 * - Worth another daemon: no connection (refused, no such socket, unreachable host), a TLS failure,
 *   no answer in time, the connection lost before the answer was complete, and 503 (a daemon that is
 *   not ready, or a gateway without one: 502 and 504 too). Every other answer is final: a `404
 *   not_found` is the store's answer, the same on every daemon.
 * - Budget: one deadline for the whole request. Each attempt gets an equal share of what is left
 *   among the daemons not yet asked (the last gets all of it), so a frozen daemon that accepts and
 *   never answers cannot use up the time of the others; while another daemon remains, the connection
 *   itself must open within CONNECT_TIMEOUT_MS.
 */
import { HttpClientError, readErrorBody, type JsonRequest, type JsonResponse, type RequestJson } from './http-client.js';

/** The longest wait for a connection to open while another daemon is left to try. */
export const CONNECT_TIMEOUT_MS = 300;

/** The statuses that say "not this daemon, not now": unavailable, and a gateway's bad gateway and timeout. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** Splits a daemon URL setting into its URLs: one, or several separated by commas (blanks ignored). */
export function splitDaemonUrls(text: string): string[] {
  return text
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/** Where a host starts in a list of `count` daemons: FNV-1a (32 bits) of its name, modulo the count. */
export function hostOffset(hostName: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < hostName.length; index += 1) {
    hash = Math.imul(hash ^ hostName.charCodeAt(index), 0x01000193) >>> 0;
  }
  return hash % count;
}

/** The daemons in the order this host asks them: the list rotated by hostOffset. */
export function orderForHost(urls: readonly string[], hostName: string): string[] {
  const start = hostOffset(hostName, urls.length);
  return [...urls.slice(start), ...urls.slice(0, start)];
}

/** How one attempt ended: an answer (any status), or the RequestJson's rejection. */
export type AttemptOutcome = { readonly response: JsonResponse } | { readonly error: unknown };

/** Says whether another daemon may answer where this attempt did not (see the module comment). */
export function worthAnotherDaemon(outcome: AttemptOutcome): boolean {
  if ('response' in outcome) return RETRYABLE_STATUSES.has(outcome.response.status);
  const { error } = outcome;
  return error instanceof HttpClientError && (error.kind === 'unreachable' || error.kind === 'timeout' || error.kind === 'closed');
}

/** The deadlines of one attempt, given the time left and the number of daemons not yet asked (this one included). */
export function attemptDeadlines(remainingMs: number, daemonsLeft: number): { timeoutMs: number; connectTimeoutMs?: number } {
  if (daemonsLeft <= 1) return { timeoutMs: remainingMs };
  const timeoutMs = Math.ceil(remainingMs / daemonsLeft);
  return { timeoutMs, connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, timeoutMs) };
}

/** One daemon that was asked and did not answer usefully. */
export interface FailedAttempt {
  readonly url: string;
  readonly outcome: AttemptOutcome;
}

/** Every daemon in the list failed (or the deadline ran out first); the message names each URL with its reason. */
export class DaemonsUnavailableError extends Error {
  override readonly name = 'DaemonsUnavailableError';
  readonly attempts: readonly FailedAttempt[];
  /** The URLs not asked because the deadline had run out. */
  readonly untried: readonly string[];
  /** Each URL with its reason, e.g. `http://a:1 (connection refused), unix:/b.sock (status 503 unavailable)`. */
  readonly summary: string;

  constructor(attempts: readonly FailedAttempt[], untried: readonly string[]) {
    const tried = attempts.map(({ url, outcome }) => `${url} (${describeOutcome(outcome)})`);
    const summary = [...tried, ...untried.map((url) => `${url} (not tried: no time left)`)].join(', ');
    super(`no daemon answered: ${summary}`);
    this.attempts = attempts;
    this.untried = untried;
    this.summary = summary;
  }
}

/** The short reason of a failed attempt, e.g. `connection refused` or `status 503 unavailable`. */
export function describeOutcome(outcome: AttemptOutcome): string {
  if ('response' in outcome) {
    const { code } = readErrorBody(outcome.response.body);
    return `status ${outcome.response.status}${code === undefined ? '' : ` ${code}`}`;
  }
  return outcome.error instanceof HttpClientError ? outcome.error.detail : 'request failed';
}

/** What requestWithFailover needs besides the request. */
export interface FailoverOptions {
  /** The daemons as configured (at least one). */
  readonly urls: readonly string[];
  /** The host name; asked only when there is more than one URL. */
  readonly hostName: () => string;
  /** A monotonic clock in milliseconds; performance.now by default. */
  readonly now?: () => number;
}

/** The answer and the daemon that gave it. */
export interface FailoverAnswer {
  readonly url: string;
  readonly response: JsonResponse;
}

/**
 * Sends `request` (its `timeoutMs` is the whole deadline) to the daemons in this host's order until
 * one answers with something other than a failure worth another daemon. With one URL this is exactly
 * one RequestJson call: its answer or its rejection, unchanged. With several, when none answers,
 * rejects with DaemonsUnavailableError naming every URL tried.
 */
export async function requestWithFailover(
  send: RequestJson,
  request: Omit<JsonRequest, 'url' | 'connectTimeoutMs'>,
  options: FailoverOptions,
): Promise<FailoverAnswer> {
  const { urls } = options;
  if (urls.length === 1) return { url: urls[0]!, response: await send({ ...request, url: urls[0]! }) };
  const now = options.now ?? (() => performance.now());
  const deadline = now() + request.timeoutMs;
  const ordered = orderForHost(urls, options.hostName());
  const failed: FailedAttempt[] = [];
  for (const [index, url] of ordered.entries()) {
    const remainingMs = Math.floor(deadline - now());
    if (remainingMs <= 0) throw new DaemonsUnavailableError(failed, ordered.slice(index));
    let outcome: AttemptOutcome;
    try {
      outcome = { response: await send({ ...request, url, ...attemptDeadlines(remainingMs, ordered.length - index) }) };
    } catch (error) {
      outcome = { error };
    }
    if (!worthAnotherDaemon(outcome)) {
      if ('error' in outcome) throw outcome.error;
      return { url, response: outcome.response };
    }
    failed.push({ url, outcome });
  }
  throw new DaemonsUnavailableError(failed, []);
}
