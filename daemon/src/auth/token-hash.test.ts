import { timingSafeEqual } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { TOKEN_PREFIX, TOKEN_VALUE_PATTERN, mintToken, parseToken, secretMatches } from './token-hash.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

describe('mintToken', () => {
  it('returns scd_<id>_<43 base64url chars> and a 32-byte hash', () => {
    const minted = mintToken();

    expect(minted.id).toMatch(/^tok_[0-9a-f]{16}$/);
    expect(minted.value).toMatch(new RegExp(`^${TOKEN_PREFIX}${minted.id}_[A-Za-z0-9_-]{43}$`));
    expect(minted.hash).toHaveLength(32);
  });

  it('stores a hash that is not the secret itself', () => {
    const minted = mintToken();
    const secret = minted.value.slice(-43);

    expect(Buffer.from(minted.hash).toString('base64url')).not.toBe(secret);
    expect(Buffer.from(minted.hash).includes(Buffer.from(secret))).toBe(false);
  });

  it('mints a different id and value every time', () => {
    const a = mintToken();
    const b = mintToken();

    expect(a.id).not.toBe(b.id);
    expect(a.value).not.toBe(b.value);
  });
});

describe('parseToken', () => {
  it('splits a minted value into its id and secret', () => {
    const minted = mintToken();

    const parsed = parseToken(minted.value);

    expect(parsed).toEqual({ id: minted.id, secret: minted.value.slice(-43) });
  });

  it.each([
    ['an empty string', ''],
    ['another prefix', 'ghp_tok_0123456789abcdef_' + 'a'.repeat(43)],
    ['an upper-case id', 'scd_tok_0123456789ABCDEF_' + 'a'.repeat(43)],
    ['a short secret', 'scd_tok_0123456789abcdef_' + 'a'.repeat(42)],
    ['a long secret', 'scd_tok_0123456789abcdef_' + 'a'.repeat(44)],
    ['a secret with padding', 'scd_tok_0123456789abcdef_' + 'a'.repeat(42) + '='],
    ['surrounding spaces', ' scd_tok_0123456789abcdef_' + 'a'.repeat(43) + ' '],
  ])('returns undefined for %s', (_label, value) => {
    expect(parseToken(value)).toBeUndefined();
  });
});

describe('secretMatches', () => {
  it('matches the minted secret and compares in constant time', () => {
    const minted = mintToken();
    vi.mocked(timingSafeEqual).mockClear();

    const matches = secretMatches(parseToken(minted.value)!.secret, minted.hash);

    expect(matches).toBe(true);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
  });

  it('rejects another secret through the same constant-time comparison', () => {
    const minted = mintToken();
    const other = parseToken(mintToken().value)!.secret;
    vi.mocked(timingSafeEqual).mockClear();

    const matches = secretMatches(other, minted.hash);

    expect(matches).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
  });

  it('returns false without throwing when the stored hash has another length', () => {
    const minted = mintToken();

    const matches = secretMatches(parseToken(minted.value)!.secret, minted.hash.subarray(0, 16));

    expect(matches).toBe(false);
  });
});

describe('TOKEN_VALUE_PATTERN', () => {
  it('finds every minted value inside text', () => {
    const a = mintToken().value;
    const b = mintToken().value;

    const found = `Authorization: Bearer ${a}; retry with ${b}.`.match(TOKEN_VALUE_PATTERN);

    expect(found).toEqual([a, b]);
  });
});
