import { describe, expect, it } from 'vitest';
import { newestFirstPage, type Sequenced } from './newest-first.js';

/** A log of seqs 1..n where `keep` says which events match the filters; reads as GET /v1/audit does. */
function log(n: number, keep: (seq: number) => boolean = () => true) {
  const events: Sequenced[] = Array.from({ length: n }, (_, i) => ({ seq: i + 1 })).filter((event) => keep(event.seq));
  let reads = 0;
  const read = async (after: number, limit: number) => (reads++, events.filter((event) => event.seq > after).slice(0, limit));
  return { events, read, reads: () => reads };
}

const seqs = (page: { events: Sequenced[] }) => page.events.map((event) => event.seq);

describe('newestFirstPage', () => {
  it('returns the newest events first, then the page before them, then the first events', async () => {
    const { read } = log(23);

    const newest = await newestFirstPage(read, 10);
    const older = await newestFirstPage(read, 10, newest.events.at(-1)!.seq);
    const oldest = await newestFirstPage(read, 10, older.events.at(-1)!.seq);

    expect(seqs(newest)).toEqual([23, 22, 21, 20, 19, 18, 17, 16, 15, 14]);
    expect(newest.hasOlder).toBe(true);
    expect(seqs(older)).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
    expect(older.hasOlder).toBe(true);
    expect(seqs(oldest)).toEqual([3, 2, 1]);
    expect(oldest.hasOlder).toBe(false);
  });

  it('pages over the events that match a filter, skipping the gaps between them', async () => {
    const { read } = log(1000, (seq) => seq % 7 === 0);

    const newest = await newestFirstPage(read, 5);
    const older = await newestFirstPage(read, 5, newest.events.at(-1)!.seq);

    expect(seqs(newest)).toEqual([994, 987, 980, 973, 966]);
    expect(seqs(older)).toEqual([959, 952, 945, 938, 931]);
  });

  it('answers a short log, an empty one and an exact page without an older page', async () => {
    expect(await newestFirstPage(log(3).read, 10)).toEqual({ events: [{ seq: 3 }, { seq: 2 }, { seq: 1 }], hasOlder: false });
    expect(await newestFirstPage(log(0).read, 10)).toEqual({ events: [], hasOlder: false });
    const exact = await newestFirstPage(log(10).read, 10);
    expect(seqs(exact)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(exact.hasOlder).toBe(false);
  });

  it('needs a number of reads logarithmic in the log size', async () => {
    const big = log(100_000);

    const page = await newestFirstPage(big.read, 50);

    expect(page.events[0]).toEqual({ seq: 100_000 });
    expect(big.reads()).toBeLessThanOrEqual(Math.ceil(Math.log2(100_000 / 50)) + Math.ceil(Math.log2(100_000)) + 3);
  });
});
