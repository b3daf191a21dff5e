import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { BarrierSealedError } from '../errors.js';
import type { Keyring } from './keyring.js';

/**
 * The MAC that authenticates token and integration rows (store/row-integrity.ts): HMAC-SHA256 under
 * a row key derived with HKDF-SHA256 from the keyring's term-1 data key. That data key is sealed under
 * the root key, never changes and is never removed (rotate adds terms, rekey re-seals them), so the
 * row key is stable across rotate and rekey: no row is rewritten and a running daemon needs no reload.
 * A backup carries the same row key, sealed under the root key it was made with.
 */
const ROW_KEY_INFO = 'scalr-credd row mac v1';
const ROW_KEY_TERM = 1;

/** Computes and checks row MACs; `wipe` zero-fills the row key. */
export interface RowAuthenticatorKey {
  tag(message: Uint8Array): Uint8Array;
  verify(message: Uint8Array, tag: Uint8Array): boolean;
  wipe(): void;
}

/** Derives the row key from `keyring`'s term 1 and returns the authenticator over it. */
export function createRowAuthenticator(keyring: Keyring): RowAuthenticatorKey {
  const dataKey = keyring.find(ROW_KEY_TERM);
  if (!dataKey) throw new Error(`the keyring has no term ${ROW_KEY_TERM}; rows cannot be authenticated`);
  let key: Uint8Array | undefined = new Uint8Array(hkdfSync('sha256', dataKey, new Uint8Array(0), ROW_KEY_INFO, 32));
  const tag = (message: Uint8Array): Uint8Array => {
    if (!key) throw new BarrierSealedError();
    return createHmac('sha256', key).update(message).digest();
  };
  return {
    tag,
    verify(message, expected) {
      const actual = tag(message);
      return expected.length === actual.length && timingSafeEqual(actual, expected);
    },
    wipe() {
      key?.fill(0);
      key = undefined;
    },
  };
}
