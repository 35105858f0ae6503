import type { KyInstance, Options } from 'ky';
import { defaultKy } from './default-ky.js';
import { endRetries, hookState, replayable, type HookOptions } from './ky-compat.js';
import { untilAborted } from './signal.js';

/**
 * What {@link authorizedKy} needs from a token manager. `AccessManager` fits it; so does any object with the
 * same three members (a test double, a wrapper).
 *
 * A structural type on purpose: naming the class here would copy its declaration, private members included, into
 * this entry's bundled `.d.ts`, and TypeScript would then refuse the real `AccessManager` as "a different class".
 *
 * @example
 * ```ts
 * // A fixed token for a test or a server-rendered page: no refresh possible, a 401 goes to the caller.
 * const fixed: TokenProvider = { token, getToken: async () => token, refresh: async () => token };
 * const api = authorizedKy(fixed);
 * ```
 */
export interface TokenProvider {
  /** The token the manager holds now, or `undefined` before the first one. */
  readonly token: string | undefined;
  /** A token that is not expired: the current one, or a fetched one. */
  getToken(): Promise<string>;
  /** Fetch a new token now; concurrent calls share one fetch. */
  refresh(): Promise<string>;
}

// Carried in ky's `context` option of the one retry. Our hooks are not on the instance that sends it, but
// `instance` may itself be an authorized one; the flag stops every layer from retrying a retry.
const RETRY_MARK = 'tokenWardenRetry';

/**
 * Extends a ky instance so every request carries `Authorization: Bearer <token>` from `manager`, and a 401 is
 * answered by one retry with a fresh token. Works with ky 1 (1.7 and later) and ky 2.
 *
 * - Before each request, ky's own retries included, it sets the header to `await manager.getToken()`, which
 *   fetches a token first when the current one is missing or expired.
 * - On a 401 it sends the request again, exactly once, whatever the instance's `retry` settings: if the request
 *   carried the manager's current token it awaits `manager.refresh()` (single-flight, so many calls failing
 *   together cause one token fetch); if the manager already has another token (someone refreshed meanwhile) it
 *   uses that one. The retry is sent through `instance` with the same options (its hooks and `timeout` apply,
 *   its `retry` does not; ky 2 does not show hooks a call's own `timeout` or `fetch`, so there the instance's
 *   apply). When the retry answers 401 again, or no fresh token can be had (for example the token endpoint
 *   answered 401 too: the session is over), the caller gets ky's `HTTPError` with status 401 as usual. A body
 *   that cannot be sent twice (a stream ky has already read) is not retried: the 401 goes to the caller.
 * - An error from the manager before the request is sent (no token to be had: `FETCH_UNAUTHORIZED` in state
 *   `failed`, `DISPOSED`, ...) rejects the call with that `AccessManagerError` at once, after that one attempt:
 *   ky does not retry it, whatever the instance's `retry` settings.
 * - Aborting the request's `signal` also stops it waiting for a token. While the token endpoint is down the
 *   manager keeps retrying and a call waits with it (ky's `timeout` covers only the HTTP exchange), so give calls
 *   a `signal` such as `AbortSignal.timeout(15_000)` where a bounded wait matters.
 *
 * If you add 401 to the instance's `retry.statusCodes`, ky itself retries the whole call too, so leave it out.
 * The one retry is not ky 2's `ky.retry()`: that counts against the instance's `retry.limit` (none with
 * `retry: 0`) and waits for its backoff delay first.
 *
 * @param manager - An `AccessManager`, or anything shaped like {@link TokenProvider}.
 * @param instance - The ky instance to extend, with your base URL (`prefix` in ky 2, `prefixUrl` in ky 1), hooks
 *   and retry settings. Default: `ky`.
 * @returns A new ky instance; `instance` itself is not changed.
 *
 * @example
 * ```ts
 * import ky from 'ky';
 * import { authorizedKy } from 'token-warden/http';
 *
 * // ky 2; with ky 1 the option is called `prefixUrl`.
 * const api = authorizedKy(manager, ky.create({ prefix: 'https://api.example.com/v1' }));
 * const rooms = await api.get('rooms').json<Room[]>();
 * ```
 */
