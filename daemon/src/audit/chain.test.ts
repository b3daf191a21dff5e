import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainTail, chainText, type ChainFieldsAfterSeq } from './chain.js';

const text = fc.option(fc.string({ unit: 'binary' }), { nil: null });

describe('chainTail', () => {
  it('is what chainText writes after the seq, for every integer seq and any text (what the PostgreSQL store hashes in SQL relies on)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.tuple(fc.string({ unit: 'binary' }), text, text, text, text, fc.string({ unit: 'binary' }), text, text, fc.string({ unit: 'binary' }), text),
        (seq, prevHash, rest) => {
          const fields = rest as ChainFieldsAfterSeq;
          expect(chainText(prevHash, [seq, ...fields])).toBe(`${prevHash}\n[${seq},${chainTail(fields)}`);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
