import { describe, expect, it } from 'vitest';
import { toSafeLine, withoutUserInfo } from './safe-text.js';

describe('toSafeLine', () => {
  it('turns C0, C1, separator and bidi controls into one space, with the spaces around them', () => {
    expect(toSafeLine('a \r\n b')).toBe('a b');
    expect(toSafeLine('evil\u009b[2Jcleared')).toBe('evil [2Jcleared');
    expect(toSafeLine('user\u202Etxt.exe')).toBe('user txt.exe');
    expect(toSafeLine('one\u2028two\u2029three\u0085four')).toBe('one two three four');
    expect(toSafeLine('x\u2066y\u2069z\u200fw\u061cv')).toBe('x y z w v');
  });

  it('keeps ordinary text, inner double spaces and non-ASCII letters, and trims the ends', () => {
    expect(toSafeLine('  naïve  résumé ✓ ')).toBe('naïve  résumé ✓');
  });

  it('bounds the length', () => {
    expect(toSafeLine('x'.repeat(2000), 100)).toBe(`${'x'.repeat(97)}...`);
  });

  it('takes linear time on adversarial input (spaces without a control character)', () => {
    const started = performance.now();
    toSafeLine(`a${' '.repeat(1024 * 1024)}b`, 10 * 1024 * 1024);
    toSafeLine(`${' \u0001'.repeat(512 * 1024)}`, 10 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('withoutUserInfo', () => {
  it.each([
    ['https://u:tok_SEKRET@h.example:8443/x', 'https://…@h.example:8443/x'],
    ['http://user@127.0.0.1:8700', 'http://…@127.0.0.1:8700'],
    ['https://h.example/a@b', 'https://h.example/a@b'],
    ['unix:/run/credd.sock', 'unix:/run/credd.sock'],
    ['credd-2:8420', 'credd-2:8420'],
  ])('shows %s as %s', (url, shown) => {
    expect(withoutUserInfo(url)).toBe(shown);
  });
});
