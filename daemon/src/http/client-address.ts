/**
 * The source a request comes from, for the failure limiter and the logs: the peer's address, or,
 * when the peer is a trusted proxy (`--trust-proxy`), the client address it reports in
 * X-Forwarded-For. Without trusted proxies the header is ignored: any client can write it.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { parseCidr } from '../daemon-config.js';

/** Finds a request's source address; `unix` for the Unix socket. */
export type SourceOf = (req: IncomingMessage) => string;

/** The source of every client of the Unix socket. */
export const UNIX_SOURCE = 'unix';

/** Builds the source finder for the trusted proxies (CIDRs the config loader accepted). */
export function createSourceOf(trustProxy: readonly string[]): SourceOf {
  if (trustProxy.length === 0) return (req) => req.socket.remoteAddress ?? UNIX_SOURCE;
  const trusted = new BlockList();
  for (const cidr of trustProxy) {
    const parsed = parseCidr(cidr);
    if (parsed) trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    const peer = req.socket.remoteAddress;
    if (peer === undefined) return UNIX_SOURCE;
    const forwarded = req.headers['x-forwarded-for'];
    if (!isTrusted(unmapped(peer)) || typeof forwarded !== 'string') return peer;
    return forwardedClient(forwarded, unmapped(peer), isTrusted);
  };
}

/**
 * Walks X-Forwarded-For from the right (the hop nearest to the daemon) past the trusted proxies;
 * the first address that is not one is the client. An entry that is not an IP address ends the walk
 * at the hop that reported it: it cannot be believed, and it must never become a limiter key.
 */
function forwardedClient(header: string, peer: string, isTrusted: (address: string) => boolean): string {
  let client = peer;
  const hops = header.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmapped(hops[i]!.trim());
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrusted(hop)) return hop;
  }
  return client;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
