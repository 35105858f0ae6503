// `Retry-After` of a 429 or 503 from the token endpoint, as the wait the manager should keep before its next attempt.

// The manager caps a failure's `retryAfterMs` at the same bound: a broken or hostile header must not stall it.
import { MAX_RETRY_AFTER_MS } from '../retry.js';

/** Statuses whose `Retry-After` means "ask again later" (on a 3xx it is about redirects; on others not defined). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * The wait a response asks for, in ms: `Retry-After` as delay-seconds or as an HTTP date, clamped to
 * [0, {@link MAX_RETRY_AFTER_MS}]. A date is measured against the response's own `Date` header when it has one,
 * so a wrong local clock does not stretch or shrink the wait; else against `now`. `undefined` for other statuses
 * and for a missing or unreadable header.
 */
export function retryAfterMs(response: Pick<Response, 'status' | 'headers'>, now = Date.now()): number | undefined {
  if (!RETRY_AFTER_STATUSES.has(response.status)) return undefined;
  const value = response.headers.get('retry-after')?.trim() ?? '';
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(value)) {
    ms = Number(value) * 1000;
  } else if (/^[A-Za-z]{3}/.test(value)) {
    // An HTTP date starts with the day name (all three formats HTTP allows); Date.parse alone takes "-5" as a year.
    const at = Date.parse(value);
    if (!Number.isFinite(at)) return undefined;
    const serverNow = Date.parse(response.headers.get('date') ?? '');
    ms = at - (Number.isFinite(serverNow) ? serverNow : now);
  } else {
    return undefined;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
