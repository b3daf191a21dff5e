import type { KeyringOwner, SealedKeyringRows } from './keyring-owner.js';

/**
 * Keeps a running daemon's barrier in step with the key commands. `scalr-credd rotate` and `rekey`
 * change the store while `serve` runs (on PostgreSQL, other daemons share it too) and bump the
 * `keyring_version` counter in the transaction that changes the keyring. Before each seal and open
 * the daemon compares the counter (a cache hit until the store may have changed) and, when it
 * moved, reloads the keyring:
 *
 * - after a rotate, the root key it holds opens the new term's row: the new term becomes active;
 * - after a rekey, that key no longer opens the check value: it reads the root key file again (or the
 *   staged `.new` file while rekey is between its commit and its rename) and keeps the one that matches.
 *
 * A reload that fails keeps the keys already in memory — they are still the store's data keys, since
 * rekey re-seals the keyring without changing them — and is retried after `retryMs`.
 */
export interface KeyringSync {
  /** Reloads the keyring when another process changed it; concurrent callers share one reload. */
  refresh(): Promise<void>;
}

/** What the sync reads and swaps. */
export interface KeyringSyncDeps {
  /** The counter that moves when the store's keyring changes (cached by the store until it may have changed). */
  version: () => Promise<number>;
  /** The check value and keyring rows, read in one snapshot so that they belong together. */
  readSnapshot: () => Promise<{ check: Uint8Array | undefined; rows: SealedKeyringRows }>;
  /** The owner of the root key and keyring the store was unlocked with; the barrier reads its keyring. */
  owner: Pick<KeyringOwner, 'follow' | 'keyring' | 'isWiped'>;
  /** Reads the candidate root keys from disk (key file, then staged replacement); unreadable ones are left out. */
  loadRootKeys: () => Uint8Array[];
  nowMs: () => number;
  retryMs?: number;
  onReload?: (info: { version: number; activeTerm: number; rootKeyChanged: boolean }) => void;
  onFailure?: (reason: string) => void;
}

/** Builds the sync; `initialVersion` is the counter's value the keyring was unlocked at. */
export function createKeyringSync(deps: KeyringSyncDeps, initialVersion: number): KeyringSync {
  const { owner, loadRootKeys, nowMs, retryMs = 1_000 } = deps;
  let seenVersion = initialVersion;
  let retryAt = 0;
  let reloading: Promise<void> | undefined;

  const reload = async (version: number): Promise<void> => {
    const { check, rows } = await deps.readSnapshot();
    if (!check) throw new Error('the store has no root key check value');
    const rootKeyChanged = owner.follow(check, rows, loadRootKeys);
    seenVersion = version;
    deps.onReload?.({ version, activeTerm: owner.keyring().activeTerm, rootKeyChanged });
  };

  return {
    async refresh() {
      if (owner.isWiped()) return;
      const version = await deps.version();
      if (version === seenVersion || nowMs() < retryAt) return;
      // Concurrent callers share one reload.
      reloading ??= reload(version)
        .catch((error: unknown) => {
          retryAt = nowMs() + retryMs;
          deps.onFailure?.((error as Error).message);
        })
        .finally(() => (reloading = undefined));
      await reloading;
    },
  };
}
