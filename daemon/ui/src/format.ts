/** How times read in the console: local date and time, plus "in 3 days" / "2 hours ago". */

const DAY_MS = 24 * 3600 * 1000;

/** The window in which an expiry is flagged: lookups start warning a week ahead. */
export const EXPIRY_WARNING_MS = 7 * DAY_MS;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** A timestamp as local date and time. */
export function formatTime(iso: string): string {
  return dateTime.format(new Date(iso));
}

/** How far an instant is from now, in words ("in 3 days", "5 minutes ago"). */
export function fromNow(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const [unit, size]: [Intl.RelativeTimeFormatUnit, number] =
    abs >= DAY_MS ? ['day', DAY_MS] : abs >= 3600_000 ? ['hour', 3600_000] : abs >= 60_000 ? ['minute', 60_000] : ['second', 1000];
  return relative.format(Math.round(ms / size), unit);
}

/** An expiry's state: none, far, close (within the warning window) or past. */
export function expiryState(iso: string | null, now = Date.now()): 'none' | 'ok' | 'soon' | 'expired' {
  if (iso === null) return 'none';
  const left = new Date(iso).getTime() - now;
  return left <= 0 ? 'expired' : left <= EXPIRY_WARNING_MS ? 'soon' : 'ok';
}
