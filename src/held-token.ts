// The token the manager holds: its expiry, which of its once-per-token events have fired, and the rules a
// candidate must pass to replace it.
import { Refusal } from './classify.js';
import type { DecodedToken } from './decode.js';

export interface HeldToken {
  readonly token: string;
  readonly decoded: DecodedToken;
  /** `exp` in ms (server time). */
  readonly exp: number;
  aboutFired: boolean;
  expiredFired: boolean;
  /** The constructor's token was already expired: report `TOKEN_EXPIRED` before its events. */
  expiredAtStart: boolean;
}

export const holdToken = (token: string, decoded: DecodedToken): HeldToken => ({
  token,
  decoded,
  exp: decoded.expiresAt.getTime(),
  aboutFired: false,
  expiredFired: false,
  expiredAtStart: false,
});

/** What a candidate is judged against. */
export interface CandidateRules {
  /** The current token, if any. */
  held: HeldToken | undefined;
  /** The `identity` option. */
  identity: string | undefined;
  allowIdentityChange: boolean;
}

/**
 * Why `decoded` may not replace the held token at server time `serverNow`, or `undefined` when it may. The first
 * that applies of: expired, another identity than the `identity` option, another identity than the held token's
 * (unless `allowIdentityChange`), an earlier `exp` than the held token's (`TOKEN_STALE`; not checked when the
 * identity changes). `subject` starts the message: `Token` for one the app gave, `Fetched token` for one fetched.
 */
export function judgeCandidate(
  decoded: DecodedToken,
  serverNow: number,
  rules: CandidateRules,
  subject: string,
): Refusal | undefined {
  const exp = decoded.expiresAt.getTime();
  if (serverNow >= exp) return new Refusal('TOKEN_EXPIRED', `${subject} is expired.`);
  if (rules.identity !== undefined && decoded.identity !== rules.identity) {
    return new Refusal('IDENTITY_MISMATCH', `${subject} is for another identity than the identity option.`);
  }
  const { held } = rules;
  if (!held) return undefined;
  if (decoded.identity !== held.decoded.identity) {
    return rules.allowIdentityChange
      ? undefined
      : new Refusal('IDENTITY_MISMATCH', `${subject} is for another identity (see allowIdentityChange).`);
  }
  return exp < held.exp ? new Refusal('TOKEN_STALE', `${subject} expires before the current one.`) : undefined;
}
