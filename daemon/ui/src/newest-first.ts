/**
 * Newest-first pages over a log the API lists oldest first: `GET /v1/audit` returns the first
 * `limit` events after a cursor (a seq), ascending. The newest `limit` events before `before` are
 * found by searching for the largest cursor after which at least `limit` events remain: a
 * doubling probe for an upper bound, then bisection over seqs, so about log2(n / limit) + log2(n)
 * requests for n events (35 for a million). Pure: the page source is passed in.
 */

/** The part of an event this needs. */
export interface Sequenced {
  seq: number;
}

/** Reads up to `limit` events with seq > `after` (0: from the start), oldest first, as the API does. */
export type PageSource<E extends Sequenced> = (after: number, limit: number) => Promise<E[]>;

/** One newest-first page. */
export interface NewestFirstPage<E> {
  /** Newest first. */
  events: E[];
  /** Whether events older than the last one of `events` exist. */
  hasOlder: boolean;
}

/** The newest `limit` events with seq < `before` (every event when before is undefined), newest first. */
export async function newestFirstPage<E extends Sequenced>(read: PageSource<E>, limit: number, before?: number): Promise<NewestFirstPage<E>> {
  const cache = new Map<number, E[]>();
  /** The events in (after, before), up to `limit` of them. */
  const window = async (after: number): Promise<E[]> => {
    let events = cache.get(after);
    if (!events) {
      events = (await read(after, limit)).filter((event) => before === undefined || event.seq < before);
      cache.set(after, events);
    }
    return events;
  };
  const full = async (after: number) => (await window(after)).length >= limit;

  let low = 0;
  if (!(await full(low))) return { events: (await window(low)).reverse(), hasOlder: false };
  // Invariant: full(low) and not full(high).
  let high: number;
  if (before !== undefined) {
    high = before - 1;
  } else {
    high = limit;
    while (await full(high)) [low, high] = [high, high * 2];
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await full(middle)) low = middle;
    else high = middle;
  }
  const events = await window(low);
  const oldest = events[0]!.seq;
  const hasOlder = oldest > 1 && (await read(0, 1)).some((event) => event.seq < oldest);
  return { events: [...events].reverse(), hasOlder };
}
