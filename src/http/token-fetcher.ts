import type { KyInstance, Options } from 'ky';
import { AccessManagerError } from '../errors.js';
import type { FetchContext, FetchResult } from '../types.js';
import { defaultKy } from './default-ky.js';
import { retryAfterMs } from './retry-after.js';
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
 * Options of {@link createTokenFetcher}: the installed ky's own options for the token request (`method`, `json`,
 * `headers`, `credentials`, `searchParams`, `hooks`, the base URL as `prefix` in ky 2 or `prefixUrl` in ky 1, ...)
 * plus `parse` and `ky`.
 *
 * `retry`, `timeout`, `totalTimeout` (ky 2) and `throwHttpErrors` are not accepted: the manager owns retries and
 * per-attempt timeouts, and it needs ky's `HTTPError` to tell a rejected session (401/403, fatal) from an outage
 * (5xx, retried).
 *
 * @example
 * ```ts
 * const options: TokenFetcherOptions = { method: 'post', json: { device: 'browser' }, credentials: 'include' };
 * ```
 */
export interface TokenFetcherOptions extends Omit<Options, 'retry' | 'timeout' | 'totalTimeout' | 'throwHttpErrors'> {
  /**
   * Reads the token from the response, for bodies the default reader does not understand. The `Date` header is
   * still used for `serverTime` unless you return one yourself.
   */
  parse?: TokenResponseParser;
  /**
   * The ky instance to send the request with (for its base URL, hooks, custom `fetch`). ky 1 (1.7 and later) or
   * ky 2. Default: `ky`.
   */
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

/** Three non-empty base64url parts: what the default reader passes on. Whether they decode, the manager checks. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Creates a `fetchToken` for `AccessManager` that asks your token endpoint with ky (1.7 and later, or 2).
 *
 * The request is sent with `retry: 0` and no timeout of ky's own (`timeout: false`, and `totalTimeout: false` in
 * ky 2): the manager retries with backoff and aborts slow attempts through the signal it passes, combined here
 * with one you give.
 *
 * The default reader accepts a JSON body `{ "token": "..." }`, `{ "accessToken": "..." }` or `{ "jwt": "..." }`
 * (a JSON string works too), or the bare JWT as `text/plain` (or `application/jwt`), trimmed. The response's
 * `Date` header becomes `serverTime`, so `clockSkew: 'auto'` corrects a wrong local clock; a cross-origin
 * endpoint must send `Access-Control-Expose-Headers: Date` for the browser to show it.
 *
 * Errors:
 * - An HTTP error status rejects with ky's `HTTPError`, whose `response.status` the manager reads: 401 and 403
 *   stop retries (`FETCH_UNAUTHORIZED`), anything else is retried (`FETCH_FAILED`).
 * - A 429 or 503 with a `Retry-After` header (seconds or an HTTP date) also gets `retryAfterMs` on that
 *   `HTTPError`: the wait asked for, between 0 and 10 minutes. The manager waits at least that long before its
 *   next attempt. A date is measured against the response's `Date` header, so a wrong local clock does not matter.
 * - A body the default reader cannot take a JWT from rejects with an `AccessManagerError` `TOKEN_MALFORMED` whose
 *   message says why: JSON without any of the token keys, JSON that does not parse, or text that is not shaped
 *   like a JWT (empty, an HTML error or login page, JSON sent as `text/plain`, a `Bearer ` prefix, ...). Messages
 *   never contain the body or any part of it. A JWT-shaped text that does not decode is the manager's to report
 *   (also `TOKEN_MALFORMED`).
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
    // Declared apart, not inline: ky 1's types lack `totalTimeout` (ky 1 hands it to `fetch`, which ignores it).
    const attempt = {
      ...kyOptions,
      retry: 0,
      timeout: false,
      totalTimeout: false,
      throwHttpErrors: true,
      signal: combined.signal,
    } as const;
    try {
      const response = await instance(isRequest ? input.clone() : input, attempt);
      return withServerTime(await parse(response), response);
    } catch (error) {
      throw withRetryAfter(error);
    } finally {
      combined.dispose();
    }
  };
}

/** Adds `retryAfterMs` to ky's `HTTPError` for a 429 or 503 that says when to come back. */
function withRetryAfter(error: unknown): unknown {
  // By name and shape, like ky's own `isHTTPError`: the class differs between ky copies and realms.
  const { name, response } = (error ?? {}) as { name?: unknown; response?: Partial<Response> };
  if (name !== 'HTTPError' || typeof response?.status !== 'number' || typeof response.headers?.get !== 'function') {
    return error;
  }
  const ms = retryAfterMs(response as Response);
  if (ms !== undefined) (error as { retryAfterMs?: number }).retryAfterMs = ms;
  return error;
}

/** The default body reader described on {@link createTokenFetcher}. */
async function readTokenBody(response: Response): Promise<FetchResult> {
  const contentType = response.headers.get('content-type') ?? '';
  const text = (await response.text()).trim();
  // Some frameworks label JSON as text/html or send no type at all; a JWT never starts with `{` or `"`.
  const isJson = /[/+]json\b/i.test(contentType) || (!/^text\/plain\b/i.test(contentType) && /^[{"]/.test(text));
  const sent = sentAs(contentType, text);
  if (!isJson) return jwt(text, 'is not a JWT', sent);

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw noToken(`is not valid JSON${sent}`);
  }
  if (typeof body === 'string') return jwt(body.trim(), 'is a JSON string that is not a JWT', sent);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw noToken(`is JSON but not an object with a "token", "accessToken" or "jwt" field${sent}`);
  }
  for (const key of TOKEN_KEYS) {
    const value = (body as Record<string, unknown>)[key];
    if (typeof value === 'string') return jwt(value.trim(), `has a "${key}" field that is not a JWT`, sent);
  }
  // Naming keys the reader chose, never the body's own content.
  const looksLikeError = ['error', 'errors', 'message'].some((key) => key in body);
  throw noToken(
    `has no string "token", "accessToken" or "jwt" field${looksLikeError ? ' (it looks like an error answer)' : ''}; ` +
      `pass \`parse\` to read another shape${sent}`,
  );
}

/** `value` when it is shaped like a JWT, else TOKEN_MALFORMED saying what it looks like instead. */
function jwt(value: string, problem: string, sent: string): string {
  if (JWT_SHAPE.test(value)) return value;
  throw noToken(`${problem}: ${lookalike(value)}${sent}`);
}

/** A hint at what a non-JWT text is, from its form only. */
function lookalike(text: string): string {
  if (text === '') return 'it is empty';
  if (text.startsWith('<')) return 'it looks like HTML, perhaps an error or login page';
  if (/^[{[]/.test(text)) return 'it looks like JSON sent as text/plain';
  if (/^bearer\s/i.test(text)) return 'it starts with "Bearer "; send the bare token';
  if (/\s/.test(text)) return 'it contains spaces or line breaks';
  const parts = text.split('.').length;
  if (parts !== 3) return `it has ${parts} dot-separated part${parts === 1 ? '' : 's'}, a JWT has 3`;
  return 'a JWT has three non-empty base64url parts';
}

/** ` (content-type text/html, 1523 characters)`: what was sent, without what it said. */
function sentAs(contentType: string, text: string): string {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const shownType = /^[\w.+-]+\/[\w.+-]+$/.test(type) ? `content-type ${type}` : 'no usable content-type';
  return ` (${shownType}, ${text.length} characters)`;
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
