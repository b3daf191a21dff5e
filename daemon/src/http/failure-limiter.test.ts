import { describe, expect, it } from 'vitest';
import { createFailureLimiter } from './failure-limiter.js';

function build(maxSources?: number) {
  let now = 1_000_000;
  const limiter = createFailureLimiter({ maxFailures: 3, windowMs: 60_000, now: () => now, ...(maxSources ? { maxSources } : {}) });
  return { limiter, advance: (ms: number) => void (now += ms) };
}

describe('createFailureLimiter', () => {
  it('does not block a source below the failure limit', () => {
    const { limiter } = build();

    limiter.recordFailure('10.0.0.1');
    limiter.recordFailure('10.0.0.1');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('blocks a source for the rest of the window once it reaches the limit', () => {
    const { limiter, advance } = build();
    limiter.recordFailure('10.0.0.1');
    advance(10_000);
    limiter.recordFailure('10.0.0.1');
    limiter.recordFailure('10.0.0.1');

    const blocked = limiter.blockedFor('10.0.0.1');

    expect(blocked).toBe(50);
  });

  it('answers at least one second while blocked', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1');

    advance(59_999);

    expect(limiter.blockedFor('10.0.0.1')).toBe(1);
  });

  it('unblocks the source when the window ends', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1');

    advance(60_000);

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('starts a fresh window when a failure comes after the old window ended', () => {
    const { limiter, advance } = build();
    for (let i = 0; i < 2; i++) limiter.recordFailure('10.0.0.1');
    advance(60_000);

    limiter.recordFailure('10.0.0.1');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });

  it('counts each source on its own', () => {
    const { limiter } = build();

    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1');

    expect(limiter.blockedFor('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.blockedFor('10.0.0.2')).toBe(0);
  });

  it('forgets the oldest source when it tracks too many', () => {
    const { limiter } = build(2);
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1');

    limiter.recordFailure('10.0.0.2');
    limiter.recordFailure('10.0.0.3');

    expect(limiter.blockedFor('10.0.0.1')).toBe(0);
  });
});
