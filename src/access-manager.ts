import { EventEmitter } from 'eventemitter3';
import { findTwilioCode, httpStatus, isTokenError } from './client-error.js';
import { realClock } from './clock.js';
import { type CrossTabLink, openCrossTab } from './cross-tab.js';
import { type DecodedToken, decodeToken } from './decode.js';
import { AccessManagerError, type AccessManagerErrorCode, isAccessManagerError } from './errors.js';
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

/** The token the manager holds, and which of its once-per-token events have fired. */
interface Held {
  token: string;
  decoded: DecodedToken;
  /** `exp` in ms (server time). */
  exp: number;
  aboutFired: boolean;
  expiredFired: boolean;
  /** The constructor's token was already expired: report `TOKEN_EXPIRED` before `tokenExpired`. */
  expiredAtStart?: boolean;
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

/** Thrown inside an attempt to say how the failure is to be reported. */
const failure = (code: AccessManagerErrorCode, message: string): AccessManagerError => new AccessManagerError(code, message);

const disposedError = (): AccessManagerError => failure('DISPOSED', 'AccessManager is disposed.');

const noop = (): void => {};

// --- option validation: once, in the constructor, naming the option (TypeError for types, RangeError for values)

/** `<name> must be <what>.`: one wording for every invalid option keeps the messages uniform (and the bundle small). */
const invalid = (name: string, what: string, range?: boolean): Error =>
  new (range ? RangeError : TypeError)(`${name} must be ${what}.`);

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
  const retry = value as Record<string, unknown>;
  const minDelayMs = checkNumber('retry.minDelayMs', retry.minDelayMs, DEFAULT_RETRY.minDelayMs, false);
  const maxDelayMs = checkNumber('retry.maxDelayMs', retry.maxDelayMs, Math.max(DEFAULT_RETRY.maxDelayMs, minDelayMs), false);
  if (maxDelayMs < minDelayMs) throw invalid('retry.maxDelayMs', '>= retry.minDelayMs', true);
  return { minDelayMs, maxDelayMs, factor: checkNumber('retry.factor', retry.factor, DEFAULT_RETRY.factor, false, 1) };
}

function checkCrossTab(value: unknown): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'default';
  const name = (value as { name?: unknown } | null)?.name;
  if (typeof value !== 'object' || typeof name !== 'string') throw invalid('crossTab', 'a boolean or { name: string }');
  if (name === '') throw invalid('crossTab.name', 'non-empty', true);
  return name;
}

