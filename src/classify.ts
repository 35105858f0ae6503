// What a failed fetch attempt means: one pure function from "what went wrong" to the error the manager reports,
// with its code, message, retry decision and delay. Everything inspected here may be hostile (throwing getters,
// revoked proxies), so it is read only through `read`.
import { findTwilioCode, httpStatus, read } from './client-error.js';
import { AccessManagerError } from './errors.js';
import { MAX_RETRY_AFTER_MS, type RetryPolicy, retryDelay } from './retry.js';

export { MAX_RETRY_AFTER_MS };

/** A problem the manager itself found in an attempt (a timeout, a fetched value it refuses); its message is final. */
export class Refusal {
  // `declare`: assigned in the constructor, so no field initializers are emitted.
  declare readonly code: 'TOKEN_MALFORMED' | 'TOKEN_EXPIRED' | 'TOKEN_STALE' | 'IDENTITY_MISMATCH' | 'FETCH_TIMEOUT';
  declare readonly message: string;
  constructor(code: Refusal['code'], message: string) {
    this.code = code;
    this.message = message;
  }
}

// Anything that looks like a JWT, one of its segments, or a long opaque secret is cut from quoted messages.
const SECRETISH = /eyJ[\w-]*(?:\.[\w-]*)*|[\w-]{8,}\.[\w-]{8,}\.[\w-]*|[\w-]{32,}/g;

/** A foreign message, shortened and with anything token-like removed, fit to quote in ours. */
export function quote(text: string): string {
  const clean = text.replace(SECRETISH, '[redacted]').replace(/\s+/g, ' ').trim();
  return clean.length > 160 ? `${clean.slice(0, 157)}...` : clean;
}

/** The short reason of a fetcher's failure: its HTTP status, else its message, else what kind of value it was. */
function describe(reason: unknown, status: number | undefined): string {
  if (status !== undefined) return `HTTP ${status}`;
  const message = typeof reason === 'string' ? reason : read(reason, 'message');
  // Without its final period: ours follows.
  if (typeof message === 'string' && message.trim() !== '') return quote(message).replace(/\.+$/, '');
  return reason === undefined || reason === null ? `fetchToken rejected with ${reason}` : 'fetchToken rejected without a message';
}

/**
 * The error to report for failed attempt number `attempt`, and whether (`retryInMs`) and when the next one comes.
 * Not retried: `FETCH_UNAUTHORIZED` (HTTP 401/403, `fatal: true`, or an `AccessManagerError` with that code from
 * the fetcher), `IDENTITY_MISMATCH`, or anything when `retry` is `false`. A failure carrying `retryAfterMs` (a
 * server's `Retry-After`) waits at least that long, at most {@link MAX_RETRY_AFTER_MS}.
 */
export function classifyFailure(
  reason: unknown,
  attempt: number,
  retry: RetryPolicy | false,
  random: () => number,
): AccessManagerError {
  let code: AccessManagerError['code'];
  let message: string;
  let cause: unknown;
  const own = read(reason, 'name') === 'AccessManagerError' ? read(reason, 'code') : undefined;
  let refusal = false;
  try {
    refusal = reason instanceof Refusal;
  } catch {
    // A revoked proxy throws even from `instanceof`: it is no Refusal.
  }
  if (refusal) {
    ({ code, message } = reason as Refusal);
  } else if (['TOKEN_MALFORMED', 'TOKEN_EXPIRED', 'IDENTITY_MISMATCH', 'FETCH_TIMEOUT'].includes(own as string)) {
    // The fetcher judged the response itself (createTokenFetcher reading a body without a token): keep its verdict.
    code = own as AccessManagerError['code'];
    const text = read(reason, 'message');
    message = typeof text === 'string' && text !== '' ? quote(text) : `Fetched token refused (${own}).`;
    cause = read(reason, 'cause');
  } else {
    cause = reason;
    const status = httpStatus(reason);
    const fatal =
      status === 401 ||
      status === 403 ||
      read(reason, 'fatal') === true ||
      own === 'FETCH_UNAUTHORIZED';
    const why = describe(reason, status);
    code = fatal ? 'FETCH_UNAUTHORIZED' : 'FETCH_FAILED';
    message = fatal
      ? `Token endpoint refused (${why}): no retry until refresh() or updateToken().`
      : `Token fetch failed: ${why}.`;
  }
  let retryInMs: number | undefined;
  if (retry && code !== 'FETCH_UNAUTHORIZED' && code !== 'IDENTITY_MISMATCH') {
    retryInMs = retryDelay(retry, attempt, random);
    const after = read(reason, 'retryAfterMs');
    // Stryker disable next-line EqualityOperator: a retryAfterMs of 0 raises nothing (Math.max with a delay >= 0)
    if (typeof after === 'number' && after > 0) retryInMs = Math.max(retryInMs, Math.min(after, MAX_RETRY_AFTER_MS));
  }
  return new AccessManagerError(code, `${message} (attempt ${attempt})`, {
    ...(cause !== undefined && { cause }),
    attempt,
    retryInMs,
    twilioCode: findTwilioCode(cause, (n) => n >= 10_000 && n < 100_000),
  });
}
