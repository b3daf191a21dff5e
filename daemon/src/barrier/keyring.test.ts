import { describe, expect, it } from 'vitest';
import { KEY_BYTES, Keyring } from './keyring.js';

const key = (fill: number) => new Uint8Array(KEY_BYTES).fill(fill);

describe('Keyring', () => {
  it('makes the highest term active when built from entries', () => {
    const keyring = Keyring.fromEntries([[3, key(3)], [1, key(1)]]);

    expect(keyring.activeTerm).toBe(3);
    expect(keyring.terms()).toEqual([1, 3]);
    expect(keyring.find(1)).toEqual(key(1));
    expect(keyring.find(2)).toBeUndefined();
  });

  it('returns a new keyring with the new term active and leaves the original unchanged when a term is added', () => {
    const original = Keyring.fromEntries([[1, key(1)]]);

    const next = original.add(2, key(2));

    expect(next.activeTerm).toBe(2);
    expect(next.terms()).toEqual([1, 2]);
    expect(original.activeTerm).toBe(1);
    expect(original.terms()).toEqual([1]);
  });

  it('throws when the added term is not above the active term', () => {
    const keyring = Keyring.fromEntries([[2, key(2)]]);

    expect(() => keyring.add(2, key(9))).toThrow();
    expect(() => keyring.add(1, key(9))).toThrow();
  });

  it.each([
    ['no entries', []],
    ['a key of the wrong length', [[1, new Uint8Array(16)]]],
    ['term 0', [[0, key(1)]]],
    ['a fractional term', [[1.5, key(1)]]],
  ] as Array<[string, Array<[number, Uint8Array]>]>)('throws when built from %s', (_label, entries) => {
    expect(() => Keyring.fromEntries(entries)).toThrow();
  });

  it('zero-fills every key when wiped', () => {
    const a = key(7);
    const b = key(9);
    const keyring = Keyring.fromEntries([[1, a], [2, b]]);

    keyring.wipe();

    expect([...a, ...b].every((byte) => byte === 0)).toBe(true);
  });
});
