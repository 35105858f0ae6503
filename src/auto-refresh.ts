// When the automatic refresh of a token's about-to-expire window starts. One moment at a time: the window opening
// arms it, a token from elsewhere cancels it, and the storm guard holds it back when fetched tokens keep arriving
// already inside their window (a TTL shorter than the window, a clock ahead): without that, each such token would
// trigger the next refresh at once, forever.
import { type RetryPolicy, backoffCap } from './retry.js';

export interface AutoRefresh {
  /** The window of the held token opened at local time `now`: arms the refresh (not before a storm hold ends). */
  open(now: number): void;
  /**
   * After a successful fetch at `now`: `inside` says the token now held is already inside its window. Then the next
   * automatic refresh waits for the backoff (growing while it repeats); `windowOpen` says that window has already
   * opened (the same token came back), so the refresh is armed for then directly.
   */
  fetched(now: number, inside: boolean, windowOpen: boolean): void;
  /** True once when the armed moment has come (it is then disarmed). */
  due(now: number): boolean;
  /** A refresh started, or a new token arrived: nothing armed is needed any more. */
  cancel(): void;
  /** The armed moment (local time), if any. */
  nextDeadline(): number | undefined;
}

export function createAutoRefresh(policy: RetryPolicy): AutoRefresh {
  let at: number | undefined;
  let holdUntil = -Infinity;
  let streak = 0;
  return {
    open(now) {
      at = Math.max(now, holdUntil);
    },
    fetched(now, inside, windowOpen) {
      if (!inside) {
        streak = 0;
        return;
      }
      holdUntil = now + backoffCap(policy, ++streak);
      if (windowOpen) at = holdUntil;
    },
    due(now) {
      if (at === undefined || now < at) return false;
      at = undefined;
      return true;
    },
    cancel() {
      at = undefined;
    },
    nextDeadline: () => at,
  };
}
