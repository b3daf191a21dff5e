import nacl from 'tweetnacl';
import { IntegrityError, BarrierSealedError } from '../errors.js';
import type { Barrier, KeyringHolder } from './barrier.js';
import { KEY_BYTES, Keyring } from './keyring.js';

/**
 * Envelope v1: version byte | term (uint32 BE) | 24-byte nonce | secretbox(box).
 * The boxed plaintext is JSON `{"c":context,"v":value}`; secretbox has no associated data, so the
 * context travels inside the box and is compared on open (Vault binds ciphertext to its path the same way).
 */
const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 1 + 4 + nacl.secretbox.nonceLength;

/** Seals `value` bound to `context` under `key`, tagged with `term`. Exported for the keyring's own sealing. */
export function sealWithKey(key: Uint8Array, term: number, context: string, value: string): Uint8Array {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const message = new TextEncoder().encode(JSON.stringify({ c: context, v: value }));
  const box = nacl.secretbox(message, nonce, key);
  message.fill(0);
  const envelope = new Uint8Array(HEADER_BYTES + box.length);
  envelope[0] = ENVELOPE_VERSION;
  new DataView(envelope.buffer).setUint32(1, term, false);
  envelope.set(nonce, 5);
  envelope.set(box, HEADER_BYTES);
  return envelope;
}

/** Returns the key term an envelope names; throws IntegrityError when the envelope is malformed. */
export function envelopeTerm(envelope: Uint8Array): number {
  if (envelope.length < HEADER_BYTES + nacl.secretbox.overheadLength || envelope[0] !== ENVELOPE_VERSION) {
    throw new IntegrityError('malformed envelope');
  }
  return new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength).getUint32(1, false);
}

/** Opens an envelope with `key`; throws IntegrityError unless it authenticates and carries `context`. */
export function openWithKey(key: Uint8Array, context: string, envelope: Uint8Array): string {
  envelopeTerm(envelope);
  const nonce = envelope.subarray(5, HEADER_BYTES);
  const message = nacl.secretbox.open(envelope.subarray(HEADER_BYTES), nonce, key);
  if (!message) throw new IntegrityError('ciphertext failed to authenticate');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(message));
  } catch {
    throw new IntegrityError('sealed payload is not readable');
  } finally {
    message.fill(0);
  }
  const { c, v } = (parsed ?? {}) as { c?: unknown; v?: unknown };
  if (c !== context) throw new IntegrityError('ciphertext is bound to another context');
  if (typeof v !== 'string') throw new IntegrityError('sealed payload has no value');
  return v;
}

/** Returns a fresh random data key. */
export function generateKey(): Uint8Array {
  return nacl.randomBytes(KEY_BYTES);
}

/** Builds the tweetnacl secretbox barrier over a keyring, or over the holder that owns one. */
export function createSecretboxBarrier(keys: Keyring | KeyringHolder): Barrier {
  const holder = keys instanceof Keyring ? holdKeyring(keys) : keys;
  return {
    seal(context, plaintext) {
      const ring = holder.keyring();
      const term = ring.activeTerm;
      return { envelope: sealWithKey(ring.find(term)!, term, context, plaintext), term };
    },
    open(context, envelope) {
      const key = holder.keyring().find(envelopeTerm(envelope));
      if (!key) throw new IntegrityError('envelope names a key term the keyring does not hold');
      return openWithKey(key, context, envelope);
    },
    activeTerm: () => holder.keyring().activeTerm,
    isSealed: () => holder.isWiped(),
    wipe: () => holder.wipe(),
  };
}

/** A holder of one fixed keyring (tests, and a barrier built over a keyring without an owner). */
export function holdKeyring(initial: Keyring): KeyringHolder {
  let held: Keyring | undefined = initial;
  return {
    keyring() {
      if (!held) throw new BarrierSealedError();
      return held;
    },
    isWiped: () => held === undefined,
    wipe() {
      held?.wipe();
      held = undefined;
    },
  };
}
