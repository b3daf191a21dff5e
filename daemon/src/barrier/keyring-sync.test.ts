import { describe, expect, it } from 'vitest';
import { KeyringOwner } from './keyring-owner.js';
import { buildRootKeyCheck, sealDataKey } from './root-key.js';
import { createSecretboxBarrier, generateKey } from './secretbox-barrier.js';
import { createKeyringSync } from './keyring-sync.js';

/** An in-memory keyring table that another "process" changes. */
function fakeStore(rootKey: Uint8Array) {
  const dataKeys = new Map<number, Uint8Array>([[1, generateKey()]]);
  const state = { version: 0, rootKey, rows: [] as Array<{ term: number; sealedKey: Uint8Array; createdAt: string }>, check: buildRootKeyCheck(rootKey) };
  const reseal = () => {
    state.rows = [...dataKeys].map(([term, key]) => ({ term, sealedKey: sealDataKey(state.rootKey, term, key), createdAt: 'x' }));
    state.check = buildRootKeyCheck(state.rootKey);
  };
  reseal();
  return {
    state,
    dataKeys,
    version: async () => state.version,
    readSnapshot: async () => ({ check: state.check, rows: state.rows }),
    rotate() {
      dataKeys.set(dataKeys.size + 1, generateKey());
      reseal();
      state.version++;
    },
    rekey(next: Uint8Array) {
      state.rootKey = next;
      reseal();
      state.version++;
    },
  };
}

function setup() {
  const rootKey = generateKey();
  const store = fakeStore(rootKey);
  const owner = KeyringOwner.open(new Uint8Array(rootKey), store.state.check, store.state.rows, { keyPath: 'root.key', subject: 'the test store' });
  const barrier = createSecretboxBarrier(owner);
  let clock = 0;
  let onDisk: Uint8Array[] = [];
  const failures: string[] = [];
  const reloads: boolean[] = [];
  const sync = createKeyringSync(
    {
      version: store.version,
      readSnapshot: store.readSnapshot,
      owner,
      loadRootKeys: () => onDisk.map((key) => new Uint8Array(key)),
      nowMs: () => clock,
      retryMs: 1_000,
      onReload: (info) => reloads.push(info.rootKeyChanged),
      onFailure: (reason) => failures.push(reason),
    },
    store.state.version,
  );
  return {
    store,
    barrier,
    sync,
    failures,
    reloads,
    advance: (ms: number) => void (clock += ms),
    putOnDisk: (...keys: Uint8Array[]) => void (onDisk = keys),
  };
}

describe('createKeyringSync', () => {
  it('does nothing while the keyring version is unchanged', async () => {
    const t = setup();

    await t.sync.refresh();

    expect(t.reloads).toEqual([]);
    expect(t.barrier.activeTerm()).toBe(1);
  });

  it('loads a new term after a rotate with the root key it holds', async () => {
    const t = setup();
    t.store.rotate();

    await t.sync.refresh();

    expect(t.reloads).toEqual([false]);
    expect(t.barrier.activeTerm()).toBe(2);
  });

  it('re-reads the root key from disk after a rekey and uses it for later rotations', async () => {
    const t = setup();
    const next = generateKey();
    t.store.rekey(next);
    t.putOnDisk(generateKey(), next);

    await t.sync.refresh();
    t.store.rotate();
    t.putOnDisk();
    await t.sync.refresh();

    expect(t.reloads).toEqual([true, false]);
    expect(t.barrier.activeTerm()).toBe(2);
  });

  it('keeps the keys in memory when no key on disk matches, and retries only after retryMs', async () => {
    const t = setup();
    const { envelope: sealed } = t.barrier.seal('secret:x', 'value');
    t.store.rekey(generateKey());
    t.store.rotate();

    await t.sync.refresh();
    await t.sync.refresh();
    const failuresBeforeRetry = t.failures.length;
    t.advance(1_000);
    await t.sync.refresh();

    expect(failuresBeforeRetry).toBe(1);
    expect(t.failures).toHaveLength(2);
    expect(t.barrier.activeTerm()).toBe(1);
    expect(t.barrier.open('secret:x', sealed)).toBe('value');
  });

  it('stops refreshing once the barrier is sealed', async () => {
    const t = setup();
    t.barrier.wipe();
    t.store.rotate();

    await t.sync.refresh();

    expect(t.reloads).toEqual([]);
    expect(t.failures).toEqual([]);
  });
});
