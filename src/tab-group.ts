// How one tab behaves in its group of tabs (the managers of one origin sharing a `crossTab` name): which token a
// peer may hand it, when a peer's token answers a refresh, and fetching under the group's lock unless a peer
// answers first. The transport (BroadcastChannel, Web Locks) is ./cross-tab.ts.
import type { CrossTabLink } from './cross-tab.js';
import type { DecodedToken } from './decode.js';
import { type HeldToken, judgeCandidate } from './held-token.js';
import type { Clock, FetchReason } from './types.js';

/** How long a tab without a token waits for a peer's answer before fetching one itself. */
export const PEER_WAIT_MS = 200;

/**
 * Whether a token a peer sent replaces the held one. It must pass what `updateToken` checks, judged at
 * `serverNow` (with the peer's skew if that was plausible), and also not be expired by this tab's own clock
 * (`ownServerNow`): a peer must not be able to make an expired token look valid. Never another identity's, even
 * with `allowIdentityChange` (that option is for the app's own tokens: someone signing in as another user in one
 * tab must not switch the others). An equal `exp` keeps the current token, so two tabs that fetched at once do not
 * swap tokens back and forth.
 */
export function acceptsPeerToken(
  decoded: DecodedToken,
  held: HeldToken | undefined,
  identity: string | undefined,
  serverNow: number,
  ownServerNow: number,
): boolean {
  const exp = decoded.expiresAt.getTime();
  return (
    // Stryker disable next-line StringLiteral: only whether there is a refusal counts here, never its message
    !judgeCandidate(decoded, serverNow, { held, identity, allowIdentityChange: false }, 'Token') &&
    ownServerNow < exp &&
    exp !== held?.exp
  );
}

/**
 * Whether the held token answers a refresh that began while `startToken` was held, so there is nothing to fetch:
 * it changed since, is not expired, and either someone asked for a new token (a caller, a client) or it is outside
 * its about-to-expire window (an automatic refresh wants exactly that).
 */
export function answersRefresh(
  reason: FetchReason,
  startToken: string | undefined,
  held: HeldToken | undefined,
  expired: boolean,
  insideWindow: boolean,
): boolean {
  const asked = reason === 'manual' || reason === 'client' || reason === 'clientError';
  return held !== undefined && held.token !== startToken && !expired && (asked || !insideWindow);
}

/**
 * Runs `fetch` under the group's refresh lock unless a peer answers first (`answered()`), so the group fetches
 * once per token lifetime. Within 200 ms of this tab's last ask (it just opened), its peers' answers may still be
 * on the way: it waits for them before fetching. Once the fetch has sent a token, the lock is held a little longer
 * so the next tab in the queue sees the token before the lock.
 */
export async function fetchUnderLock(
  link: CrossTabLink,
  clock: Clock,
  signal: AbortSignal,
  answered: () => boolean,
  fetch: () => Promise<void>,
): Promise<void> {
  await link.withLock(
    async () => {
      if (answered()) return false;
      const wait = link.lastAskAt + PEER_WAIT_MS - clock.now();
      if (wait > 0 && (await link.ask(wait, answered))) return false;
      if (signal.aborted) return false;
      await fetch();
      return true;
    },
    signal,
    PEER_WAIT_MS,
  );
}
