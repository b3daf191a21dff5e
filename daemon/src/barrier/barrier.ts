import type { Keyring } from './keyring.js';

/**
 * The barrier: the only code that turns plaintext secrets into ciphertext and back.
 *
 * Must never happen:
 * - a plaintext secret leaves `open` for any caller other than the lookup path;
 * - `open` returns anything (empty, partial, a default) for an envelope that fails to authenticate,
 *   names an unknown key term, or was sealed for another context — it throws IntegrityError;
 * - the same nonce is used twice under one key (every seal draws 24 fresh random bytes);
 * - key material appears in an error message or a log line.
 */

/** A sealed secret and the key term it was sealed under (stored beside it). */
export interface Sealed {
  envelope: Uint8Array;
  term: number;
}

/** Seals and opens secrets bound to a context (`secret:<host>`), under the keyring's data keys. */
export interface Barrier {
  /** Seals `plaintext` for `context` under the active data key; returns the envelope and the term it used. */
  seal(context: string, plaintext: string): Sealed;
  /** Opens an envelope sealed for `context`; throws IntegrityError on any doubt. */
  open(context: string, envelope: Uint8Array): string;
  /** The key term new seals use (for metrics; a seal reports the term it used). */
  activeTerm(): number;
  /** Whether the keys were wiped (after shutdown). */
  isSealed(): boolean;
  /** Wipes the keys held in memory (best effort: JavaScript may have copied them). */
  wipe(): void;
}

/**
 * A barrier whose keyring may first have to follow a change another process made (keyring-sync.ts):
 * what the services use. Seal and open wait for that reload, so they are asynchronous.
 */
export interface LiveBarrier extends Omit<Barrier, 'seal' | 'open'> {
  seal(context: string, plaintext: string): Promise<Sealed>;
  open(context: string, envelope: Uint8Array): Promise<string>;
}

/** A barrier with nothing to follow (a store being created, tests), as a LiveBarrier. */
export function liveBarrier(barrier: Barrier): LiveBarrier {
  return withRefresh(barrier, async () => {});
}

/** Wraps a barrier so that every `seal` and `open` first awaits `refresh`. */
export function withRefresh(barrier: Barrier, refresh: () => Promise<void>): LiveBarrier {
  return {
    async seal(context, plaintext) {
      await refresh();
      return barrier.seal(context, plaintext);
    },
    async open(context, envelope) {
      await refresh();
      return barrier.open(context, envelope);
    },
    activeTerm: () => barrier.activeTerm(),
    isSealed: () => barrier.isSealed(),
    wipe: () => barrier.wipe(),
  };
}

/**
 * Who holds the keyring a barrier uses: the KeyringOwner in a store (keyring-owner.ts), which swaps it
 * after a rotate or rekey; a bare keyring in tests. `keyring()` throws BarrierSealedError once wiped.
 */
export interface KeyringHolder {
  keyring(): Keyring;
  isWiped(): boolean;
  wipe(): void;
}

/** The context a registry secret is bound to, so a ciphertext copied onto another host's row fails to open. */
export function secretContext(host: string): string {
  return `secret:${host}`;
}
