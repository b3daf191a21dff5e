import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { newId } from '../ids.js';

/** Every token starts with this prefix, so scanners and people recognise one. */
export const TOKEN_PREFIX = 'scd_';

const TOKEN_PATTERN = /^scd_(tok_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly minted token: the value to show once, and what is stored. */
export interface MintedToken {
  id: string;
  value: string;
  hash: Uint8Array;
}

/** Mints a token: `scd_<id>_<32 random bytes, base64url>`; only the SHA-256 of the random part is kept. */
export function mintToken(): MintedToken {
  const id = newId('tok');
  const secret = randomBytes(32).toString('base64url');
  return { id, value: `${TOKEN_PREFIX}${id}_${secret}`, hash: hashSecret(secret) };
}

/** Splits a presented token into its id and secret part; undefined when it is not of our shape. */
export function parseToken(value: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(value);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const presented = hashSecret(secret);
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
}

/** A pattern that finds token values in text, for log redaction. */
export const TOKEN_VALUE_PATTERN = /scd_tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/g;

function hashSecret(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret).digest());
}
