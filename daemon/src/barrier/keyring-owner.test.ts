import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BarrierSealedError, ConfigError } from '../errors.js';
import { KeyringModifiedError, KeyringOwner, RootKeyMismatchError, type InTransaction, type SealedKeyringWriter } from './keyring-owner.js';
import { loadRootKey, rootKeyMatches } from './root-key.js';
import { createSecretboxBarrier, generateKey } from './secretbox-barrier.js';
import { tempDirPerTest } from '../../../test/support/temp-dir.js';

const temp = tempDirPerTest('keyring-owner-');

/** An in-memory keyring table. */
function memoryKeyring() {
  const state = { check: undefined as Uint8Array | undefined, rows: [] as Array<{ term: number; sealedKey: Uint8Array; createdAt: string }>, version: 0 };
  const writer: SealedKeyringWriter = {
    findRootKeyCheck: async () => state.check,
    list: async () => state.rows.map((row) => ({ ...row })),
    insert: async (row) => void state.rows.push(row),
    replaceSealedKey: async (term, sealedKey) => void (state.rows.find((row) => row.term === term)!.sealedKey = sealedKey),
    setRootKeyCheck: async (check) => void (state.check = check),
    bumpVersion: async () => ++state.version,
  };
  /** A transaction over this keyring: runs `fn` with its writer. */
  const run: InTransaction = (fn) => fn(writer);
  return { state, writer, run };
}

const now = new Date('2026-03-02T09:00:00.000Z');

async function created() {
  const store = memoryKeyring();
  const keyPath = join(temp.path, 'root.key');
  const owner = await KeyringOwner.create(now, store.run, keyPath);
  return { ...store, keyPath, owner, place: { keyPath, subject: 'the test store' } };
}

describe('KeyringOwner', () => {
  it('creates a root key file and term 1, and unlocks the store again with that file', async () => {
    const t = await created();
    const sealed = createSecretboxBarrier(t.owner).seal('secret:a', 'value');
    t.owner.wipe();

    const again = (await KeyringOwner.unlock(t.writer, t.place)).owner;

    expect(sealed.term).toBe(1);
    expect(createSecretboxBarrier(again).open('secret:a', sealed.envelope)).toBe('value');
  });

  it('refuses another root key with the one mismatch error, naming the key file and the store', async () => {
    const t = await created();
    writeFileSync(t.keyPath, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });

    const unlock = () => KeyringOwner.unlock(t.writer, t.place);

    await expect(unlock()).rejects.toThrow(RootKeyMismatchError);
    await expect(unlock()).rejects.toThrow(/^the test store does not open with root key file .*root\.key: the key does not match its check value/);
  });

  it('refuses garbage in the check value as a mismatch, and a store without one as not a store', async () => {
    const t = await created();
    t.state.check = new Uint8Array([1, 2, 3]);
    await expect(KeyringOwner.unlock(t.writer, t.place)).rejects.toThrow(RootKeyMismatchError);
    t.state.check = undefined;
    await expect(KeyringOwner.unlock(t.writer, t.place)).rejects.toThrow(/has no root key check value/);
  });

  it('reports a keyring row that does not open under a matching key as a modified database, and wipes the key', async () => {
    const t = await created();
    const row = t.state.rows[0]!;
    row.sealedKey = Uint8Array.from(row.sealedKey, (byte, i) => (i === row.sealedKey.length - 1 ? byte ^ 1 : byte));
    const key = loadRootKey(t.keyPath);

    expect(() => KeyringOwner.open(key, t.state.check, t.state.rows, t.place)).toThrow(KeyringModifiedError);
    expect(key.every((byte) => byte === 0)).toBe(true);
  });

  it('rotates: the new term is active for seals, the old one still opens', async () => {
    const t = await created();
    const barrier = createSecretboxBarrier(t.owner);
    const old = barrier.seal('secret:a', 'old');

    const term = await t.owner.rotate(now, t.run);
    const fresh = barrier.seal('secret:a', 'new');

    expect([term, fresh.term, t.state.version]).toEqual([2, 2, 1]);
    expect(barrier.open('secret:a', old.envelope)).toBe('old');
  });

  it('rekeys: the new key opens the check value, the old does not, and the staged file is written', async () => {
    const t = await created();
    const oldKey = loadRootKey(t.keyPath);
    const newKeyFile = join(temp.path, 'next.key');
    const newKey = generateKey();
    writeFileSync(newKeyFile, `${Buffer.from(newKey).toString('base64')}\n`, { mode: 0o600 });

    const terms = await t.owner.rekey(newKeyFile, `${t.keyPath}.new`, t.run);

    expect(terms).toBe(1);
    expect(rootKeyMatches(newKey, t.state.check!)).toBe(true);
    expect(rootKeyMatches(oldKey, t.state.check!)).toBe(false);
    expect(existsSync(`${t.keyPath}.new`)).toBe(true);
  });

  it('refuses to rekey to the current key, and removes the staged file when the transaction fails', async () => {
    const t = await created();
    const newKeyFile = join(temp.path, 'next.key');
    writeFileSync(newKeyFile, `${Buffer.from(generateKey()).toString('base64')}\n`, { mode: 0o600 });
    const failing: InTransaction = async () => {
      throw new Error('interrupted');
    };

    await expect(t.owner.rekey(t.keyPath, `${t.keyPath}.new`, t.run)).rejects.toThrow(ConfigError);
    await expect(t.owner.rekey(newKeyFile, `${t.keyPath}.new`, failing)).rejects.toThrow('interrupted');
    expect(existsSync(`${t.keyPath}.new`)).toBe(false);
    expect(rootKeyMatches(loadRootKey(t.keyPath), t.state.check!)).toBe(true);
  });

  it('wipes every key it holds, after which seals refuse', async () => {
    const t = await created();
    const barrier = createSecretboxBarrier(t.owner);
    const dataKey = t.owner.keyring().find(1)!;

    t.owner.wipe();

    expect(dataKey.every((byte) => byte === 0)).toBe(true);
    expect(barrier.isSealed()).toBe(true);
    expect(() => barrier.seal('secret:a', 'x')).toThrow(BarrierSealedError);
  });
});
