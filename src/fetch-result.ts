// Reading what a fetcher resolved with. It comes from the app's code and may be anything: a token, `{ token,
// serverTime }`, an error page read as text, an object with throwing getters. Whatever is wrong is a Refusal whose
// message says what the value looks like and the likely fix, without quoting any of it.
import { Refusal } from './classify.js';
import { read } from './client-error.js';
import { type DecodedToken, decodeOrWhy } from './decode.js';
import { serverTimeOf } from './skew.js';

/** A fetched token, decoded, with the server's time if the fetcher gave a valid one. */
export interface FetchedToken {
  token: string;
  decoded: DecodedToken;
  serverTime: number | undefined;
}

/** @throws Refusal `TOKEN_MALFORMED` when `result` is not a decodable token or `{ token }`. */
export function readFetchResult(result: unknown): FetchedToken {
  // null too is read (read() gives undefined for it, refused below like any value without a token).
  const token = typeof result === 'object' ? read(result, 'token') : result;
  if (typeof token !== 'string') {
    throw new Refusal('TOKEN_MALFORMED', 'fetchToken returned neither a string nor { token: string }.');
  }
  const decoded = decodeOrWhy(token);
  if (typeof decoded === 'string') {
    throw new Refusal('TOKEN_MALFORMED', `Fetched token is malformed: ${decoded}${malformedHint(token)}.`);
  }
  // A bare token has no serverTime: read() gives undefined for a string, and serverTimeOf keeps it.
  return { token, decoded, serverTime: serverTimeOf(read(result, 'serverTime')) };
}

/** What a malformed fetched value most likely is, and the fix, without quoting any of it. */
function malformedHint(text: string): string {
  // What it begins with after whitespace (\s is exactly what trimStart() would drop).
  if (/^\s*$/.test(text)) return '; the response is empty';
  if (/^\s*</.test(text)) return '; an HTML page? check the URL and response.ok';
  if (/^\s*[[{"]/.test(text)) return '; JSON? return its token, not the whole body';
  return '';
}

/**
 * A fetched token that is already expired, by `byMs`. With the server's time known it is an old token (a cached
 * response); without, the likelier cause is this machine's clock being ahead, and the fix is to pass `serverTime`.
 */
export function expiredRefusal(byMs: number, serverTimeKnown: boolean): Refusal {
  const by = byMs < 120_000 ? `${Math.round(byMs / 1000)} s` : `${Math.round(byMs / 60_000)} min`;
  return new Refusal(
    'TOKEN_EXPIRED',
    serverTimeKnown
      ? `Fetched token expired ${by} ago, by the server's clock too (a cached response?).`
      : `Fetched token expired ${by} ago by this clock; if it is new, this clock is ahead: return serverTime from fetchToken.`,
  );
}
