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

/** Seals and opens secrets bound to a context (`secret:<host>`), under the keyring's data keys. */
export interface Barrier {
  /** Seals `plaintext` for `context` under the active data key; returns the envelope. */
  seal(context: string, plaintext: string): Uint8Array;
  /** Opens an envelope sealed for `context`; throws IntegrityError on any doubt. */
  open(context: string, envelope: Uint8Array): string;
  /** The key term new seals use. */
  activeTerm(): number;
  /** Whether the keys were wiped (after shutdown). */
  isSealed(): boolean;
  /** The keyring in use. */
  keyring(): Keyring;
  /** Switches to another keyring (after a rotate); old terms must stay in it to stay readable. */
  useKeyring(keyring: Keyring): void;
  /** Wipes the keys held in memory (best effort: JavaScript may have copied them). */
  wipe(): void;
}

/** The context a registry secret is bound to, so a ciphertext copied onto another host's row fails to open. */
export function secretContext(host: string): string {
  return `secret:${host}`;
}
