import type { Barrier } from './barrier.js';

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
