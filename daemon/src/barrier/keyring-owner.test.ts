import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BarrierSealedError, ConfigError } from '../errors.js';
import { KeyringModifiedError, KeyringOwner, RootKeyMismatchError, type SealedKeyringWriter } from './keyring-owner.js';
import { loadRootKey, rootKeyMatches } from './root-key.js';
import { createSecretboxBarrier, generateKey } from './secretbox-barrier.js';
import { tempDirPerTest } from '../../../test/support/temp-dir.js';

const temp = tempDirPerTest('keyring-owner-');

/** An in-memory keyring table. */
function memoryKeyring() {
  const state = { check: undefined as Uint8Array | undefined, rows: [] as Array<{ term: number; sealedKey: Uint8Array; createdAt: string }>, version: 0 };
  const writer: SealedKeyringWriter = {
    findRootKeyCheck: () => state.check,
    list: () => state.rows.map((row) => ({ ...row })),
    insert: (row) => void state.rows.push(row),
    replaceSealedKey: (term, sealedKey) => void (state.rows.find((row) => row.term === term)!.sealedKey = sealedKey),
    setRootKeyCheck: (check) => void (state.check = check),
    bumpVersion: () => ++state.version,
  };
  return { state, writer };
}

const now = new Date('2026-03-02T09:00:00.000Z');
const run = <T>(fn: () => T): T => fn();

function created() {
  const store = memoryKeyring();
  const keyPath = join(temp.path, 'root.key');
  const owner = KeyringOwner.create(store.writer, now, run, keyPath);
  return { ...store, keyPath, owner, place: { keyPath, subject: 'the test store' } };
}

describe('KeyringOwner', () => {
  it('creates a root key file and term 1, and unlocks the store again with that file', () => {
    const t = created();
    const sealed = createSecretboxBarrier(t.owner).seal('secret:a', 'value');
    t.owner.wipe();

    const again = KeyringOwner.unlock(t.writer, t.place).owner;

    expect(sealed.term).toBe(1);
    expect(createSecretboxBarrier(again).open('secret:a', sealed.envelope)).toBe('value');
  });

  it('refuses another root key with the one mismatch error, naming the key file and the store', () => {
    const t = created();
    writeFileSync(t.keyPath, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });

    const unlock = () => KeyringOwner.unlock(t.writer, t.place);

    expect(unlock).toThrow(RootKeyMismatchError);
    expect(unlock).toThrow(/^the test store does not open with root key file .*root\.key: the key does not match its check value/);
  });

  it('refuses garbage in the check value as a mismatch, and a store without one as not a store', () => {
    const t = created();
    t.state.check = new Uint8Array([1, 2, 3]);
    expect(() => KeyringOwner.unlock(t.writer, t.place)).toThrow(RootKeyMismatchError);
    t.state.check = undefined;
    expect(() => KeyringOwner.unlock(t.writer, t.place)).toThrow(/has no root key check value/);
  });

  it('reports a keyring row that does not open under a matching key as a modified database, and wipes the key', () => {
    const t = created();
    const row = t.state.rows[0]!;
    row.sealedKey = Uint8Array.from(row.sealedKey, (byte, i) => (i === row.sealedKey.length - 1 ? byte ^ 1 : byte));
    const key = loadRootKey(t.keyPath);

    expect(() => KeyringOwner.open(key, t.writer, t.place)).toThrow(KeyringModifiedError);
    expect(key.every((byte) => byte === 0)).toBe(true);
  });

  it('rotates: the new term is active for seals, the old one still opens', () => {
    const t = created();
    const barrier = createSecretboxBarrier(t.owner);
    const old = barrier.seal('secret:a', 'old');

    const term = t.owner.rotate(t.writer, now, run);
    const fresh = barrier.seal('secret:a', 'new');

    expect([term, fresh.term, t.state.version]).toEqual([2, 2, 1]);
    expect(barrier.open('secret:a', old.envelope)).toBe('old');
  });

  it('rekeys: the new key opens the check value, the old does not, and the staged file is written', () => {
    const t = created();
    const oldKey = loadRootKey(t.keyPath);
    const newKeyFile = join(temp.path, 'next.key');
    const newKey = generateKey();
    writeFileSync(newKeyFile, `${Buffer.from(newKey).toString('base64')}\n`, { mode: 0o600 });

    const terms = t.owner.rekey(t.writer, newKeyFile, `${t.keyPath}.new`, run);

    expect(terms).toBe(1);
    expect(rootKeyMatches(newKey, t.state.check!)).toBe(true);
    expect(rootKeyMatches(oldKey, t.state.check!)).toBe(false);
    expect(existsSync(`${t.keyPath}.new`)).toBe(true);
  });

  it('refuses to rekey to the current key, and removes the staged file when the transaction fails', () => {
    const t = created();
    const newKeyFile = join(temp.path, 'next.key');
    writeFileSync(newKeyFile, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });
    const failing = () => {
      throw new Error('interrupted');
    };

    expect(() => t.owner.rekey(t.writer, t.keyPath, `${t.keyPath}.new`, run)).toThrow(ConfigError);
    expect(() => t.owner.rekey(t.writer, newKeyFile, `${t.keyPath}.new`, failing)).toThrow('interrupted');
    expect(existsSync(`${t.keyPath}.new`)).toBe(false);
    expect(rootKeyMatches(loadRootKey(t.keyPath), t.state.check!)).toBe(true);
  });

  it('wipes every key it holds, after which seals refuse', () => {
    const t = created();
    const barrier = createSecretboxBarrier(t.owner);
    const dataKey = t.owner.keyring().find(1)!;

    t.owner.wipe();

    expect(dataKey.every((byte) => byte === 0)).toBe(true);
    expect(barrier.isSealed()).toBe(true);
    expect(() => barrier.seal('secret:a', 'x')).toThrow(BarrierSealedError);
  });
});
