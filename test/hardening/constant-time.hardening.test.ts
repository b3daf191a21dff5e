/**
 * Token comparison is constant-time: the presented secret's hash is compared with the stored hash by
 * crypto.timingSafeEqual, and by nothing else. Checked by spying on timingSafeEqual while the real
 * token service authenticates (no timing measurements): every check calls it once with two 32-byte
 * hashes, and its answer alone decides (forcing it to say "equal" lets a wrong secret through).
 */
import * as crypto from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { initStore } from '../../daemon/src/lifecycle/init-store.js';
import { openStore } from '../../daemon/src/lifecycle/open-store.js';
import { storePaths } from '../../daemon/src/lifecycle/store-paths.js';
import { makeTempDir, removeTempDir } from '../support/hardening/env.js';
import { printFigures, recordFigures } from '../support/hardening/figures.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, default: actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

let dir: string | undefined;

afterAll(() => {
  removeTempDir(dir);
  printFigures();
});

describe('constant-time token comparison', () => {
  it('compares token hashes with crypto.timingSafeEqual only', async () => {
    dir = makeTempDir('ct');
    const paths = storePaths(join(dir, 'data'));
    const created = await initStore(paths);
    const store = await openStore(paths);
    const spy = vi.mocked(crypto.timingSafeEqual);
    try {
      const [, id, secret] = /^scd_(tok_[0-9a-f]{16})_(.{43})$/.exec(created.token)!;
      const expectedHash = crypto.createHash('sha256').update(secret!).digest();

      // The first read of a row checks its MAC (with timingSafeEqual too) before the row is cached;
      // from then on each authentication makes exactly the one hash comparison.
      await store.tokens.authenticate(created.token);
      spy.mockClear();
      expect((await store.tokens.authenticate(created.token)).tokenId).toBe(id);
      expect(spy).toHaveBeenCalledTimes(1);
      const [presented, stored] = spy.mock.calls[0]! as unknown as [Uint8Array, Uint8Array];
      expect(presented.length).toBe(32);
      expect(stored.length).toBe(32);
      expect(Buffer.from(stored).equals(expectedHash)).toBe(true);
      expect(spy.mock.results[0]!.value).toBe(true);

      const wrong = `scd_${id}_${'A'.repeat(43)}`;
      spy.mockClear();
      await expect(store.tokens.authenticate(wrong)).rejects.toThrow(/not valid/);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.results[0]!.value).toBe(false);

      // Its answer is the decision: forced to "equal", the wrong secret is accepted.
      spy.mockClear();
      spy.mockReturnValueOnce(true);
      expect((await store.tokens.authenticate(wrong)).tokenId).toBe(id);
      expect(spy).toHaveBeenCalledTimes(1);

      // A secret that differs only in its last character takes the same path.
      const nearMiss = `scd_${id}_${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
      spy.mockClear();
      await expect(store.tokens.authenticate(nearMiss)).rejects.toThrow(/not valid/);
      expect(spy).toHaveBeenCalledTimes(1);
      recordFigures('auth', { 'timingSafeEqual checks': 4 });
    } finally {
      await store.close();
    }
  });
});
