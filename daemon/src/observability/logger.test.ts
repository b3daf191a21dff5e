import { describe, expect, it } from 'vitest';
import { mintToken } from '../auth/token-hash.js';
import { createLogger, redact } from './logger.js';

function capture(level?: Parameters<typeof createLogger>[1]) {
  const lines: string[] = [];
  const logger = createLogger((line) => void lines.push(line), level, () => new Date('2026-03-02T09:00:00.000Z'));
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, message and fields', () => {
    const { logger, lines, parsed } = capture();

    logger.info('listening', { port: 8700 });

    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(parsed()[0]).toEqual({ time: '2026-03-02T09:00:00.000Z', level: 'info', msg: 'listening', port: 8700 });
  });

  it('drops lines below the configured level', () => {
    const { logger, parsed } = capture('warn');

    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');

    expect(parsed().map((line) => line['level'])).toEqual(['warn', 'error']);
  });

  it.each(['secret', 'password', 'token', 'authorization', 'Authorization', 'rootKey', 'body', 'cookie'])(
    'replaces the value under the key %s',
    (key) => {
      const { logger, lines } = capture();

      logger.info('request', { [key]: 'very-sensitive-value', nested: { [key]: 'nested-sensitive-value' } });

      expect(lines[0]).not.toContain('very-sensitive-value');
      expect(lines[0]).not.toContain('nested-sensitive-value');
      expect(lines[0]).toContain('[redacted]');
    },
  );

  it('scrubs token values from the message, from string fields and from error messages and stacks', () => {
    const { logger, lines } = capture();
    const value = mintToken().value;

    logger.error(`rejected ${value}`, { note: `header was Bearer ${value}`, error: new Error(`bad token ${value}`), list: [value] });

    expect(lines[0]).not.toContain(value);
    expect(lines[0]).toContain('scd_[redacted]');
  });

  it('keeps non-sensitive fields such as the token id readable', () => {
    const { logger, parsed } = capture();

    logger.info('request', { requestId: 'r-1', tokenId: 'tok_0123456789abcdef', status: 200 });

    expect(parsed()[0]).toMatchObject({ requestId: 'r-1', tokenId: 'tok_0123456789abcdef', status: 200 });
  });
});

describe('redact', () => {
  it('replaces byte arrays with their length', () => {
    expect(redact({ envelope: new Uint8Array(48) })).toEqual({ envelope: '[48 bytes]' });
  });

  it('turns an Error into name, scrubbed message and stack', () => {
    const value = mintToken().value;

    const out = redact(new TypeError(`oops ${value}`)) as Record<string, unknown>;

    expect(out['name']).toBe('TypeError');
    expect(out['message']).toBe('oops scd_[redacted]');
    expect(String(out['stack'])).not.toContain(value);
  });

  it('stops at a fixed depth instead of recursing forever', () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 20; i++) cursor = cursor['next'] = {};

    expect(JSON.stringify(redact(deep))).toContain('[deep]');
  });
});
