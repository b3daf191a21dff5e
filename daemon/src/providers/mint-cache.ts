import { MintError, type CloudProvider } from './mint-error.js';
import type { MintedCredential } from './provider-common.js';
import type { MintTarget } from './mint-credential.js';

/**
 * Minted registry credentials, in memory only, keyed by integration id.
 *
 * Must never happen:
 * - a credential served at or past its expiry, or with less than `minRemainingMs` left (the client
 *   still has to use it), or past the integration's own `notAfter`;
 * - a credential minted from one revision of an integration served for another (a PATCHed identity);
 * - two mints in flight for the same integration and revision (concurrent callers share one);
 * - more than `maxEntries` credentials held (least recently used go first);
 * - a credential written anywhere but this map.
 *
 * A credential is refreshed once half its lifetime has passed, like the ECR helper's cache. If that
 * refresh fails while the old credential is still valid, the old one is served and the refresh is
 * retried no sooner than `retryAfterMs` later; once it is no longer valid, a failure is an error.
 */

/** An integration as the cache sees it. */
export interface CachedIntegration extends MintTarget {
  id: string;
  /** Changes whenever the identity changes (its updatedAt, a hash): a cached credential of another revision is never served. */
  revision: string;
  /** Epoch ms after which nothing minted from this integration may be served (its own expiresAt), if any. */
  notAfter?: number;
}

/** Metric hooks; every one is optional and must not throw. */
export interface MintObserver {
  onCacheHit?(provider: CloudProvider): void;
  onMint?(provider: CloudProvider, latencyMs: number): void;
  onMintFailure?(provider: CloudProvider, code: string, latencyMs: number): void;
}

/** Dependencies and limits of the cache. */
export interface MintCacheOptions {
  mint: (integration: CachedIntegration) => Promise<MintedCredential>;
  nowMs: () => number;
  /** Default 1000. */
  maxEntries?: number;
  /** A credential with less than this left counts as expired. Default 60 s. */
  minRemainingMs?: number;
  /** After a failed refresh of a still-valid credential, wait this long before the next try. Default 10 s. */
  retryAfterMs?: number;
  observer?: MintObserver;
}

/** The cache's use cases. */
export interface MintCache {
  /** A valid credential for the integration: cached, or minted now. Rejects with MintError. */
  get(integration: CachedIntegration): Promise<MintedCredential>;
  /** Forgets the integration's credential (identity replaced or integration removed). */
  invalidate(id: string): void;
  /** Number of credentials held. */
  size(): number;
}

interface Entry {
  revision: string;
  provider: CloudProvider;
  credential: MintedCredential;
  /** When the credential stops being served (expiry, notAfter and the margin applied). */
  usableUntil: number;
  refreshAt: number;
}

interface Flight {
  revision: string;
  promise: Promise<MintedCredential>;
}

/** Builds an empty cache. */
export function createMintCache(options: MintCacheOptions): MintCache {
  const maxEntries = options.maxEntries ?? 1000;
  const minRemainingMs = options.minRemainingMs ?? 60_000;
  const retryAfterMs = options.retryAfterMs ?? 10_000;
  const observer = options.observer ?? {};
  const entries = new Map<string, Entry>();
  const flights = new Map<string, Flight>();

  const store = (id: string, entry: Entry) => {
    entries.delete(id);
    entries.set(id, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const startMint = (integration: CachedIntegration): Promise<MintedCredential> => {
    const existing = flights.get(integration.id);
    if (existing && existing.revision === integration.revision) return existing.promise;
    // Registered before the mint starts, so a mint that throws at once still clears its own flight.
    const flight = { revision: integration.revision } as Flight;
    flights.set(integration.id, flight);
    flight.promise = mintAndStore(integration, flight);
    return flight.promise;
  };

  const mintAndStore = async (integration: CachedIntegration, flight: Flight): Promise<MintedCredential> => {
    const provider = integration.identity.provider;
    const startedAt = options.nowMs();
    try {
      const credential = await options.mint(integration);
      const usableUntil = Math.min(credential.expiresAt, integration.notAfter ?? Number.POSITIVE_INFINITY) - minRemainingMs;
      if (usableUntil <= options.nowMs()) {
        throw new MintError(provider, 'expired_on_arrival', 'the minted credential is already expired or about to expire');
      }
      observer.onMint?.(provider, options.nowMs() - startedAt);
      // Only the latest flight of an integration stores: an invalidate or a newer revision wins.
      if (flights.get(integration.id) === flight) {
        const refreshAt = startedAt + (credential.expiresAt - startedAt) / 2;
        store(integration.id, { revision: integration.revision, provider, credential, usableUntil, refreshAt });
      }
      return credential;
    } catch (error) {
      const mintError = error instanceof MintError ? error : new MintError(provider, 'internal', 'minting failed unexpectedly');
      observer.onMintFailure?.(provider, mintError.code, options.nowMs() - startedAt);
      throw mintError;
    } finally {
      if (flights.get(integration.id) === flight) flights.delete(integration.id);
    }
  };

  return {
    async get(integration) {
      const now = options.nowMs();
      let entry = entries.get(integration.id);
      if (entry && (entry.revision !== integration.revision || now >= entry.usableUntil)) {
        entries.delete(integration.id);
        entry = undefined;
      }
      if (entry && now < entry.refreshAt) {
        store(integration.id, entry);
        observer.onCacheHit?.(entry.provider);
        return entry.credential;
      }
      if (!entry) return startMint(integration);
      // In the second half of its life: refresh, but a still-valid credential outlives a failed refresh.
      const valid = entry;
      try {
        return await startMint(integration);
      } catch (error) {
        if (options.nowMs() >= valid.usableUntil || entries.get(integration.id) !== valid) throw error;
        valid.refreshAt = options.nowMs() + retryAfterMs;
        observer.onCacheHit?.(valid.provider);
        return valid.credential;
      }
    },
    invalidate(id) {
      entries.delete(id);
      flights.delete(id);
    },
    size: () => entries.size,
  };
}
