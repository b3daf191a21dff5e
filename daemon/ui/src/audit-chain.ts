/**
 * Checks the hash chain over the audit events the console shows: each event whose predecessor
 * (seq − 1) is also shown must hash, with that predecessor's hash, to its own hash, as the daemon
 * computed it when it wrote the row (daemon/src/audit/chain.ts). Rows outside the page, the chain's
 * start and its recorded head are checked by `scalr-credd audit verify` on the daemon's host.
 */
import { chainText, eventChainFields } from '../../src/audit/chain.js';
import type { AuditEvent } from './contract.js';

/** What the check found. */
export type ChainCheck =
  | { kind: 'verified'; links: number; from: number; to: number }
  | { kind: 'broken'; seq: number }
  | { kind: 'unchecked'; reason: string };

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Checks every link between consecutive events of `events` (any order). */
export async function checkChain(events: readonly AuditEvent[]): Promise<ChainCheck> {
  if (!globalThis.crypto?.subtle) return { kind: 'unchecked', reason: 'this page is not a secure context (use https or a loopback address)' };
  const bySeq = new Map(events.map((event) => [event.seq, event]));
  let links = 0;
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    const previous = bySeq.get(event.seq - 1);
    if (!previous) continue;
    if ((await sha256Hex(chainText(previous.hash, eventChainFields(event)))) !== event.hash) return { kind: 'broken', seq: event.seq };
    links++;
  }
  if (links === 0) return { kind: 'unchecked', reason: 'no two consecutive events are shown (filters or a host-limited view leave gaps)' };
  const seqs = events.map((event) => event.seq);
  return { kind: 'verified', links, from: Math.min(...seqs), to: Math.max(...seqs) };
}