export function authorizedKy(manager: TokenProvider, instance: KyInstance = defaultKy): KyInstance {
  // Errors of `manager.getToken()` thrown by our beforeRequest hook, for the ky 1 safety net in beforeRetry.
  const tokenErrors = new WeakSet<object>();
  const authorize = async (request: Request) => {
    request.headers.set('authorization', `Bearer ${await untilAborted(manager.getToken(), request.signal)}`);
  };

  // Hooks take `...args` and read them through `hookState`: ky 1 passes positional arguments, ky 2 one object.
  return instance.extend({
    hooks: {
      beforeRequest: [
        async (...args: unknown[]) => {
          const { request, options, positional } = hookState(args);
          try {
            await authorize(request);
          } catch (error) {
            if (positional) {
              endRetries(options);
              if (typeof error === 'object' && error !== null) tokenErrors.add(error);
            }
            throw error;
          }
        },
      ],
      beforeRetry: [
        // ky 2 does not run beforeRequest hooks again for its own retries (of a 5xx, say); the token may have
        // changed during ky's backoff, so the retry gets the manager's token of now. (ky 1 runs both.)
        async (...args: unknown[]) => {
          const { request, error } = hookState(args);
          if (typeof error === 'object' && error !== null && tokenErrors.has(error)) throw error;
          await authorize(request);
        },
      ],
      afterResponse: [
        async (...args: unknown[]) => {
          const { request, options, response } = hookState(args);
          if (response?.status !== 401 || isRetry(options)) return;
          const replay = replayable(request, options);
          if (replay === undefined) return;
          const token = await freshToken(manager, bearerToken(request), request.signal);
          if (token === undefined) return;
          return instance(replay, retryOptions(options, request, token));
        },
      ],
    },
  });
}

/** The token to retry with, or `undefined` when there is none to be had (the original 401 then stands). */
async function freshToken(
  manager: TokenProvider,
  sent: string | undefined,
  signal: AbortSignal,
): Promise<string | undefined> {
  try {
    // The provider may be the app's own object: a getter or method that throws counts as "no fresh token" too.
    const current = manager.token;
    // Only a 401 for the token the manager still holds proves that token bad; for an older one, the newer is the fix.
    const renewal = sent !== undefined && sent === current ? manager.refresh() : manager.getToken();
    return await untilAborted(renewal, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    // The manager reports its own failure through its `error` event; the caller learns of it by the 401.
    return undefined;
  }
}

function bearerToken(request: Request): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '')?.[1];
}

function isRetry(options: HookOptions): boolean {
  return options.context?.[RETRY_MARK] === true;
}

/**
 * Options for the retry, from the normalized options of the first attempt. Everything already built into the
 * request (body, query string, base URL, method) is left out or cleared, or the instance's defaults would apply it
 * a second time; `hooks` is left out so ky versions that hand hooks to hooks never see ours, and `prefixUrl`
 * because ky 2 refuses it.
 */
function retryOptions(options: HookOptions, request: Request, token: string): Options {
  const {
    hooks,
    json,
    body,
    searchParams,
    prefixUrl,
    prefix,
    baseUrl,
    headers,
    retry,
    throwHttpErrors,
    onDownloadProgress,
    onUploadProgress,
    context,
    ...rest
  } = options;
  return {
    ...rest,
    method: request.method,
    headers: { authorization: `Bearer ${token}` },
    json: undefined,
    body: undefined,
    searchParams: undefined,
    retry: 0,
    // The outer call turns this response into HTTPError (or retries a 5xx) with its own settings and hooks.
    throwHttpErrors: false,
    context: { ...context, [RETRY_MARK]: true },
  };
}
