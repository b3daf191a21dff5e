import { randomBytes } from 'node:crypto';

/** Returns a new random identifier such as `int_3f9a0c1b2d4e5f60`. */
export function newId(prefix: 'int' | 'tok' | 'req'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/** Returns the current time as the ISO-8601 text every table stores. */
export function isoNow(now: Date): string {
  return now.toISOString();
}
