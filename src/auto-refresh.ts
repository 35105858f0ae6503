// When the automatic refresh of a token's about-to-expire window starts. One moment at a time: the window opening
// arms it, a token from elsewhere cancels it.
// - The spread: the refresh starts at a uniformly random moment within `spreadMs` after the window opens, so a
//   fleet of clients whose tokens were minted together (a deploy, an outage recovery) does not refresh together,
//   then get tokens that expire together, for every lifetime after. Never later than `spreadMs` into the window,
//   so the rest of it remains for retries.
// - The storm guard holds it back when fetched tokens keep arriving already inside their window (a TTL shorter than
//   the window, a clock ahead): without that, each such token would trigger the next refresh at once, forever.
import { type RetryPolicy, backoffCap } from './retry.js';

export interface AutoRefresh {
  /**
   * The window of the held token opened (or was noticed) at local time `now`: arms the refresh at a random moment
   * within the spread, but not after `latest` (the local time `spreadMs` into the window, for a window noticed
   * late) nor before a storm hold ends.
   */
  open(now: number, latest?: number): void;
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

export function createAutoRefresh(policy: RetryPolicy, spreadMs = 0, random: () => number = Math.random): AutoRefresh {
  let at: number | undefined;
  let holdUntil = -Infinity;
  let streak = 0;
  return {
    open(now, latest = Infinity) {
      const spread = spreadMs > 0 ? Math.min(now + Math.round(random() * spreadMs), latest) : now;
      at = Math.max(spread, now, holdUntil);
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
