// Twilio's token-related error codes with their meanings. Which codes exist and which are refreshable is decided
// once, in ../client-error.ts, so that `AccessManager.handleClientError` and `isTwilioTokenError` can never disagree;
// this table only adds the meanings, and the compiler checks that it has one for every code there.
import { type TwilioTokenErrorCode, findTwilioCode, isKnownTokenCode, refreshableCode } from '../client-error.js';

/**
 * Every code in {@link TWILIO_TOKEN_ERROR_CODES}: access-token failures reported by Twilio services (201xx, shared by
 * Conversations, Sync, Video and Voice), by the Voice SDK's signaling (312xx) and by twilsock, the transport of
 * Conversations and Sync (51207).
 */
export type { TwilioTokenErrorCode };

/** A read-only `Map` from code to meaning that can also be indexed like a record (`table[20104]`). */
export type TwilioTokenErrorTable = ReadonlyMap<number, string> & { readonly [C in TwilioTokenErrorCode]: string };

// Sources: the Voice SDK's generated errors (20101, 20104, 20151, 312xx), twilio-video's errors (20101-20107) and
// twilio.com/docs/api/errors (20156, 20157, 20160). Meanings are paraphrased from there.
const MEANINGS: { readonly [C in TwilioTokenErrorCode]: string } = {
  20101: 'Invalid access token',
  20102: 'Invalid access token header',
  20103: 'Invalid access token issuer or subject',
  20104: 'Access token expired or expiration date invalid',
  20105: 'Access token not yet valid',
  20106: 'Invalid access token grants',
  20107: 'Invalid access token signature',
  20151: 'Authentication with the provided JWT failed',
  20156: 'Access token expired or its expiration is invalid',
  20157: 'Access token expiration exceeds the 24 h maximum',
  20160: 'Invalid token: not a well-formed Twilio JWT',
  31202: 'Access token signature validation failed (Voice)',
  31204: 'Invalid JWT token (Voice)',
  31205: 'JWT token expired (Voice)',
  31207: 'JWT token expiration too long (Voice)',
  51207: 'Access token expired (twilsock connection closed)',
};

// A Map for `get`/`has`/iteration in code order, with the same entries as frozen own properties so that
// `TWILIO_TOKEN_ERROR_CODES[20104]` and `Object.entries(...)` work too. Mutators throw: it is shared module state.
class ReadonlyCodeTable extends Map<number, string> {
  constructor(entries: ReadonlyArray<readonly [number, string]>) {
    super();
    for (const [code, meaning] of entries) {
      super.set(code, meaning);
      Object.defineProperty(this, code, { value: meaning, enumerable: true });
    }
    Object.freeze(this);
  }

  override set(): never {
    throw new TypeError('TWILIO_TOKEN_ERROR_CODES is read-only');
  }

  override delete(): never {
    throw new TypeError('TWILIO_TOKEN_ERROR_CODES is read-only');
  }

  override clear(): never {
    throw new TypeError('TWILIO_TOKEN_ERROR_CODES is read-only');
  }
}

/**
 * Token-related Twilio error codes and what they mean. Only 20101, 20104, 31204, 31205 and 51207 are fixed by a
 * new token (see {@link isTwilioTokenError}); the others point at how your server mints tokens (wrong key, grants, `ttl`
 * above 24 h, clock) and a refresh with the same server code would fail again.
 *
 * It is a read-only `Map` that can also be indexed like an object.
 *
 * @example
 * ```ts
 * import { TWILIO_TOKEN_ERROR_CODES } from 'token-warden/twilio';
 *
 * device.on('error', (err) => {
 *   const meaning = TWILIO_TOKEN_ERROR_CODES.get(err.code); // or TWILIO_TOKEN_ERROR_CODES[20104]
 *   if (meaning) console.warn(`Twilio token problem ${err.code}: ${meaning}`);
 * });
 * ```
 */
export const TWILIO_TOKEN_ERROR_CODES: TwilioTokenErrorTable = /* @__PURE__ */ new ReadonlyCodeTable(
  Object.entries(MEANINGS).map(([code, meaning]) => [Number(code), meaning] as const),
) as unknown as TwilioTokenErrorTable;

/**
 * True when `error` means "the access token is expired or invalid" in Twilio's terms, so fetching a new token is
 * the fix: a refreshable code (20101, 20104, 31204, 31205, 51207) in `code`, `twilioCode` or `errorCode` (numbers or
 * numeric strings), on the error itself or anywhere along its `cause` and `originalError` chains (the Voice SDK
 * wraps signaling errors in `originalError`; cycles are safe). Other token codes such as 20102 or 20157 are
 * `false`: a new token from the same server would be rejected the same way.
 *
 * This is exactly the Twilio half of `AccessManager.handleClientError`, which also accepts an HTTP 401, except
 * when a known non-refreshable code sits beside it (Twilio answers every authentication failure with 401).
 *
 * @example
 * ```ts
 * import { isTwilioTokenError } from 'token-warden/twilio';
 *
 * room.on('disconnected', async (_room, error) => {
 *   if (isTwilioTokenError(error)) room = await connect(await manager.refresh(), { name: roomName });
 * });
 * ```
 */
export function isTwilioTokenError(error: unknown): boolean {
  return refreshableCode(error) !== undefined;
}

/**
 * The first token-related Twilio code (any code of {@link TWILIO_TOKEN_ERROR_CODES}, refreshable or not) found
 * on `error` or along its `cause` and `originalError` chains, else `undefined`. Use it to tell a user-facing
 * "session expired" from a server misconfiguration such as 20157.
 *
 * @example
 * ```ts
 * const code = getTwilioTokenErrorCode(err);
 * if (code === 20157) reportToOps('token ttl above 24 h');
 * ```
 */
export function getTwilioTokenErrorCode(error: unknown): TwilioTokenErrorCode | undefined {
  return findTwilioCode(error, isKnownTokenCode) as TwilioTokenErrorCode | undefined;
}
