// Clock skew: how far the server's clock (which set `exp`) is ahead of this machine's (positive) or behind it.
// Deadlines are `exp - skew` in local time; a wrong skew makes valid tokens look expired or expired ones valid,
// so every source of it is checked before it is believed.
import type { DecodedToken } from './decode.js';

/** Skew measurements below this are noise (network latency, second-granular `iat`). */
export const MIN_SKEW_MS = 1000;
/** A token without `iat` is assumed to live at most this long (Twilio's maximum) when judging a server time. */
const MAX_LIFETIME_MS = 86_400_000;

/** A fetcher's `serverTime` in ms, when it is a finite number or a valid `Date` (also from another realm). */
export function serverTimeOf(value: unknown): number | undefined {
  try {
    // Date's own getTime checks for a real Date (any realm, any subclass) and throws on anything else, a look-alike
    // or a proxy included; the catch turns that into undefined.
    const ms = typeof value === 'number' ? value : Date.prototype.getTime.call(value);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** How far before a token's `iat` a server time may lie: clocks of the servers behind one endpoint differ a little. */
const BEFORE_IAT_MS = 60_000;

/**
 * False for a server time that cannot be right for `decoded`: before the token was issued (no server hands out a
 * token from its own future; a minute of tolerance), or later than a lifetime past its expiry (a `serverTime` of 0
 * or `null` read as the epoch, a peer's absurd skew). A time from before `iat` is the dangerous direction: it would
 * make the token look valid long after its real expiry. Without `iat`, the token is assumed to live at most 24 h.
 */
export function plausible(decoded: DecodedToken, serverTime: number): boolean {
  const exp = decoded.expiresAt.getTime();
  const iat = decoded.issuedAt?.getTime();
  // Stryker disable next-line ConditionalExpression: `undefined < exp` is false, so the undefined check only documents
  const lifetime = iat !== undefined && iat < exp ? exp - iat : MAX_LIFETIME_MS;
  return serverTime >= (iat ?? exp - lifetime) - BEFORE_IAT_MS && serverTime <= exp + lifetime;
}

/**
 * The skew to use after seeing `decoded` at local time `now`, given the `current` one and maybe a server time.
 * A plausible `serverTime` is trusted both ways; without one only an `iat` in the local future says something
 * (the local clock is behind). An old `iat` says nothing: the server may hand out a cached token.
 */
export function learnSkew(current: number, decoded: DecodedToken, now: number, serverTime?: number): number {
  // Stryker disable next-line ConditionalExpression: plausible(decoded, undefined) is false (comparisons with undefined)
  if (serverTime !== undefined && plausible(decoded, serverTime)) {
    const measured = serverTime - now;
    return Math.abs(measured) < MIN_SKEW_MS ? 0 : measured;
  }
  const ahead = (decoded.issuedAt?.getTime() ?? -Infinity) - now;
  // Stryker disable next-line EqualityOperator: when ahead equals current, either branch returns the same number
  return ahead >= MIN_SKEW_MS && ahead > current ? ahead : current;
}
