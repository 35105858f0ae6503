import { EventEmitter } from 'eventemitter3';
import { classifyFailure, Refusal } from './classify.js';
import { CLIENT_EVENT, findTwilioCode, isKnownTokenCode, isTokenError, read, refreshableCode } from './client-error.js';
import { realClock } from './clock.js';
import { type CrossTabLink, openCrossTab } from './cross-tab.js';
import { type DecodedToken, decodeOrWhy, decodeToken } from './decode.js';
import { AccessManagerError, type AccessManagerErrorCode } from './errors.js';
import { FanOut } from './fan-out.js';
import { DEFAULT_RETRY, type RetryPolicy, backoffCap, retryDelay } from './retry.js';
import { Scheduler, watchWindow } from './scheduler.js';
import type {
  AccessManagerEvents,
  AccessManagerOptions,
  AccessManagerState,
  ClientOptions,
  Clock,
  FetchReason,
  FetchResult,
  TokenClient,
  TokenFetcher,
  TokenSource,
} from './types.js';

/** How long a tab without a token waits for a peer's answer before fetching one itself. */
const PEER_WAIT_MS = 200;
/** Skew measurements below this are noise (network latency, second-granular `iat`). */
const MIN_SKEW_MS = 1000;
/**
 * A client's token error within this long of the last refresh a client caused counts as "the fresh token was
 * rejected too": a new token did not help, so the next one waits for the backoff (also across tabs, where the
 * fresh token may have come from a peer).
 */
const CLIENT_REJECT_WINDOW_MS = 60_000;
/** A token without `iat` is assumed to live at most this long (Twilio's maximum) when judging a `serverTime`. */
const MAX_LIFETIME_MS = 86_400_000;

/** The token the manager holds, and which of its once-per-token events have fired. */
interface Held {
  token: string;
  decoded: DecodedToken;
  /** `exp` in ms (server time). */
  exp: number;
  aboutFired: boolean;
  expiredFired: boolean;
  /** The constructor's token was already expired: report `TOKEN_EXPIRED` before its events. */
  expiredAtStart?: boolean;
}

/**
 * Refreshes caused by clients (their token errors, their own token events): at most one at once per held token;
 * when a fresh token is rejected again, the next refresh waits for the backoff schedule, so a server that refuses
 * every token cannot make the manager fetch in a loop.
 */
interface ClientGuard {
  /** The held token a client refresh was already made for. */
  spent: string | undefined;
  /** Local time of the last refresh a client caused. */
  lastAt: number;
  /** Rejections in a row of tokens that a client refresh had just brought. */
  streak: number;
  /** Local time of the held-back refresh, while waiting out the backoff, and its reason. */
  retryAt: number | undefined;
  reason: 'client' | 'clientError';
  /** A client's report that arrived while a refresh that already delivered a new token was finishing. */
  late: (() => void) | undefined;
}

/** One refresh: possibly several attempts, shared by every caller (single-flight). */
interface Cycle {
  promise: Promise<string>;
  resolve: (token: string) => void;
  reject: (error: AccessManagerError) => void;
  reason: FetchReason;
  /** Attempts started so far. */
  attempts: number;
  /** The held token when the refresh began: a different one arriving meanwhile may make fetching unnecessary. */
  startToken: string | undefined;
  /** Aborts the attempt in flight (timeout, dispose). */
  controller?: AbortController | undefined;
  /** Local time at which the attempt in flight times out. */
  timeoutAt?: number | undefined;
  /** Local time of the next attempt while waiting out a backoff. */
  retryAt?: number | undefined;
  /** The attempt waits for the cross-tab lock. */
  queued?: boolean;
}

const failure = (code: AccessManagerErrorCode, message: string): AccessManagerError => new AccessManagerError(code, message);

const disposedError = (): AccessManagerError => failure('DISPOSED', 'AccessManager is disposed.');

const noop = (): void => {};

// --- option validation: once, in the constructor, naming the option (TypeError for types, RangeError for values)

/** `<name> must be <what>.`: one wording for every invalid option keeps the messages uniform (and the bundle small). */
const invalid = (name: string, what: string, range?: boolean): Error =>
  new (range ? RangeError : TypeError)(`${name} must be ${what}.`);

/** `value[key]` of an options object; a getter that throws is reported as a TypeError naming the option. */
function option(value: object, key: string, name = key): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    throw invalid(name, 'readable (its getter threw)');
  }
}

function checkNumber(name: string, value: unknown, fallback: number, positive: boolean, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalid(name, 'a number');
  if (!Number.isFinite(value) || value < min || (positive && value === 0)) {
    throw invalid(name, `finite and ${positive ? '> 0' : `>= ${min}`}`, true);
  }
  return value;
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean');
  return value;
}

