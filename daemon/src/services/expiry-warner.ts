import type { Logger } from '../observability/logger.js';

/** Logs that a served credential expires soon or has expired, at most once per `intervalMs` per host. */
export function createExpiryWarner(logger: Pick<Logger, 'warn'>, nowMs: () => number = Date.now, intervalMs = 3_600_000) {
  const lastWarned = new Map<string, number>();
  return (notice: { host: string; expiresAt: string; expired: boolean }): void => {
    const at = nowMs();
    const last = lastWarned.get(notice.host);
    if (last !== undefined && at - last < intervalMs) return;
    lastWarned.set(notice.host, at);
    logger.warn(notice.expired ? 'served a registry credential that has expired' : 'served a registry credential that expires within 7 days', {
      host: notice.host,
      expiresAt: notice.expiresAt,
    });
  };
}
