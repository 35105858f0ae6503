// Refreshes that clients cause (their token errors, their own token events) cannot loop. The first for a held
// token starts at once; a report that follows a client-caused refresh within a minute, or is about a token already
// refreshed for, means the fresh token did not help (a server that refuses every token, an SDK whose warning
// window is longer than the token's lifetime), so the next refresh waits for the retry backoff, growing while it
// repeats. The minute also covers tabs: the fresh token may have come from a peer.
import { findTwilioCode, isKnownTokenCode, refreshableCode } from './client-error.js';
import { AccessManagerError } from './errors.js';
import { type RetryPolicy, retryDelay } from './retry.js';

/** A client's report within this long of the last refresh a client caused counts as "rejected again". */
export const CLIENT_REJECT_WINDOW_MS = 60_000;

export type ClientReason = 'client' | 'clientError';

export interface ClientGuard {
  /**
   * A client reported at `now` while `token` is held: `undefined` to refresh at once (call {@link started}), or
   * the backoff it must wait, with the number of rejections in a row.
   */
  judge(now: number, token: string | undefined): { retryInMs: number; streak: number } | undefined;
  /** A client-caused refresh starts at `now` for the held `token`. */
  started(now: number, token: string | undefined): void;
  /** Holds the refresh back until `at` (from {@link judge}). */
  hold(at: number, token: string | undefined, reason: ClientReason): void;
  /** True while a refresh is held back. */
  readonly holding: boolean;
  /** The reason of the held-back refresh once it is due at `now` (it is then released), else `undefined`. */
  due(now: number): ClientReason | undefined;
  /** A token from elsewhere may be what the client was missing: the held-back refresh is dropped. */
  cancel(): void;
  nextDeadline(): number | undefined;
}

export function createClientGuard(policy: RetryPolicy, random: () => number): ClientGuard {
  // The token the last client-caused refresh was for; `undefined` when none was held (no token is a held state
  // too: one refresh for it, then the backoff), `null` before the first.
  let spent: string | undefined | null = null;
  let lastAt = -Infinity;
  let streak = 0;
  let retryAt: number | undefined;
  // Set by hold(), always before due() can return it.
  let heldReason: ClientReason;
  return {
    judge(now, token) {
      const again = spent === token || now - lastAt < CLIENT_REJECT_WINDOW_MS;
      if (!again) {
        streak = 0;
        return undefined;
      }
      streak++;
      return { retryInMs: retryDelay(policy, streak, random), streak };
    },
    started(now, token) {
      spent = token;
      lastAt = now;
    },
    hold(at, token, reason) {
      retryAt = at;
      spent = token;
      heldReason = reason;
    },
    get holding() {
      return retryAt !== undefined;
    },
    due(now) {
      if (retryAt === undefined || now < retryAt) return undefined;
      retryAt = undefined;
      return heldReason;
    },
    cancel() {
      retryAt = undefined;
    },
    nextDeadline: () => retryAt,
  };
}

/** The `CLIENT_TOKEN_REJECTED` report of a client's `error` that {@link ClientGuard.judge} held back. */
export function rejectedAgain(
  error: unknown,
  clientName: string | undefined,
  { retryInMs, streak }: { retryInMs: number; streak: number },
): AccessManagerError {
  const who = clientName === undefined ? 'A client' : `Client "${clientName}"`;
  return new AccessManagerError('CLIENT_TOKEN_REJECTED', `${who} rejected a fresh token again; next refresh in ${retryInMs} ms.`, {
    cause: error,
    clientName,
    attempt: streak,
    retryInMs,
    twilioCode: refreshableCode(error) ?? findTwilioCode(error, isKnownTokenCode),
  });
}
