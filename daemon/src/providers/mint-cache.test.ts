import { describe, expect, it } from 'vitest';
import { createMintCache, type CachedIntegration, type MintCacheOptions } from './mint-cache.js';
import { MintError } from './mint-error.js';
import type { MintedCredential } from './provider-common.js';

const HOUR = 60 * 60 * 1000;
const START = Date.UTC(2030, 0, 1);

function buildIntegration(overrides: Partial<CachedIntegration> = {}): CachedIntegration {
  return {
    id: 'int-1',
    revision: 'r1',
    host: 'europe-docker.pkg.dev',
    identity: { provider: 'google', google: { serviceAccountKey: '{}' } },
    ...overrides,
  };
}

/** A cache over a scripted mint and a clock the test moves. */
function buildCache(overrides: Partial<MintCacheOptions> = {}) {
  const clock = { now: START };
  const events: string[] = [];
  let minted = 0;
  const outcomes: Array<(n: number) => Promise<MintedCredential>> = [];
  const mint = (integration: CachedIntegration) => {
    minted++;
    const next = outcomes.shift();
    if (next) return next(minted);
    return Promise.resolve({ username: 'u', secret: `${integration.revision}-secret-${minted}`, expiresAt: clock.now + HOUR });
  };
  const cache = createMintCache({
    mint,
    nowMs: () => clock.now,
    observer: {
      onCacheHit: (provider) => events.push(`hit:${provider}`),
      onMint: (provider) => events.push(`mint:${provider}`),
      onMintFailure: (provider, code) => events.push(`fail:${provider}:${code}`),
    },
    ...overrides,
  });
  return { cache, clock, events, outcomes, mints: () => minted };
}

const refused = () => Promise.reject(new MintError('google', 'invalid_grant', 'refused'));

