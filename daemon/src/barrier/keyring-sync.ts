import type { Barrier } from './barrier.js';
import { openKeyring, rootKeyMatches } from './root-key.js';
import type { KeyringRepository } from '../store/keyring-repository.js';

/**
 * Keeps a running daemon's barrier in step with the offline key commands. `scalr-credd rotate` and
 * `rekey` write the same SQLite file while `serve` runs, and bump the `keyring_version` counter in the
 * transaction that changes the keyring. Before each seal and open the daemon compares the counter
 * (one indexed read) and, when it moved, reloads the keyring:
 *
 * - after a rotate, the root key it holds opens the new term's row: the new term becomes active;
 * - after a rekey, that key no longer opens the check value: it reads the root key file again (or the
 *   staged `.new` file while rekey is between its commit and its rename) and keeps the one that matches.
 *
 * A reload that fails keeps the keys already in memory — they are still the store's data keys, since
 * rekey re-seals the keyring without changing them — and is retried after `retryMs`.
 */
export interface KeyringSync {
  /** Reloads the keyring when another process changed it. */
  refresh(): void;
  /** Zero-fills the root key held in memory (best effort). */
  wipe(): void;
}

/** What the sync reads and swaps. */
export interface KeyringSyncDeps {
  keyrings: Pick<KeyringRepository, 'version' | 'list' | 'findRootKeyCheck'>;
  barrier: Pick<Barrier, 'keyring' | 'useKeyring' | 'isSealed'>;
  /** The root key the store was opened with; the sync owns it from now on. */
  rootKey: Uint8Array;
  /** Reads the candidate root keys from disk (key file, then staged replacement); unreadable ones are left out. */
  loadRootKeys: () => Uint8Array[];
  /** Runs reads in one snapshot, so the check value and the keyring rows belong together. */
  snapshot: <T>(fn: () => T) => T;
  nowMs: () => number;
  retryMs?: number;
  onReload?: (info: { version: number; activeTerm: number; rootKeyChanged: boolean }) => void;
  onFailure?: (reason: string) => void;
}

/** Builds the sync; the counter's current value counts as already loaded. */
export function createKeyringSync(deps: KeyringSyncDeps): KeyringSync {
  const { keyrings, barrier, loadRootKeys, snapshot, nowMs, retryMs = 1_000 } = deps;
  let rootKey: Uint8Array | undefined = deps.rootKey;
  let seenVersion = keyrings.version();
  let retryAt = 0;

  const reload = (version: number): void => {
    const { check, rows } = snapshot(() => ({ check: keyrings.findRootKeyCheck(), rows: keyrings.list() }));
    if (!check || !rootKey) throw new Error('the store has no root key check value');
    let key = rootKey;
    let rootKeyChanged = false;
    if (!rootKeyMatches(key, check)) {
      const candidates = loadRootKeys();
      const match = candidates.find((candidate) => rootKeyMatches(candidate, check));
      for (const candidate of candidates) if (candidate !== match) candidate.fill(0);
      if (!match) throw new Error('the root key was replaced and no root key file on disk matches the database yet');
      key = match;
      rootKeyChanged = true;
    }
    const next = openKeyring(key, rows);
    const previous = barrier.keyring();
    barrier.useKeyring(next);
    previous.wipe();
    if (rootKeyChanged) {
      rootKey.fill(0);
      rootKey = key;
    }
    seenVersion = version;
    deps.onReload?.({ version, activeTerm: next.activeTerm, rootKeyChanged });
  };

  return {
    refresh() {
      if (barrier.isSealed()) return;
      const version = keyrings.version();
      if (version === seenVersion || nowMs() < retryAt) return;
      try {
        reload(version);
      } catch (error) {
        retryAt = nowMs() + retryMs;
        deps.onFailure?.((error as Error).message);
      }
    },
    wipe() {
      rootKey?.fill(0);
      rootKey = undefined;
    },
  };
}

/**
 * Wraps a barrier so that every `seal` and `open` first calls `refresh`, which may swap the keyring
 * (another process rotated or rekeyed the store). `activeTerm` does not refresh: callers read it right
 * after `seal` and must get the term that seal used.
 */
export function withKeyringRefresh(barrier: Barrier, refresh: () => void): Barrier {
  return {
    seal(context, plaintext) {
      refresh();
      return barrier.seal(context, plaintext);
    },
    open(context, envelope) {
      refresh();
      return barrier.open(context, envelope);
    },
    activeTerm: () => barrier.activeTerm(),
    isSealed: () => barrier.isSealed(),
    keyring: () => barrier.keyring(),
    useKeyring: (keyring) => barrier.useKeyring(keyring),
    wipe: () => barrier.wipe(),
  };
}
