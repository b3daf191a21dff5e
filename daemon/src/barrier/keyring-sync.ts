import type { Barrier } from './barrier.js';
import type { KeyringOwner, SealedKeyring } from './keyring-owner.js';

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
}

/** What the sync reads and swaps. */
export interface KeyringSyncDeps {
  /** The store's keyring rows and the counter that moves when they change. */
  keyrings: SealedKeyring & { version(): number };
  /** The owner of the root key and keyring the store was unlocked with; the barrier reads its keyring. */
  owner: Pick<KeyringOwner, 'follow' | 'keyring' | 'isWiped'>;
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
  const { keyrings, owner, loadRootKeys, snapshot, nowMs, retryMs = 1_000 } = deps;
  let seenVersion = keyrings.version();
  let retryAt = 0;

  const reload = (version: number): void => {
    const { check, rows } = snapshot(() => ({ check: keyrings.findRootKeyCheck(), rows: keyrings.list() }));
    if (!check) throw new Error('the store has no root key check value');
    const rootKeyChanged = owner.follow(check, rows, loadRootKeys);
    seenVersion = version;
    deps.onReload?.({ version, activeTerm: owner.keyring().activeTerm, rootKeyChanged });
  };

  return {
    refresh() {
      if (owner.isWiped()) return;
      const version = keyrings.version();
      if (version === seenVersion || nowMs() < retryAt) return;
      try {
        reload(version);
      } catch (error) {
        retryAt = nowMs() + retryMs;
        deps.onFailure?.((error as Error).message);
      }
    },
  };
}

/**
 * Wraps a barrier so that every `seal` and `open` first calls `refresh`, which may swap the keyring
 * (another process rotated or rekeyed the store). `seal` reports the term it used.
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
    wipe: () => barrier.wipe(),
  };
}