function checkClock(value: unknown): Clock {
  if (value === undefined) return realClock;
  const clock = value as Partial<Clock> | null;
  if (
    typeof clock?.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw invalid('clock', 'a { now, setTimeout, clearTimeout } object');
  }
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
  readonly #clock: Clock;
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

  /**
   * @throws TypeError or RangeError naming the option when an option is invalid; {@link AccessManagerError}
   * `TOKEN_MALFORMED` when `token` cannot be decoded. An expired `token` does not throw: `error` with
   * `TOKEN_EXPIRED` fires right after construction and, with a fetcher, a refresh starts.
   */
  constructor(options: AccessManagerOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw invalid('options', 'an object');
    const { token, fetchToken } = options;
    if (token !== undefined && typeof token !== 'string') throw invalid('token', 'a string');
    if (fetchToken !== undefined && typeof fetchToken !== 'function') throw invalid('fetchToken', 'a function');
    if (token === undefined && fetchToken === undefined) throw new TypeError('token or fetchToken is required.');
    this.#fetcher = fetchToken;
    this.#aboutMs = checkNumber('aboutToExpireMs', options.aboutToExpireMs, 180_000, false);
    this.#autoRefresh = checkBoolean('autoRefresh', options.autoRefresh, fetchToken !== undefined);
    this.#fetchTimeoutMs = checkNumber('fetchTimeoutMs', options.fetchTimeoutMs, 10_000, true);
    this.#retry = checkRetry(options.retry);
    const clientTimeoutMs = checkNumber('clientTimeoutMs', options.clientTimeoutMs, 10_000, true);
    const skew = options.clockSkew === undefined ? 'auto' : options.clockSkew;
    if (skew !== 'auto' && typeof skew !== 'number') throw invalid('clockSkew', "'auto' or a number");
    if (typeof skew === 'number' && !Number.isFinite(skew)) throw invalid('clockSkew', 'finite', true);
    this.#fixedSkew = skew === 'auto' ? undefined : skew;
    this.#skew = this.#fixedSkew ?? 0;
    this.#allowIdentityChange = checkBoolean('allowIdentityChange', options.allowIdentityChange, false);
    const crossTab = checkCrossTab(options.crossTab);
    this.#clock = checkClock(options.clock);

    if (token !== undefined) {
      const decoded = decodeToken(token);
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
    if (token === this.#held?.token) return;
    const decoded = decodeToken(token);
    const skew = this.#learnSkew(decoded);
    const problem = this.#validate(decoded, skew);
    if (problem) throw problem;
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
   * token when there is none yet.
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
    if (typeof (client as Partial<TokenClient> | null)?.updateToken !== 'function') {
      throw invalid('client', 'an object with updateToken(token)');
    }
    if (options.grants !== undefined && !Array.isArray(options.grants)) throw invalid('grants', 'an array');
    if (options.name !== undefined && typeof options.name !== 'string') throw invalid('name', 'a string');
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
   * Hands the manager an SDK's or HTTP layer's error. When it means "token expired or invalid" (HTTP 401, Twilio
   * 20101/20104/31204/31205 in `code`, `twilioCode` or `errorCode`, also inside `cause`/`originalError`), a
   * refresh starts (shared with any in flight) and it returns `true`; otherwise `false`.
   *
   * @example
   * ```ts
   * device.on('error', (err) => manager.handleClientError(err));
   * ```
   */
  handleClientError(error: unknown): boolean {
    this.#assertAlive();
    if (!isTokenError(error)) return false;
    if (this.#fetcher) this.#startCycle('clientError').catch(noop);
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
   * The skew to use after seeing `decoded` (and the fetcher's `serverTime`). A `serverTime` is trusted both ways;
   * without one only an `iat` in the local future says something (the local clock is behind). An old `iat` says
   * nothing: the server may hand out a cached token.
   */
  #learnSkew(decoded: DecodedToken, serverTime?: number | Date): number {
    if (this.#fixedSkew !== undefined) return this.#fixedSkew;
    const now = this.#clock.now();
    if (serverTime !== undefined) {
      const measured = new Date(serverTime).getTime() - now;
      if (Number.isFinite(measured)) return Math.abs(measured) < MIN_SKEW_MS ? 0 : measured;
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
      cycle.controller?.abort(failure('FETCH_TIMEOUT', `Token fetch exceeded fetchTimeoutMs (${this.#fetchTimeoutMs}).`));
    }
    const held = this.#held;
    if (held) {
      const serverNow = now + this.#skew;
      if (!held.expiredFired && serverNow >= held.exp) {
        // Also after a long sleep: the skipped about-to-expire moment is not replayed, one expiry is reported.
        held.aboutFired = held.expiredFired = true;
        if (held.expiredAtStart) this.#fire('error', failure('TOKEN_EXPIRED', 'Initial token is expired.'));
        this.#fire('tokenExpired', { token: held.token, expiresAt: new Date(held.exp) });
        if (held === this.#held) this.#autoStart('expired');
      } else if (!held.aboutFired && serverNow >= held.exp - this.#aboutMs) {
        held.aboutFired = true;
        this.#fire('tokenAboutToExpire', { token: held.token, expiresAt: new Date(held.exp), msLeft: held.exp - serverNow });
        if (held === this.#held && !(this.#autoRefreshAt! > now)) this.#autoStart('aboutToExpire');
      } else if (this.#autoRefreshAt !== undefined && now >= this.#autoRefreshAt && held.aboutFired) {
        this.#autoRefreshAt = undefined;
        this.#autoStart(held.expiredFired ? 'expired' : 'aboutToExpire');
      }
    }
    if (cycle && cycle === this.#cycle && cycle.retryAt !== undefined && now >= cycle.retryAt) void this.#attempt(cycle);
    this.#reschedule();
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

  /** Why `decoded` may not replace the current token (judged with `skew`), or `undefined` when it may. */
  #validate(decoded: DecodedToken, skew: number): AccessManagerError | undefined {
    const exp = decoded.expiresAt.getTime();
    if (this.#serverNow(skew) >= exp) return failure('TOKEN_EXPIRED', 'Token is expired.');
    const held = this.#held;
    if (!held) return undefined;
    if (decoded.identity !== held.decoded.identity) {
      if (!this.#allowIdentityChange) {
        return failure('IDENTITY_MISMATCH', 'Token is for another identity (see allowIdentityChange).');
      }
      return undefined;
    }
    if (exp < held.exp) return failure('TOKEN_STALE', 'Token expires before the current one.');
    return undefined;
  }

  #adopt(token: string, decoded: DecodedToken, source: TokenSource, skew: number): Promise<void> {
    const previous = this.#held;
    this.#skew = skew;
    this.#held = { token, decoded, exp: decoded.expiresAt.getTime(), aboutFired: false, expiredFired: false };
    this.#failed = false;
    if (source !== 'peer') this.#link?.publish(token);
    const info = { token, expiresAt: decoded.expiresAt, identity: decoded.identity, source };
    this.#fire('tokenUpdated', previous ? { ...info, previousToken: previous.token } : info);
    this.#fanOut.checkGrants(decoded.grants);
    const delivered = this.#fanOut.push(token);
    // A refresh waiting out a backoff, or queued for the cross-tab lock, is answered by a good token from elsewhere.
    const cycle = this.#cycle;
    if (cycle?.queued && this.#peerAnswered(cycle)) {
      cycle.controller?.abort(); // leaves the lock's queue
      this.#endCycle(cycle);
    }
    if (cycle && !cycle.controller && this.#held.token === token && !this.#needsRefresh()) this.#endCycle(cycle);
    this.#reschedule();
    return delivered;
  }

  /** A token a peer tab sent: adopted when it would pass `updateToken`, else ignored silently. */
  #receivePeer(token: string, peerSkew: number | undefined): void {
    if (this.#disposed || token === this.#held?.token) return;
    let decoded: DecodedToken;
    try {
      decoded = decodeToken(token);
    } catch {
      return;
    }
    // Never another identity's, even with `allowIdentityChange`: that option is for tokens this tab's own app
    // supplies. Someone signing in as another user in one tab must not switch the clients of the others.
    if (this.#held && decoded.identity !== this.#held.decoded.identity) return;
    // The peer's skew is a server-time measurement made on this same machine clock: take it like a `serverTime`.
    const skew = this.#learnSkew(decoded, peerSkew === undefined ? undefined : this.#clock.now() + peerSkew);
    // Equal `exp`: keep the current token, so two tabs that fetched at once do not swap tokens back and forth.
    if (this.#validate(decoded, skew) || decoded.expiresAt.getTime() === this.#held?.exp) return;
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
      if (cycle === this.#cycle) this.#attemptFailed(cycle, attempt, controller.signal.reason ?? error);
    } finally {
      // An `error` listener may already have started the next attempt (refresh() right away): keep its deadline.
      if (!cycle.controller) cycle.timeoutAt = undefined;
      this.#reschedule();
    }
  }

  /** Inside the lock: a peer delivered a usable token since this refresh began, so there is nothing to fetch. */
  #peerAnswered(cycle: Cycle): boolean {
    const changed = this.#held !== undefined && this.#held.token !== cycle.startToken;
    return changed && !this.isExpired && (cycle.reason === 'manual' || cycle.reason === 'clientError' || !this.#needsRefresh());
  }

  async #fetchOnce(cycle: Cycle, attempt: number, controller: AbortController): Promise<void> {
    const { signal } = controller;
    cycle.timeoutAt = this.#clock.now() + this.#fetchTimeoutMs;
    this.#reschedule();
    const fetcher = this.#fetcher!;
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const result: FetchResult = await Promise.race([
      new Promise<FetchResult>((resolve) => resolve(fetcher({ signal, reason: cycle.reason, attempt }))),
      aborted,
    ]);
    if (cycle !== this.#cycle) return;
    const token = typeof result === 'string' ? result : (result as { token?: unknown } | null)?.token;
    if (typeof token !== 'string') throw failure('TOKEN_MALFORMED', 'fetchToken returned neither a string nor { token }.');
    const serverTime = typeof result === 'object' ? result.serverTime : undefined;
    const decoded = decodeToken(token);
    const skew = this.#learnSkew(decoded, serverTime);
    if (token !== this.#held?.token) {
      const problem = this.#validate(decoded, skew);
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
    const own = isAccessManagerError(reason) ? reason : undefined;
    let code: AccessManagerErrorCode;
    let message: string;
    if (own && ['TOKEN_MALFORMED', 'TOKEN_EXPIRED', 'IDENTITY_MISMATCH', 'FETCH_TIMEOUT'].includes(own.code)) {
      code = own.code;
      message = own.message.replace(/^Token is/, 'Fetched token is');
    } else {
      const status = httpStatus(reason);
      const fatal =
        status === 401 || status === 403 || (reason as { fatal?: unknown } | null)?.fatal === true || own?.code === 'FETCH_UNAUTHORIZED';
      code = fatal ? 'FETCH_UNAUTHORIZED' : 'FETCH_FAILED';
      const http = status ? ` (HTTP ${status})` : '';
      message = fatal
        ? `Token endpoint refused${http}; no retry until refresh() or updateToken().`
        : `Token fetch failed${http}.`;
    }
    const cause = own ? own.cause : reason;
    const retryable = this.#retry !== false && code !== 'FETCH_UNAUTHORIZED' && code !== 'IDENTITY_MISMATCH';
    const retryInMs = retryable ? retryDelay(this.#retry as RetryPolicy, attempt) : undefined;
    const twilioCode = findTwilioCode(cause, (n) => n >= 10_000 && n < 100_000);
    const error = new AccessManagerError(code, `${message} (attempt ${attempt})`, {
      ...(cause === undefined ? {} : { cause }),
      attempt,
      retryInMs,
      twilioCode,
    });
    if (code === 'FETCH_UNAUTHORIZED') this.#failed = true;
    if (retryInMs === undefined) this.#endCycle(cycle, error);
    else cycle.retryAt = this.#clock.now() + retryInMs;
    this.#fire('error', error);
  }

  // --- helpers

  #assertAlive(): void {
    if (this.#disposed) throw disposedError();
  }

  /** Emits without letting a throwing listener break the manager's bookkeeping; the throw is re-raised apart. */
  #fire<E extends keyof AccessManagerEvents>(event: E, ...args: Parameters<AccessManagerEvents[E]>): void {
    try {
      (this.emit as (event: E, ...args: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