function checkRetry(value: unknown): RetryPolicy | false {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_RETRY;
  if (typeof value !== 'object' || value === null) throw invalid('retry', 'an object or false');
  const field = (key: string) => option(value, key, `retry.${key}`);
  const minDelayMs = checkNumber('retry.minDelayMs', field('minDelayMs'), DEFAULT_RETRY.minDelayMs, false);
  const maxDelayMs = checkNumber('retry.maxDelayMs', field('maxDelayMs'), Math.max(DEFAULT_RETRY.maxDelayMs, minDelayMs), false);
  if (maxDelayMs < minDelayMs) throw invalid('retry.maxDelayMs', '>= retry.minDelayMs', true);
  return { minDelayMs, maxDelayMs, factor: checkNumber('retry.factor', field('factor'), DEFAULT_RETRY.factor, false, 1) };
}

function checkCrossTab(value: unknown): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'default';
  const name = typeof value === 'object' && value !== null ? option(value, 'name', 'crossTab.name') : undefined;
  if (typeof value !== 'object' || typeof name !== 'string') throw invalid('crossTab', 'a boolean or { name: string }');
  if (name === '') throw invalid('crossTab.name', 'non-empty', true);
  return name;
}

/** A fetcher's `serverTime` in ms, when it is a finite number or a valid `Date` (also from another realm). */
function serverTimeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  try {
    const ms = Object.prototype.toString.call(value) === '[object Date]' ? Date.prototype.getTime.call(value) : NaN;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/**
 * False for a server time that cannot be right for `decoded`: further from the token's own `iat`..`exp` than the
 * token's lifetime (a `serverTime` of 0 or `null` read as the epoch, a peer's absurd skew). Such a time would make
 * the token look valid for decades, or expired at once.
 */
function plausible(decoded: DecodedToken, serverTime: number): boolean {
  const exp = decoded.expiresAt.getTime();
  const iat = decoded.issuedAt?.getTime();
  const lifetime = iat !== undefined && iat < exp ? exp - iat : MAX_LIFETIME_MS;
  return serverTime >= (iat ?? exp) - lifetime && serverTime <= exp + lifetime;
}

function checkClock(value: unknown): Clock {
  if (value === undefined) return realClock;
  const clock = typeof value === 'object' && value !== null ? value : {};
  const [now, setTimeout, clearTimeout, random] = ['now', 'setTimeout', 'clearTimeout', 'random'].map((key) =>
    option(clock, key, `clock.${key}`),
  );
  if (typeof now !== 'function' || typeof setTimeout !== 'function' || typeof clearTimeout !== 'function') {
    throw invalid('clock', 'a { now, setTimeout, clearTimeout } object');
  }
  if (random !== undefined && typeof random !== 'function') throw invalid('clock.random', 'a function');
  return clock as Clock;
}

/**
 * Owns the lifecycle of one short-lived JWT access token shared by several SDK clients and your HTTP calls: it
 * schedules `tokenAboutToExpire` and `tokenExpired` from the token's `exp` (on wall-clock deadlines that survive
 * throttled tabs and sleep, corrected for clock skew), fetches a new token through your `fetchToken` with
 * single-flight and backoff, and pushes every new token to each registered client's `updateToken`.
 *
 * @example
 * ```ts
 * const manager = new AccessManager({
 *   fetchToken: async ({ signal }) => (await fetch('/token', { signal })).text(),
 * });
 * manager.on('error', (err) => console.warn(err.code));
 * const chat = new Client(await manager.getToken());
 * manager.addClient(chat, { name: 'chat', grants: ['chat'] });
 * ```
 */
export class AccessManager extends EventEmitter<AccessManagerEvents> {
  readonly #fetcher: TokenFetcher | undefined;
  readonly #aboutMs: number;
  readonly #autoRefresh: boolean;
  readonly #fetchTimeoutMs: number;
  readonly #retry: RetryPolicy | false;
  readonly #fixedSkew: number | undefined;
  readonly #allowIdentityChange: boolean;
  readonly #identity: string | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #scheduler: Scheduler;
  readonly #fanOut: FanOut;
  readonly #unwatch: () => void;
  readonly #link: CrossTabLink | undefined;

  #held: Held | undefined;
  #skew = 0;
  #cycle: Cycle | undefined;
  #failed = false;
  #disposed = false;
  /** Pending while a new tab without a token waits for its peers. */
  #starting: Promise<void> | undefined;
  /** Fetched tokens in a row that were already inside the about-to-expire window (storm guard). */
  #shortStreak = 0;
  /** Earliest local time for the next automatic refresh while the storm guard holds it back. */
  #autoRefreshAt: number | undefined;
  readonly #guard: ClientGuard = {
    spent: undefined,
    lastAt: -Infinity,
    streak: 0,
    retryAt: undefined,
    reason: 'clientError',
    late: undefined,
  };
  /** The client fan-out of the newest adopted token: what `updateToken` waits for, whichever token is newest. */
  #delivered: Promise<void> = Promise.resolve();

  /**
   * @throws TypeError or RangeError naming the option when an option is invalid; {@link AccessManagerError}
   * `TOKEN_MALFORMED` when `token` cannot be decoded, `IDENTITY_MISMATCH` when it is for another identity than
   * the `identity` option. An expired `token` does not throw: `error` with `TOKEN_EXPIRED` fires right after
   * construction, then its `tokenAboutToExpire` and `tokenExpired`, and, with a fetcher, a refresh starts.
   */
  constructor(options: AccessManagerOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw invalid('options', 'an object');
    // Each option is read once, here: a getter cannot answer differently later, and one that throws is named.
    const get = <K extends keyof AccessManagerOptions>(key: K) => option(options, key) as AccessManagerOptions[K];
    const token = get('token');
    const fetchToken = get('fetchToken');
    if (token !== undefined && typeof token !== 'string') throw invalid('token', 'a string');
    if (fetchToken !== undefined && typeof fetchToken !== 'function') throw invalid('fetchToken', 'a function');
    if (token === undefined && fetchToken === undefined) throw new TypeError('token or fetchToken is required.');
    this.#fetcher = fetchToken;
    this.#aboutMs = checkNumber('aboutToExpireMs', get('aboutToExpireMs'), 180_000, false);
    this.#autoRefresh = checkBoolean('autoRefresh', get('autoRefresh'), fetchToken !== undefined);
    this.#fetchTimeoutMs = checkNumber('fetchTimeoutMs', get('fetchTimeoutMs'), 10_000, true);
    this.#retry = checkRetry(get('retry'));
    const clientTimeoutMs = checkNumber('clientTimeoutMs', get('clientTimeoutMs'), 10_000, true);
    const skewOption = get('clockSkew');
    const skew = skewOption === undefined ? 'auto' : skewOption;
    if (skew !== 'auto' && typeof skew !== 'number') throw invalid('clockSkew', "'auto' or a number");
    if (typeof skew === 'number' && !Number.isFinite(skew)) throw invalid('clockSkew', 'finite', true);
    this.#fixedSkew = skew === 'auto' ? undefined : skew;
    this.#skew = this.#fixedSkew ?? 0;
    this.#allowIdentityChange = checkBoolean('allowIdentityChange', get('allowIdentityChange'), false);
    const identity = get('identity');
    if (identity !== undefined && typeof identity !== 'string') throw invalid('identity', 'a string');
    this.#identity = identity;
    const crossTab = checkCrossTab(get('crossTab'));
    const clock = (this.#clock = checkClock(get('clock')));
    this.#random = clock.random ? () => clock.random!() : () => Math.random();

    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (identity !== undefined && decoded.identity !== identity) {
        throw failure('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.');
      }
      this.#skew = this.#learnSkew(decoded);
      const held: Held = { token, decoded, exp: decoded.expiresAt.getTime(), aboutFired: false, expiredFired: false };
      held.expiredAtStart = this.#serverNow() >= held.exp;
      this.#held = held;
    }

    this.#scheduler = new Scheduler(this.#clock, () => this.#tick());
    this.#fanOut = new FanOut(this.#clock, clientTimeoutMs, (error) => this.#fire('error', error));
    this.#unwatch = watchWindow((type) => this.#wake(type));
    this.#link =
      crossTab === undefined
        ? undefined
        : openCrossTab(
            crossTab,
            this.#clock,
            (peerToken, peerSkew) => this.#receivePeer(peerToken, peerSkew),
            () => this.#shareableToken(),
            () => this.#skew,
          );
    // How `token-warden/twilio` (bundled apart, without this class) reports an SDK's own token event: a refresh
    // with the reason `'client'`, under the client guard. Not enumerable and not typed: not public API.
    Object.defineProperty(this, CLIENT_EVENT, { value: () => this.#clientRefresh('client', undefined, undefined) });

    if (this.#held?.expiredAtStart) {
      // Report it as soon as the caller has attached listeners: a microtask after `new` returns.
      queueMicrotask(() => this.#tick());
    } else if (this.#held) {
      this.#reschedule();
    } else if (this.#link) {
      this.#starting = this.#link.ask(PEER_WAIT_MS, () => this.#held !== undefined).then((answered) => {
        this.#starting = undefined;
        if (!answered && !this.#held && !this.#disposed) this.#startCycle('initial');
      });
    } else {
      this.#startCycle('initial');
    }
  }

  // --- getters

  /** The current token, or `undefined` before the first one arrives. */
  get token(): string | undefined {
    return this.#held?.token;
  }

  /** Expiry of the current token (server time, from `exp`). */
  get expiresAt(): Date | undefined {
    return this.#held ? new Date(this.#held.exp) : undefined;
  }

  /** `grants.identity` (or `sub`) of the current token. */
  get identity(): string | undefined {
    return this.#held?.decoded.identity;
  }

  /** `grants` of the current token (`{}` when there is none). */
  get grants(): Record<string, unknown> {
    return this.#held?.decoded.grants ?? {};
  }

  /** True when there is no token or it is expired, judged on the skew-corrected clock. */
  get isExpired(): boolean {
    return !this.#held || this.#serverNow() >= this.#held.exp;
  }

  /**
   * `idle` (no token yet), `valid`, `aboutToExpire`, `refreshing` (an attempt is in flight), `expired`, `failed`
   * (the token endpoint said 401/403: stays until `refresh()` or `updateToken()`), `disposed`.
   * While waiting out a retry backoff the state is the token's own (`aboutToExpire`, `expired` or `idle`).
   */
  get state(): AccessManagerState {
    if (this.#disposed) return 'disposed';
    if (this.#failed) return 'failed';
    if (this.#cycle?.controller) return 'refreshing';
    if (!this.#held) return 'idle';
    const now = this.#serverNow();
    if (now >= this.#held.exp) return 'expired';
    return now >= this.#held.exp - this.#aboutMs ? 'aboutToExpire' : 'valid';
  }

  // --- public methods

  /**
   * Adopts a token your app obtained itself and pushes it to every client. Rejects, changing nothing, with the
   * first that applies of `TOKEN_MALFORMED`, `TOKEN_EXPIRED`, `IDENTITY_MISMATCH`, `TOKEN_STALE` (its `exp` is
   * earlier than the current one's). The same token again is a no-op. Resolves when every client has settled.
   *
   * @example
   * ```ts
   * manager.on('tokenAboutToExpire', async () => manager.updateToken(await myLogin.getToken()));
   * ```
   */
  async updateToken(token: string): Promise<void> {
    this.#assertAlive();
    const decoded = decodeToken(token);
    if (token === this.#held?.token) return;
    const skew = this.#learnSkew(decoded);
    const problem = this.#validate(decoded, skew, 'Token');
    if (problem) throw new AccessManagerError(problem.code, problem.message);
    await this.#adopt(token, decoded, 'manual', skew);
  }

  /**
   * Fetches a new token now. Concurrent calls share one fetch. Resolves with the manager's token once the fetched
   * one is adopted, without waiting for the clients. Rejects with the final {@link AccessManagerError} when
   * retries are off or the failure is final (`FETCH_UNAUTHORIZED`, `IDENTITY_MISMATCH`); `NO_FETCHER` without
   * `fetchToken`.
   *
   * @example
   * ```ts
   * button.onclick = () => manager.refresh().catch((err) => showError(err.code));
   * ```
   */
  async refresh(): Promise<string> {
    this.#assertAlive();
    const promise = this.#startCycle('manual');
    // "Fetch now": a refresh waiting out a retry backoff tries again at once instead of joining the wait.
    if (this.#cycle?.retryAt !== undefined) {
      this.#cycle.retryAt = this.#clock.now();
      this.#tick();
    }
    return promise;
  }

  /**
   * The current token when it is not expired (skew-corrected), else the result of a refresh. Waits for the first
   * token when there is none yet. Never resolves with an expired token.
   *
   * @example
   * ```ts
   * const room = await Video.connect(await manager.getToken(), { name: 'standup' });
   * ```
   */
  async getToken(): Promise<string> {
    this.#assertAlive();
    if (this.#starting) await this.#starting;
    this.#assertAlive();
    if (this.#held && !this.isExpired) return this.#held.token;
    return this.#startCycle(this.#held ? 'expired' : 'initial');
  }

  /**
   * Registers anything with `updateToken(token)`; every adopted token is pushed to it (not the current one: pass
   * that when you create the client). With `grants`, a token lacking one yields `error` `GRANT_MISSING`.
   * Returns the function that removes the client again.
   *
   * @example
   * ```ts
   * const stop = manager.addClient(syncClient, { name: 'sync', grants: ['data_sync'] });
   * ```
   */
  addClient(client: TokenClient, options: ClientOptions = {}): () => void {
    this.#assertAlive();
    if (typeof read(client, 'updateToken') !== 'function') {
      throw invalid('client', 'an object with updateToken(token)');
    }
    const entry = this.#fanOut.add(client, options);
    if (this.#held) this.#fanOut.checkGrants(this.#held.decoded.grants, entry);
    return () => {
      this.#fanOut.remove(client);
    };
  }

  /** Unregisters a client; true when it was registered. */
  removeClient(client: TokenClient): boolean {
    this.#assertAlive();
    return this.#fanOut.remove(client);
  }

  /**
   * Hands the manager an SDK's or HTTP layer's error. When it means "token expired or invalid" (a refreshable
   * Twilio code: 20101, 20104, 31204, 31205 or 51207 in `code`, `twilioCode` or `errorCode`, also inside
   * `cause`/`originalError`; or HTTP 401, unless a Twilio code that a new token does not fix is beside it), a
   * refresh starts (shared with any in flight) and it returns `true`; otherwise `false`. Never throws, whatever
   * it is given.
   *
   * Refreshes caused this way are guarded: at most one per held token, and when a token fetched because of a
   * client error is rejected again, `error` reports `CLIENT_TOKEN_REJECTED` and the next refresh waits for the
   * retry backoff, so a server that refuses every token cannot make the manager fetch in a loop.
   *
   * @param clientName - Named in `CLIENT_TOKEN_REJECTED` errors (`connectTwilioClient` passes the client's name).
   *
   * @example
   * ```ts
   * device.on('error', (err) => manager.handleClientError(err, 'voice'));
   * ```
   */
  handleClientError(error: unknown, clientName?: string): boolean {
    this.#assertAlive();
    if (!isTokenError(error)) return false;
    if (this.#fetcher) this.#clientRefresh('clientError', error, typeof clientName === 'string' ? clientName : undefined);
    return true;
  }

  /**
   * Cancels timers, aborts an in-flight fetch, removes window listeners, closes the cross-tab channel and removes
   * every listener. Afterwards each method throws or rejects with `DISPOSED`. A second call does nothing.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#scheduler.cancel();
    this.#unwatch();
    this.#link?.close();
    const cycle = this.#cycle;
    this.#cycle = undefined;
    if (cycle) {
      cycle.controller?.abort(disposedError());
      cycle.reject(disposedError());
    }
    this.#fanOut.clear();
    this.removeAllListeners();
  }

  /** Same as {@link AccessManager.dispose}, for `using manager = new AccessManager(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // --- time

  #serverNow(skew = this.#skew): number {
    return this.#clock.now() + skew;
  }

  /**
   * The skew to use after seeing `decoded` (and the fetcher's `serverTime`). A `serverTime` is trusted both ways
   * when it is plausible for the token; without one only an `iat` in the local future says something (the local
   * clock is behind). An old `iat` says nothing: the server may hand out a cached token.
   */
  #learnSkew(decoded: DecodedToken, serverTime?: number): number {
    if (this.#fixedSkew !== undefined) return this.#fixedSkew;
    const now = this.#clock.now();
    if (serverTime !== undefined && plausible(decoded, serverTime)) {
      const measured = serverTime - now;
      return Math.abs(measured) < MIN_SKEW_MS ? 0 : measured;
    }
    const ahead = (decoded.issuedAt?.getTime() ?? -Infinity) - now;
    return ahead >= MIN_SKEW_MS && ahead > this.#skew ? ahead : this.#skew;
  }

  /** Handles the one timer and the window events: everything due by the wall clock happens here. */
  #tick(): void {
    if (this.#disposed) return;
    const now = this.#clock.now();
    const cycle = this.#cycle;
    if (cycle?.timeoutAt !== undefined && now >= cycle.timeoutAt) {
      cycle.timeoutAt = undefined;
      cycle.controller?.abort(new Refusal('FETCH_TIMEOUT', `Token fetch exceeded fetchTimeoutMs (${this.#fetchTimeoutMs}).`));
    }
    const held = this.#held;
    if (held) {
      const serverNow = now + this.#skew;
      if (!held.expiredFired && serverNow >= held.exp) {
        // Also after a long sleep, or for an expired initial token: every token gets its about-to-expire event
        // before its expiry (apps that only listen to the former must still hear of it), late but in order.
        if (held.expiredAtStart) {
          held.expiredAtStart = false;
          this.#fire('error', failure('TOKEN_EXPIRED', 'Initial token is expired.'));
        }
        this.#fireAbout(held, serverNow);
        if (held === this.#held && !held.expiredFired) {
          held.expiredFired = true;
          this.#fire('tokenExpired', { token: held.token, expiresAt: new Date(held.exp) });
        }
        if (held === this.#held) this.#autoStart('expired');
      } else if (!held.aboutFired && serverNow >= held.exp - this.#aboutMs) {
        this.#fireAbout(held, serverNow);
        if (held === this.#held && !(this.#autoRefreshAt! > now)) this.#autoStart('aboutToExpire');
      } else if (this.#autoRefreshAt !== undefined && now >= this.#autoRefreshAt && held.aboutFired) {
        this.#autoRefreshAt = undefined;
        this.#autoStart(held.expiredFired ? 'expired' : 'aboutToExpire');
      }
    }
    const guard = this.#guard;
    if (guard.retryAt !== undefined && now >= guard.retryAt) {
      guard.retryAt = undefined;
      this.#clientStart(guard.reason);
    }
    if (cycle && cycle === this.#cycle && cycle.retryAt !== undefined && now >= cycle.retryAt) void this.#attempt(cycle);
    this.#reschedule();
  }

  #fireAbout(held: Held, serverNow: number): void {
    if (held.aboutFired) return;
    held.aboutFired = true;
    this.#fire('tokenAboutToExpire', { token: held.token, expiresAt: new Date(held.exp), msLeft: held.exp - serverNow });
  }

  /** Aims the single timer at the earliest wall-clock deadline. */
  #reschedule(): void {
    if (this.#disposed) return;
    const held = this.#held;
    const local = (serverTime: number) => serverTime - this.#skew;
    const deadlines = [
      held && !held.aboutFired ? local(held.exp - this.#aboutMs) : undefined,
      held && !held.expiredFired ? local(held.exp) : undefined,
      // Also after expiry: a refresh at expiry that brought nothing newer (the same token, an older one) must
      // be tried again, or the manager would sit on an expired token with no timer left.
      held?.aboutFired ? this.#autoRefreshAt : undefined,
      this.#guard.retryAt,
      this.#cycle?.retryAt,
      this.#cycle?.timeoutAt,
    ].filter((t): t is number => t !== undefined);
    this.#scheduler.arm(deadlines.length > 0 ? Math.min(...deadlines) : undefined);
  }

  #wake(type: string): void {
    // Coming back online is the moment a failing fetch is most likely to succeed: retry at once.
    if (type === 'online' && this.#cycle?.retryAt !== undefined) this.#cycle.retryAt = this.#clock.now();
    this.#tick();
  }

  // --- adopting tokens

  /**
   * Why `decoded` may not replace the current token (judged with `skew`), or `undefined` when it may. `subject`
   * starts the message: `Token` for one the app gave, `Fetched token` for one from the fetcher.
   */
  #validate(decoded: DecodedToken, skew: number, subject: string): Refusal | undefined {
    const exp = decoded.expiresAt.getTime();
    if (this.#serverNow(skew) >= exp) return new Refusal('TOKEN_EXPIRED', `${subject} is expired.`);
    if (this.#identity !== undefined && decoded.identity !== this.#identity) {
      return new Refusal('IDENTITY_MISMATCH', `${subject} is for another identity than the identity option.`);
    }
    const held = this.#held;
    if (!held) return undefined;
    if (decoded.identity !== held.decoded.identity) {
      if (!this.#allowIdentityChange) {
        return new Refusal('IDENTITY_MISMATCH', `${subject} is for another identity (see allowIdentityChange).`);
      }
      return undefined;
    }
    if (exp < held.exp) return new Refusal('TOKEN_STALE', `${subject} expires before the current one.`);
    return undefined;
  }

  #adopt(token: string, decoded: DecodedToken, source: TokenSource, skew: number): Promise<void> {
    const previous = this.#held;
    const held: Held = { token, decoded, exp: decoded.expiresAt.getTime(), aboutFired: false, expiredFired: false };
    this.#skew = skew;
    this.#held = held;
    this.#failed = false;
    // A token from elsewhere may be what a client was missing: a held-back client refresh is not needed any more.
    this.#guard.retryAt = undefined;
    if (source !== 'peer') this.#link?.publish(token);
    // A refresh waiting out a backoff, or queued for the cross-tab lock, is answered by a good token from elsewhere.
    const cycle = this.#cycle;
    if (cycle?.queued && this.#peerAnswered(cycle)) {
      cycle.controller?.abort(); // leaves the lock's queue
      this.#endCycle(cycle);
    }
    if (cycle && !cycle.controller && !this.#needsRefresh()) this.#endCycle(cycle);
    this.#reschedule();
    const info = { token, expiresAt: decoded.expiresAt, identity: decoded.identity, source };
    this.#fire('tokenUpdated', previous ? { ...info, previousToken: previous.token } : info);
    // A listener may have adopted a newer token already; then that one was pushed and this one must not follow.
    if (this.#held !== held) return this.#delivered;
    this.#fanOut.checkGrants(decoded.grants);
    return (this.#delivered = this.#fanOut.push(token));
  }

  /** A token a peer tab sent: adopted when it would pass `updateToken`, else ignored silently. */
  #receivePeer(token: string, peerSkew: number | undefined): void {
    if (this.#disposed || token === this.#held?.token) return;
    const decoded = decodeOrWhy(token);
    if (typeof decoded === 'string') return;
    // Never another identity's, even with `allowIdentityChange`: that option is for tokens this tab's own app
    // supplies. Someone signing in as another user in one tab must not switch the clients of the others.
    if (this.#held && decoded.identity !== this.#held.decoded.identity) return;
    // The peer's skew is a server-time measurement made on this same machine clock: take it like a `serverTime`
    // (so only when plausible for the token). Whatever it says, a token this tab's own clock judges expired is
    // not taken: a peer must not be able to make an expired token look valid.
    const skew = this.#learnSkew(decoded, peerSkew === undefined ? undefined : this.#clock.now() + peerSkew);
    const exp = decoded.expiresAt.getTime();
    // Equal `exp`: keep the current token, so two tabs that fetched at once do not swap tokens back and forth.
    if (this.#validate(decoded, skew, 'Token') || this.#serverNow() >= exp || exp === this.#held?.exp) return;
    void this.#adopt(token, decoded, 'peer', skew);
  }

  /** What to tell a peer that asks: the current token while it is valid. */
  #shareableToken(): string | undefined {
    return this.#held && !this.isExpired ? this.#held.token : undefined;
  }

  /** True when there is no token or the current one is inside the about-to-expire window. */
  #needsRefresh(): boolean {
    return !this.#held || this.#serverNow() >= this.#held.exp - this.#aboutMs;
  }

  // --- refreshing

  #autoStart(reason: FetchReason): void {
    if (this.#fetcher && this.#autoRefresh && !this.#failed) this.#startCycle(reason).catch(noop);
  }

  /**
   * A refresh a client asked for (its token error, or its own token event), under the client guard: the first for
   * a held token starts at once; one that follows a client refresh within {@link CLIENT_REJECT_WINDOW_MS}, or is
   * for a token already refreshed for, means the fresh token did not help, and waits for the backoff.
   */
  #clientRefresh(reason: 'client' | 'clientError', error: unknown, clientName: string | undefined): void {
    if (this.#disposed || !this.#fetcher) return;
    const guard = this.#guard;
    const cycle = this.#cycle;
    if (cycle) {
      // The refresh in flight answers this client too, unless it already delivered a new token: then the report
      // is about that one, and is judged once the refresh is over.
      if (this.#held?.token !== cycle.startToken) guard.late = () => this.#clientRefresh(reason, error, clientName);
      return;
    }
    // Joined: a refresh held back answers this client too.
    if (guard.retryAt !== undefined) return;
    const now = this.#clock.now();
    const token = this.#held?.token;
    const again = (token !== undefined && guard.spent === token) || now - guard.lastAt < CLIENT_REJECT_WINDOW_MS;
    if (!again) {
      guard.streak = 0;
      this.#clientStart(reason);
      return;
    }
    const streak = ++guard.streak;
    const retryInMs = retryDelay(this.#retry || DEFAULT_RETRY, streak, this.#random);
    guard.retryAt = now + retryInMs;
    guard.reason = reason;
    guard.spent = token;
    this.#reschedule();
    if (reason === 'clientError') {
      const who = clientName === undefined ? 'A client' : `Client "${clientName}"`;
      this.#fire(
        'error',
        new AccessManagerError('CLIENT_TOKEN_REJECTED', `${who} rejected a fresh token again; next refresh in ${retryInMs} ms.`, {
          cause: error,
          clientName,
          attempt: streak,
          retryInMs,
          twilioCode: refreshableCode(error) ?? findTwilioCode(error, isKnownTokenCode),
        }),
      );
    }
  }

  #clientStart(reason: FetchReason): void {
    const guard = this.#guard;
    guard.spent = this.#held?.token;
    guard.lastAt = this.#clock.now();
    this.#startCycle(reason).catch(noop);
  }

  /** Joins the refresh in flight or starts one (single-flight). */
  #startCycle(reason: FetchReason): Promise<string> {
    if (this.#disposed) return Promise.reject(disposedError());
    if (!this.#fetcher) {
      return Promise.reject(failure('NO_FETCHER', 'No fetchToken option: cannot fetch a token.'));
    }
    if (this.#cycle) return this.#cycle.promise;
    let resolve!: (token: string) => void;
    let reject!: (error: AccessManagerError) => void;
    const promise = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(noop); // automatic refreshes have no caller; failures are reported through `error`
    const cycle: Cycle = { promise, resolve, reject, reason, attempts: 0, startToken: this.#held?.token };
    this.#cycle = cycle;
    this.#failed = false;
    this.#autoRefreshAt = undefined;
    void this.#attempt(cycle);
    return promise;
  }

  #endCycle(cycle: Cycle, error?: AccessManagerError): void {
    if (this.#cycle !== cycle) return;
    this.#cycle = undefined;
    if (error) cycle.reject(error);
    else cycle.resolve(this.#held!.token);
    const late = this.#guard.late;
    this.#guard.late = undefined;
    late?.();
  }

  /** One attempt: under the cross-tab lock when there is one, where a token a peer just fetched is taken instead. */
  async #attempt(cycle: Cycle): Promise<void> {
    const attempt = ++cycle.attempts;
    const controller = new AbortController();
    cycle.controller = controller;
    cycle.retryAt = undefined;
    try {
      const link = this.#link;
      if (link) {
        cycle.queued = true;
        await link.withLock(
          async () => {
            cycle.queued = false;
            if (this.#peerAnswered(cycle)) return false;
            // Within 200 ms of this tab's last ask (it just opened), its peers' answers may still be on the way.
            const wait = link.lastAskAt + PEER_WAIT_MS - this.#clock.now();
            if (wait > 0 && (await link.ask(wait, () => this.#peerAnswered(cycle)))) return false;
            if (cycle !== this.#cycle) return false;
            await this.#fetchOnce(cycle, attempt, controller);
            return true;
          },
          controller.signal,
          PEER_WAIT_MS,
        );
      } else {
        await this.#fetchOnce(cycle, attempt, controller);
      }
      if (cycle.controller === controller) cycle.controller = undefined;
      this.#endCycle(cycle);
    } catch (error) {
      if (cycle.controller === controller) cycle.controller = undefined;
      if (cycle === this.#cycle) this.#attemptFailed(cycle, attempt, controller.signal.aborted ? controller.signal.reason : error);
    } finally {
      // An `error` listener may already have started the next attempt (refresh() right away): keep its deadline.
      if (!cycle.controller) cycle.timeoutAt = undefined;
      this.#reschedule();
    }
  }

  /** Inside the lock: a peer delivered a usable token since this refresh began, so there is nothing to fetch. */
  #peerAnswered(cycle: Cycle): boolean {
    const changed = this.#held !== undefined && this.#held.token !== cycle.startToken;
    const asked = cycle.reason === 'manual' || cycle.reason === 'client' || cycle.reason === 'clientError';
    return changed && !this.isExpired && (asked || !this.#needsRefresh());
  }

  async #fetchOnce(cycle: Cycle, attempt: number, controller: AbortController): Promise<void> {
    const { signal } = controller;
    cycle.timeoutAt = this.#clock.now() + this.#fetchTimeoutMs;
    this.#reschedule();
    const fetcher = this.#fetcher!;
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const result: unknown = await Promise.race([
      new Promise<FetchResult>((resolve) => resolve(fetcher({ signal, reason: cycle.reason, attempt }))),
      aborted,
    ]);
    if (cycle !== this.#cycle) return;
    const isObject = typeof result === 'object' && result !== null;
    const token = isObject ? read(result, 'token') : result;
    if (typeof token !== 'string') {
      throw new Refusal('TOKEN_MALFORMED', 'fetchToken returned neither a string nor { token: string }.');
    }
    const decoded = decodeOrWhy(token);
    if (typeof decoded === 'string') {
      throw new Refusal('TOKEN_MALFORMED', `Fetched token is malformed: ${decoded}${malformedHint(token)}.`);
    }
    const serverTime = isObject ? serverTimeOf(read(result, 'serverTime')) : undefined;
    const skew = this.#learnSkew(decoded, serverTime);
    const expiredByMs = this.#serverNow(skew) - decoded.expiresAt.getTime();
    if (expiredByMs >= 0) {
      // Also the current token again (a cached response): a refresh never ends on an expired token.
      throw new Refusal('TOKEN_EXPIRED', expiredMessage(expiredByMs, serverTime !== undefined || this.#fixedSkew !== undefined));
    }
    if (token !== this.#held?.token) {
      const problem = this.#validate(decoded, skew, 'Fetched token');
      if (problem && problem.code !== 'TOKEN_STALE') throw problem;
      // A token older than the current one (a manual update won the race) is dropped without a word; the storm
      // guard below still applies, so a current token left inside the window is retried on the backoff schedule.
      if (!problem) void this.#adopt(token, decoded, 'fetch', skew);
    } else {
      this.#skew = skew;
    }
    // Storm guard: a fresh token already inside the window would trigger the next refresh at once, forever.
    if (this.#needsRefresh()) {
      this.#autoRefreshAt = this.#clock.now() + backoffCap(this.#retry || DEFAULT_RETRY, ++this.#shortStreak);
    } else {
      this.#shortStreak = 0;
    }
  }

  /** Reports a failed attempt and either schedules the next one or ends the refresh. */
  #attemptFailed(cycle: Cycle, attempt: number, reason: unknown): void {
    const error = classifyFailure(reason, attempt, this.#retry, this.#random);
    if (error.code === 'FETCH_UNAUTHORIZED') this.#failed = true;
    if (error.retryInMs === undefined) this.#endCycle(cycle, error);
    else cycle.retryAt = this.#clock.now() + error.retryInMs;
    this.#fire('error', error);
  }

  // --- helpers

  #assertAlive(): void {
    if (this.#disposed) throw disposedError();
  }

  /**
   * Emits to every listener even when one throws (the throw is re-raised apart, in a microtask), so neither a
   * later listener nor the manager's own bookkeeping depends on what a listener does. eventemitter3's `emit`
   * stops at the first throw, so this walks its listener list the same way `emit` does.
   */
  #fire<E extends keyof AccessManagerEvents>(event: E, ...args: Parameters<AccessManagerEvents[E]>): void {
    const key = EventEmitter.prefixed ? `${EventEmitter.prefixed as string}${event}` : event;
    const stored = (this as unknown as { _events: Record<string, StoredListener | StoredListener[] | undefined> })._events[key];
    if (!stored) return;
    for (const listener of Array.isArray(stored) ? stored : [stored]) {
      if (listener.once) this.removeListener(event, listener.fn as never, undefined, true);
      try {
        listener.fn.apply(listener.context, args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/** How eventemitter3 keeps a listener. */
interface StoredListener {
  fn: (...args: unknown[]) => void;
  context: unknown;
  once: boolean;
}

/** What a malformed fetched value most likely is, and the fix, without quoting any of it. */
function malformedHint(text: string): string {
  const start = text.trimStart();
  if (start === '') return '; the response is empty';
  if (start.startsWith('<')) return '; it looks like an HTML page: check the endpoint URL and response.ok';
  if (start.startsWith('{') || start.startsWith('[') || start.startsWith('"')) {
    return '; it looks like JSON: return the token from the body, not the whole body';
  }
  return '';
}

function expiredMessage(byMs: number, serverTimeKnown: boolean): string {
  const by = byMs < 120_000 ? `${Math.round(byMs / 1000)} s` : `${Math.round(byMs / 60_000)} min`;
  return serverTimeKnown
    ? `Fetched token is expired (by ${by}) also by the server's clock: the endpoint returned an old token (a cached response?).`
    : `Fetched token is expired (by ${by}) by this machine's clock. If the server minted it just now, this clock is ahead: return serverTime from fetchToken (createTokenFetcher reads the Date header).`;
}
