import { describe, expect, it } from 'vitest';
import { OTHER_SOURCES, createFailureLimiter } from './failure-limiter.js';

function build(maxSources?: number, maxAuditedSources?: number) {
  let now = 1_000_000;
  const limiter = createFailureLimiter({
    maxFailures: 3,
    windowMs: 60_000,
    now: () => now,
    ...(maxSources ? { maxSources } : {}),
    ...(maxAuditedSources ? { maxAuditedSources } : {}),
  });
  return { limiter, advance: (ms: number) => void (now += ms) };
}

describe('createFailureLimiter', () => {
  it('does not block a source below the failure limit', () => {
    const { limiter } = build();

    limiter.recordFailure('10.0.0.1', 'mismatch');
    limiter.recordFailure('10.0.0.1', 'mismatch');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('blocks a source for the rest of the window once it reaches the limit', () => {
    const { limiter, advance } = build();
    limiter.recordFailure('10.0.0.1', 'mismatch');
    advance(10_000);
    limiter.recordFailure('10.0.0.1', 'mismatch');
    limiter.recordFailure('10.0.0.1', 'mismatch');

    const blocked = limiter.blockedFor('10.0.0.1');

    expect(blocked).toBe(50);
  });

  it('answers at least one second while blocked', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'mismatch');

    advance(59_999);

    expect(limiter.blockedFor('10.0.0.1')).toBe(1);
  });

  it('unblocks the source when the window ends', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'mismatch');

    advance(60_000);

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('starts a fresh window when a failure comes after the old window ended', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 2; i++) limiter.recordFailure('10.0.0.1', 'mismatch');
    advance(60_000);

    limiter.recordFailure('10.0.0.1', 'mismatch');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('counts each source on its own', () => {
    const { limiter } = build();

    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'mismatch');

    expect(limiter.blockedFor('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.blockedFor('10.0.0.2')).toBe(0);
  });

  it('forgets the oldest source when it tracks too many', () => {
    const { limiter } = build(2);
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'mismatch');

    limiter.recordFailure('10.0.0.2', 'mismatch');
    limiter.recordFailure('10.0.0.3', 'mismatch');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it("asks for an audit row of its own only for a source's first failure in a window", () => {
    const { limiter, advance } = build();

    const first = [1, 2, 3, 4].map(() => limiter.recordFailure('10.0.0.1', 'mismatch'));
    advance(60_000);
    const next = limiter.recordFailure('10.0.0.1', 'mismatch');

    expect(first).toEqual([true, false, false, false]);
    expect(next).toBe(true);
  });

  it("sums a source's further failures into one summary once its window ended", () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 5; i++) limiter.recordFailure('10.0.0.1', 'mismatch');
    limiter.recordFailure('10.0.0.2', 'mismatch');

    const early = limiter.takeSummaries();
    advance(60_000);
    const ended = limiter.takeSummaries();

    expect(early).toEqual([]);
    expect(ended).toEqual([{ source: '10.0.0.1', failures: 4, sources: 1, from: 1_000_000, to: 1_060_000 }]);
    expect(limiter.takeSummaries()).toEqual([]);
  });

  it('audits the first failure of each reason on its own, and counts the repeats of each in the summary', () => {
    const { limiter, advance } = build();

    const audited = ['mismatch', 'mismatch', 'expired', 'mismatch', 'expired', 'revoked'].map((reason) => limiter.recordFailure('10.0.0.1', reason));
    advance(60_000);

    expect(audited).toEqual([true, false, true, false, false, true]);
    expect(limiter.takeSummaries()).toEqual([{ source: '10.0.0.1', failures: 3, sources: 1, from: 1_000_000, to: 1_060_000 }]);
  });

  it('folds the failures of sources over the audit budget into one summary for all of them', () => {
    const { limiter, advance } = build(undefined, 2);

    const audited = Array.from({ length: 1200 }, (_, i) => limiter.recordFailure(`127.0.${i >> 8}.${i & 255}`, 'mismatch'));
    advance(60_000);
    const summaries = limiter.takeSummaries();

    expect(audited.filter(Boolean)).toHaveLength(2);
    expect(summaries).toEqual([{ source: OTHER_SOURCES, failures: 1198, sources: 1198, from: 1_000_000, to: 1_060_000 }]);
  });

  it('hands out every open window when asked for all (at shutdown)', () => {
    const { limiter } = build();
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'mismatch');

    expect(limiter.takeSummaries(true)).toEqual([{ source: '10.0.0.1', failures: 2, sources: 1, from: 1_000_000, to: 1_060_000 }]);
    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });
});