describe('createMintCache', () => {
  it('serves the cached credential within the first half of its lifetime without minting again', async () => {
    const { cache, clock, mints, events } = buildCache();

    const first = await cache.get(buildIntegration());
    clock.now += HOUR / 2 - 1;
    const second = await cache.get(buildIntegration());

    expect(second).toEqual(first);
    expect(mints()).toBe(1);
    expect(events).toEqual(['mint:google', 'hit:google']);
  });

  it('mints again once half the lifetime has passed', async () => {
    const { cache, clock, mints } = buildCache();

    const first = await cache.get(buildIntegration());
    clock.now += HOUR / 2;
    const second = await cache.get(buildIntegration());

    expect(mints()).toBe(2);
    expect(second.secret).not.toBe(first.secret);
  });

  it('serves a still-valid credential when its refresh fails, and retries only after retryAfterMs', async () => {
    const { cache, clock, mints, outcomes, events } = buildCache({ retryAfterMs: 10_000 });
    const first = await cache.get(buildIntegration());
    clock.now += HOUR / 2 + 1;
    outcomes.push(refused);

    const during = await cache.get(buildIntegration());
    clock.now += 5_000;
    const soon = await cache.get(buildIntegration());
    clock.now += 5_000;
    const later = await cache.get(buildIntegration());

    expect(during).toEqual(first);
    expect(soon).toEqual(first);
    expect(mints()).toBe(3);
    expect(later.secret).toBe('r1-secret-3');
    expect(events).toContain('fail:google:invalid_grant');
  });

  it('fails with the MintError, not the old credential, when minting fails after expiry', async () => {
    const { cache, clock, outcomes } = buildCache();
    await cache.get(buildIntegration());
    clock.now += HOUR;
    outcomes.push(refused);

    const result = cache.get(buildIntegration());

    await expect(result).rejects.toBeInstanceOf(MintError);
    await expect(result).rejects.toMatchObject({ provider: 'google', code: 'invalid_grant' });
  });

  it('does not serve a credential within minRemainingMs of its expiry', async () => {
    const { cache, clock, outcomes } = buildCache({ minRemainingMs: 60_000, retryAfterMs: 0 });
    await cache.get(buildIntegration());
    clock.now += HOUR - 60_000;
    outcomes.push(refused);

    await expect(cache.get(buildIntegration())).rejects.toMatchObject({ code: 'invalid_grant' });
  });

  it('never serves past the integration notAfter, even when the credential lives longer', async () => {
    const { cache, clock, mints } = buildCache({ minRemainingMs: 0 });
    const integration = buildIntegration({ notAfter: START + 10 * 60 * 1000 });
    await cache.get(integration);
    clock.now += 10 * 60 * 1000;

    await expect(cache.get(integration)).rejects.toMatchObject({ code: 'expired_on_arrival' });
    expect(mints()).toBe(2);
  });

  it('shares one mint between concurrent callers', async () => {
    const { cache, outcomes, mints } = buildCache();
    let release!: (credential: MintedCredential) => void;
    outcomes.push(() => new Promise((resolve) => (release = resolve)));

    const pending = Array.from({ length: 5 }, () => cache.get(buildIntegration()));
    release({ username: 'u', secret: 'shared', expiresAt: START + HOUR });
    const results = await Promise.all(pending);

    expect(mints()).toBe(1);
    expect(results.map((result) => result.secret)).toEqual(['shared', 'shared', 'shared', 'shared', 'shared']);
  });

  it('shares one failure between concurrent callers and mints afresh on the next call', async () => {
    const { cache, outcomes, mints } = buildCache();
    outcomes.push(refused);

    const results = await Promise.allSettled([cache.get(buildIntegration()), cache.get(buildIntegration())]);
    const after = await cache.get(buildIntegration());

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(mints()).toBe(2);
    expect(after.secret).toBe('r1-secret-2');
  });

  it('never serves a credential minted from another revision of the identity', async () => {
    const { cache, mints } = buildCache();
    await cache.get(buildIntegration({ revision: 'r1' }));

    const replaced = await cache.get(buildIntegration({ revision: 'r2' }));

    expect(replaced.secret).toBe('r2-secret-2');
    expect(mints()).toBe(2);
  });

  it('forgets a credential on invalidate, and a mint in flight then does not store', async () => {
    const { cache, outcomes, mints } = buildCache();
    let release!: (credential: MintedCredential) => void;
    outcomes.push(() => new Promise((resolve) => (release = resolve)));
    const pending = cache.get(buildIntegration());

    cache.invalidate('int-1');
    release({ username: 'u', secret: 'old', expiresAt: START + HOUR });
    await pending;

    expect(cache.size()).toBe(0);
    expect((await cache.get(buildIntegration())).secret).toBe('r1-secret-2');
    expect(mints()).toBe(2);
  });

  it('keeps at most maxEntries credentials, dropping the least recently used', async () => {
    const { cache, mints } = buildCache({ maxEntries: 2 });
    await cache.get(buildIntegration({ id: 'a' }));
    await cache.get(buildIntegration({ id: 'b' }));
    await cache.get(buildIntegration({ id: 'a' }));

    await cache.get(buildIntegration({ id: 'c' }));
    await cache.get(buildIntegration({ id: 'a' }));
    await cache.get(buildIntegration({ id: 'b' }));

    expect(cache.size()).toBe(2);
    expect(mints()).toBe(4);
  });

  it('wraps an unexpected mint failure in a MintError without its message', async () => {
    const { cache, outcomes } = buildCache();
    outcomes.push(() => Promise.reject(new Error('boom with secret-value')));

    const error = await cache.get(buildIntegration()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MintError);
    expect(String((error as Error).message)).not.toContain('secret-value');
  });

  it('refuses a credential that arrives already expired', async () => {
    const { cache, outcomes, clock } = buildCache();
    outcomes.push(() => Promise.resolve({ username: 'u', secret: 's', expiresAt: clock.now + 30_000 }));

    await expect(cache.get(buildIntegration())).rejects.toMatchObject({ code: 'expired_on_arrival' });
    expect(cache.size()).toBe(0);
  });
});
