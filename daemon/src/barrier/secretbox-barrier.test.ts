import { describe, expect, it } from 'vitest';
import { BarrierSealedError, IntegrityError } from '../errors.js';
import { secretContext } from './barrier.js';
import { Keyring } from './keyring.js';
import { createSecretboxBarrier, envelopeTerm, generateKey, openWithKey, sealWithKey } from './secretbox-barrier.js';

const HOST_CONTEXT = secretContext('ghcr.io');
const PLAINTEXT = 'ghp_unit-test-secret-value';
// Envelope v1: version (1) | term (4) | nonce (24) | box.
const NONCE_OFFSET = 5;
const BOX_OFFSET = 29;

function newBarrier() {
  return createSecretboxBarrier(Keyring.fromEntries([[1, generateKey()]]));
}

function flipByte(envelope: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(envelope);
  copy[index]! ^= 0x01;
  return copy;
}

describe('createSecretboxBarrier', () => {
  it('opens what it sealed when the context matches', () => {
    const barrier = newBarrier();

    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    expect(barrier.open(HOST_CONTEXT, envelope)).toBe(PLAINTEXT);
  });

  it('round-trips an empty string and multi-byte text', () => {
    const barrier = newBarrier();

    const values = ['', 'pässwörd-🔑-"quoted"\n'];

    for (const value of values) expect(barrier.open(HOST_CONTEXT, barrier.seal(HOST_CONTEXT, value).envelope)).toBe(value);
  });

  it('writes version 1, the active term and never the plaintext into the envelope', () => {
    const barrier = newBarrier();

    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    expect(envelope[0]).toBe(1);
    expect(envelopeTerm(envelope)).toBe(1);
    expect(Buffer.from(envelope).includes(Buffer.from(PLAINTEXT))).toBe(false);
    expect(Buffer.from(envelope).includes(Buffer.from('ghcr.io'))).toBe(false);
  });

  it('draws a fresh nonce for every seal when the same value is sealed twice', () => {
    const barrier = newBarrier();

    const first = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;
    const second = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    expect(Buffer.from(first.subarray(NONCE_OFFSET, BOX_OFFSET))).not.toEqual(Buffer.from(second.subarray(NONCE_OFFSET, BOX_OFFSET)));
    expect(Buffer.from(first)).not.toEqual(Buffer.from(second));
  });

  it.each([
    ['the box', BOX_OFFSET + 3],
    ['the last byte of the box', -1],
    ['the nonce', NONCE_OFFSET + 7],
    ['the version byte', 0],
    ['the term', 4],
  ])('throws IntegrityError when a byte of %s was changed', (_part, index) => {
    const barrier = newBarrier();
    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    const tampered = flipByte(envelope, index < 0 ? envelope.length + index : index);

    expect(() => barrier.open(HOST_CONTEXT, tampered)).toThrow(IntegrityError);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['only a header', new Uint8Array(BOX_OFFSET)],
  ])('throws IntegrityError when the envelope is %s', (_label, envelope) => {
    const barrier = newBarrier();

    expect(() => barrier.open(HOST_CONTEXT, envelope)).toThrow(IntegrityError);
  });

  it('throws IntegrityError when the envelope is truncated', () => {
    const barrier = newBarrier();
    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    expect(() => barrier.open(HOST_CONTEXT, envelope.subarray(0, envelope.length - 1))).toThrow(IntegrityError);
  });

  it('throws IntegrityError when the envelope was sealed for another host', () => {
    const barrier = newBarrier();
    const envelope = barrier.seal(secretContext('quay.io'), PLAINTEXT).envelope;

    expect(() => barrier.open(HOST_CONTEXT, envelope)).toThrow(IntegrityError);
  });

  it('throws IntegrityError when the envelope names a term the keyring does not hold', () => {
    const other = createSecretboxBarrier(Keyring.fromEntries([[1, generateKey()], [7, generateKey()]]));
    const envelope = other.seal(HOST_CONTEXT, PLAINTEXT).envelope;
    const barrier = newBarrier();

    expect(() => barrier.open(HOST_CONTEXT, envelope)).toThrow(IntegrityError);
  });

  it('throws IntegrityError when the same term holds another key', () => {
    const envelope = newBarrier().seal(HOST_CONTEXT, PLAINTEXT).envelope;

    expect(() => newBarrier().open(HOST_CONTEXT, envelope)).toThrow(IntegrityError);
  });

  it('keeps opening old-term envelopes and seals with the new term when its holder adds a term', () => {
    let ring = Keyring.fromEntries([[1, generateKey()]]);
    const barrier = createSecretboxBarrier({ keyring: () => ring, isWiped: () => false, wipe: () => ring.wipe() });
    const old = barrier.seal(HOST_CONTEXT, 'sealed under term 1');

    ring = ring.add(2, generateKey());
    const fresh = barrier.seal(HOST_CONTEXT, 'sealed under term 2');

    expect([old.term, fresh.term]).toEqual([1, 2]);
    expect(barrier.activeTerm()).toBe(2);
    expect(envelopeTerm(old.envelope)).toBe(1);
    expect(envelopeTerm(fresh.envelope)).toBe(2);
    expect(barrier.open(HOST_CONTEXT, old.envelope)).toBe('sealed under term 1');
    expect(barrier.open(HOST_CONTEXT, fresh.envelope)).toBe('sealed under term 2');
  });

  it('opens an envelope that sits at an offset inside a larger buffer', () => {
    const barrier = newBarrier();
    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;
    const larger = new Uint8Array(envelope.length + 16);
    larger.set(envelope, 16);

    expect(barrier.open(HOST_CONTEXT, larger.subarray(16))).toBe(PLAINTEXT);
  });

  it('is sealed, refuses seal and open, and zero-fills its keys when wiped', () => {
    const key = generateKey();
    const barrier = createSecretboxBarrier(Keyring.fromEntries([[1, key]]));
    const envelope = barrier.seal(HOST_CONTEXT, PLAINTEXT).envelope;

    barrier.wipe();

    expect(barrier.isSealed()).toBe(true);
    expect(key.every((byte) => byte === 0)).toBe(true);
    expect(() => barrier.seal(HOST_CONTEXT, PLAINTEXT)).toThrow(BarrierSealedError);
    expect(() => barrier.open(HOST_CONTEXT, envelope)).toThrow(BarrierSealedError);
    expect(() => barrier.activeTerm()).toThrow(BarrierSealedError);
  });

  it('is not sealed when freshly built', () => {
    const barrier = newBarrier();

    expect(barrier.isSealed()).toBe(false);
  });
});

describe('sealWithKey / openWithKey', () => {
  it('opens with the same key and context and throws IntegrityError with another key', () => {
    const key = generateKey();
    const envelope = sealWithKey(key, 0, 'keyring:1', 'value');

    expect(openWithKey(key, 'keyring:1', envelope)).toBe('value');
    expect(() => openWithKey(generateKey(), 'keyring:1', envelope)).toThrow(IntegrityError);
    expect(() => openWithKey(key, 'keyring:2', envelope)).toThrow(IntegrityError);
  });
});

describe('generateKey', () => {
  it('returns 32 random bytes that differ between calls', () => {
    const a = generateKey();
    const b = generateKey();

    expect(a).toHaveLength(32);
    expect(Buffer.from(a)).not.toEqual(Buffer.from(b));
  });
});
