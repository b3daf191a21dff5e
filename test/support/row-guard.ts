import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRowGuard, type RowFailureListener, type RowGuard } from '../../daemon/src/store/row-integrity.js';

/**
 * A row guard for repository tests, which must not import the barrier: real HMAC-SHA256 under a
 * random key, as the barrier's row authenticator computes it (without the HKDF step).
 */
export function testRowGuard(onFailure?: RowFailureListener): RowGuard {
  const key = randomBytes(32);
  const tag = (message: Uint8Array) => createHmac('sha256', key).update(message).digest();
  return createRowGuard(
    { tag, verify: (message, expected) => expected.length === 32 && timingSafeEqual(tag(message), expected) },
    onFailure,
  );
}
