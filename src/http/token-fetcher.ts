import type { KyInstance, Options } from 'ky';
import { AccessManagerError } from '../errors.js';
import type { FetchContext, FetchResult } from '../types.js';
import { defaultKy } from './default-ky.js';
import { abortReason, anySignal } from './signal.js';

/**
 * Where the token endpoint is: a URL string (relative URLs resolve against the page), a `URL`, or a `Request`.
 *
 * @example
 * ```ts
 * const input: TokenFetcherInput = new Request('/api/token', { method: 'POST', body: new FormData(form) });
 * ```
 */
export type TokenFetcherInput = string | URL | Request;

/**
 * Turns the token endpoint's response into a token, optionally with the server's time. Only called for a
 * successful status; what it throws is reported by the manager as `FETCH_FAILED` (and retried).
 *
 * @example
 * ```ts
 * const parse: TokenResponseParser = async (response) => {
 *   const body = (await response.json()) as { result: { token: string; now: string } };
 *   return { token: body.result.token, serverTime: new Date(body.result.now) };
 * };
 * ```
 */
export type TokenResponseParser = (response: Response) => Promise<FetchResult>;

/**
 * Options of {@link createTokenFetcher}: ky's own options for the token request (`method`, `json`, `headers`,
 * `credentials`, `searchParams`, `prefixUrl`, `hooks`, ...) plus `parse` and `ky`.
 *
 * `retry`, `timeout` and `throwHttpErrors` are not accepted: the manager owns retries and per-attempt timeouts,
 * and it needs ky's `HTTPError` to tell a rejected session (401/403, fatal) from an outage (5xx, retried).
 */
export interface TokenFetcherOptions extends Omit<Options, 'retry' | 'timeout' | 'throwHttpErrors'> {
  /**
   * Reads the token from the response, for bodies the default reader does not understand. The `Date` header is
   * still used for `serverTime` unless you return one yourself.
   */
  parse?: TokenResponseParser;
  /** The ky instance to send the request with (for its `prefixUrl`, hooks, custom `fetch`). Default: `ky`. */
  ky?: KyInstance;
}

/**
 * What the fetcher returned by {@link createTokenFetcher} resolves with: always an object, so `serverTime` can
 * ride along.
 *
 * @example
 * ```ts
 * // Outside a manager, e.g. to get a token for a one-off call:
 * const { token } = await fetchToken({ signal: AbortSignal.timeout(5000), reason: 'manual', attempt: 1 });
 * ```
 */
export interface TokenFetcherResult {
  token: string;
  /** From the response's `Date` header (ms since the epoch), or from `parse`; absent when neither has one. */
  serverTime?: number | Date;
}

/** Body keys the default reader looks for, in this order. */
const TOKEN_KEYS = ['token', 'accessToken', 'jwt'] as const;

/**
 * Creates a `fetchToken` for `AccessManager` that asks your token endpoint with ky.
 *
 * The request is sent with `retry: 0` and `timeout: false` (the manager retries with backoff and aborts slow
 * attempts through the signal it passes) and with the manager's `signal`, combined with one you give.
 *
 * The default reader accepts a JSON body `{ "token": "..." }`, `{ "accessToken": "..." }` or `{ "jwt": "..." }`
 * (a JSON string works too), or the bare JWT as `text/plain` (or `application/jwt`), trimmed. The response's
 * `Date` header becomes `serverTime`, so `clockSkew: 'auto'` corrects a wrong local clock; a cross-origin
 * endpoint must send `Access-Control-Expose-Headers: Date` for the browser to show it.
 *
 * Errors: an HTTP error status rejects with ky's `HTTPError`, whose `response.status` the manager reads: 401 and
 * 403 stop retries (`FETCH_UNAUTHORIZED`), anything else is retried (`FETCH_FAILED`). A JSON body without any of
 * the token keys, or that does not parse, rejects with an `AccessManagerError` `TOKEN_MALFORMED`; a text body
 * is returned as it is and the manager reports `TOKEN_MALFORMED` when it does not decode. No message contains
 * the body.
 *
 * @param input - The token endpoint. A `Request` is cloned for every attempt, so its body can be sent again.
 * @param options - ky options for the token request, plus `parse` and `ky`.
 * @returns A function to pass as the manager's `fetchToken`.
 *
 * @example
 * ```ts
 * import { AccessManager } from 'token-warden';
 * import { createTokenFetcher } from 'token-warden/http';
 *
 * const manager = new AccessManager({
 *   fetchToken: createTokenFetcher('/api/twilio-token', {
 *     method: 'post',
 *     json: { device: 'browser' },
 *     credentials: 'include', // the session cookie is what proves who is asking
 *   }),
 * });
 * ```
 *
 * @example
 * ```ts
 * // An endpoint that answers { "data": { "jwt": "..." } }
 * const fetchToken = createTokenFetcher('/graphql-token', {
 *   parse: async (response) => ((await response.json()) as { data: { jwt: string } }).data.jwt,
 * });
 * ```
 */
export function createTokenFetcher(
  input: TokenFetcherInput,
  options: TokenFetcherOptions = {},
): (context: FetchContext) => Promise<TokenFetcherResult> {
  const { parse = readTokenBody, ky: instance = defaultKy, signal: ownSignal, ...kyOptions } = options;

  return async ({ signal }) => {
    // Older ky versions only listen for a later abort, so an attempt the manager already gave up must stop here.
    if (signal.aborted) throw abortReason(signal);
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    // ky prefers an explicit `signal` over the Request's own, so the caller's signals must be folded in here.
    const combined = anySignal([signal, ownSignal, isRequest ? input.signal : undefined]);
    try {
      const response = await instance(isRequest ? input.clone() : input, {
        ...kyOptions,
        retry: 0,
        timeout: false,
        throwHttpErrors: true,
        signal: combined.signal,
      });
      return withServerTime(await parse(response), response);
    } finally {
      combined.dispose();
    }
  };
}

/** The default body reader described on {@link createTokenFetcher}. */
async function readTokenBody(response: Response): Promise<FetchResult> {
  const contentType = response.headers.get('content-type') ?? '';
  const text = (await response.text()).trim();
  // Some frameworks label JSON as text/html or send no type at all; a JWT never starts with `{` or `"`.
  const isJson = /[/+]json\b/i.test(contentType) || (!/^text\/plain\b/i.test(contentType) && /^[{"]/.test(text));
  if (!isJson) return text;

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw noToken('is not valid JSON');
  }
  if (typeof body === 'string') return body.trim();
  if (typeof body === 'object' && body !== null) {
    for (const key of TOKEN_KEYS) {
      const value = (body as Record<string, unknown>)[key];
      if (typeof value === 'string') return value.trim();
    }
  }
  throw noToken(`has no string "token", "accessToken" or "jwt" field`);
}

function noToken(problem: string): AccessManagerError {
  // The body is left out on purpose: it may hold a token or other secrets and messages end up in logs.
  return new AccessManagerError('TOKEN_MALFORMED', `Token endpoint response ${problem}.`);
}

function withServerTime(result: FetchResult, response: Response): TokenFetcherResult {
  const fromHeader = Date.parse(response.headers.get('date') ?? '');
  const serverTime = Number.isFinite(fromHeader) ? fromHeader : undefined;
  if (typeof result === 'string') return serverTime === undefined ? { token: result } : { token: result, serverTime };
  // A custom `parse` may return anything at run time; the manager validates it and reports TOKEN_MALFORMED.
  if (typeof result !== 'object' || result === null || result.serverTime !== undefined || serverTime === undefined) {
    return result as TokenFetcherResult;
  }
  return { ...result, serverTime };
}
