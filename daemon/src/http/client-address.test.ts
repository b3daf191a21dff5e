import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createSourceOf } from './client-address.js';

/** The two parts of a request the source finder reads. */
function requestFrom(remoteAddress: string | undefined, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
}

describe('createSourceOf', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    const sourceOf = createSourceOf([]);

    expect(sourceOf(requestFrom('10.0.0.7', '203.0.113.9'))).toBe('10.0.0.7');
    expect(sourceOf(requestFrom(undefined))).toBe('unix');
  });

  it.each([
    ['a trusted proxy reports one client', '10.0.0.2', '203.0.113.9', '203.0.113.9'],
    ['the client put its own guess in front', '10.0.0.2', '1.1.1.1, 203.0.113.9', '203.0.113.9'],
    ['two trusted proxies in a row', '10.0.0.2', '203.0.113.9, 10.0.0.3', '203.0.113.9'],
    ['a peer that is no trusted proxy', '198.51.100.4', '203.0.113.9', '198.51.100.4'],
    ['an IPv4 peer on a dual-stack socket', '::ffff:10.0.0.2', '203.0.113.9', '203.0.113.9'],
    ['an IPv6 client', '10.0.0.2', '2001:db8::1', '2001:db8::1'],
    ['an entry that is no address', '10.0.0.2', 'evil\u0000name, 10.0.0.3', '10.0.0.3'],
    ['only trusted hops', '10.0.0.2', '10.0.0.9', '10.0.0.9'],
    ['an empty header', '10.0.0.2', '', '10.0.0.2'],
  ])('finds the client when %s', (_label, peer, header, expected) => {
    const sourceOf = createSourceOf(['10.0.0.0/8']);

    expect(sourceOf(requestFrom(peer, header))).toBe(expected);
  });

  it('finds the client behind 2,000 trusted hops', () => {
    const sourceOf = createSourceOf(['10.0.0.0/8']);
    const header = `203.0.113.9, ${Array.from({ length: 2_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', ')}`;

    expect(sourceOf(requestFrom('10.0.0.1', header))).toBe('203.0.113.9');
  });
});
