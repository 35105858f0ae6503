import { EventEmitter } from 'eventemitter3';
import { type AutoRefresh, createAutoRefresh } from './auto-refresh.js';
import type { Refusal } from './classify.js';
import { type ClientGuard, type ClientReason, createClientGuard, rejectedAgain } from './client-guard.js';
import { CLIENT_EVENT, isTokenError, read } from './client-error.js';
import { type CrossTabLink, openCrossTab } from './cross-tab.js';
import { type DecodedToken, decodeOrWhy, decodeToken } from './decode.js';
import { emitIsolated } from './emit.js';
import { AccessManagerError, type AnyAccessManagerError } from './errors.js';
import { FanOut } from './fan-out.js';
import { expiredRefusal, readFetchResult } from './fetch-result.js';
import { type HeldToken, holdToken, judgeCandidate } from './held-token.js';
import { createLog, fingerprint, type Log } from './log.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { type CycleHost, RefreshCycle } from './refresh-cycle.js';
import { DEFAULT_RETRY } from './retry.js';
import { Scheduler, watchWindow } from './scheduler.js';
import { learnSkew, plausible } from './skew.js';
import { SnapshotStore } from './snapshot-store.js';
import { PEER_WAIT_MS, acceptsPeerToken, answersRefresh, fetchUnderLock } from './tab-group.js';
import type {
  AccessManagerEvents,
  AccessManagerOptions,
  AccessManagerSnapshot,
  AccessManagerState,
  ClientOptions,
  FetchReason,
  FetchResult,
  TokenClient,
  TokenSource,
} from './types.js';

const disposedError = (): AccessManagerError => new AccessManagerError('DISPOSED', 'AccessManager is disposed.');

const noop = (): void => {};

/**
 * Owns the lifecycle of one short-lived JWT access token shared by several SDK clients and your HTTP calls: it
 * schedules `tokenAboutToExpire` and `tokenExpired` from the token's `exp` (on wall-clock deadlines that survive
 * throttled tabs and sleep, corrected for clock skew), fetches a new token through your `fetchToken` with
 * single-flight and backoff, and pushes every new token to each registered client's `updateToken`.
 *
 * It is a facade over small parts, each owning one piece of state: the held token (`held-token.ts`), the refresh
 * in flight (`refresh-cycle.ts`), when the automatic refresh starts (`auto-refresh.ts`), the guard on client-caused
 * refreshes (`client-guard.ts`), the clients (`fan-out.ts`), the tab group (`tab-group.ts`, `cross-tab.ts`) and the
 * one timer (`scheduler.ts`). Its `#tick` decides what is due; every change is committed before listeners hear of it.
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
  readonly #options: ResolvedOptions;
  readonly #scheduler: Scheduler;
  readonly #fanOut: FanOut;
  readonly #autoRefresh: AutoRefresh;
  readonly #clientGuard: ClientGuard;
  readonly #unwatch: () => void;
  readonly #link: CrossTabLink | undefined;
  readonly #cycleHost: CycleHost;

  #held: HeldToken | undefined;
  /** Server time minus local time, in ms. Set first thing in the constructor. */
  #skew: number;
  #cycle: RefreshCycle | undefined;
  // The three flags below start unset, which reads as false.
  /** The token endpoint refused (401/403): no automatic refresh until `refresh()` or `updateToken()`. */
  #failed?: boolean;
  #disposed?: boolean;
  /** Pending while a new tab without a token waits for its peers. */
  #starting: Promise<void> | undefined;
  /** A client's report that arrived while a refresh that already delivered a new token was finishing. */
  #lateReport: (() => void) | undefined;
  /**
   * The client fan-out of the newest adopted token: what `updateToken` waits for, whichever token is newest. Set by
   * every `#adopt` before anything reads it.
   */
  #delivered: Promise<void> | undefined;
  /** The last error reported since the last adopted token. */
  #lastError: AnyAccessManagerError | undefined;
  readonly #store: SnapshotStore;
  readonly #log: Log | undefined;
  /** A server time that cannot be right for its token was seen (and logged) already. */
  #implausibleSeen?: boolean;

  /**
   * @throws TypeError or RangeError naming the option when an option is invalid; {@link AccessManagerError}
   * `TOKEN_MALFORMED` when `token` cannot be decoded, `IDENTITY_MISMATCH` when it is for another identity than
   * the `identity` option. An expired `token` does not throw: `error` with `TOKEN_EXPIRED` fires right after
   * construction, then its `tokenAboutToExpire` and `tokenExpired`, and, with a fetcher, a refresh starts.
   */
  constructor(options: AccessManagerOptions) {
    super();
    const resolved = (this.#options = resolveOptions(options));
    const { token, clock, identity } = resolved;
    this.#log = createLog(resolved.logger);
    this.#skew = resolved.fixedSkew ?? 0;
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (identity !== undefined && decoded.identity !== identity) {
        throw new AccessManagerError('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.');
      }
      this.#skew = this.#learnSkew(decoded);
      const held = (this.#held = holdToken(token, decoded));
      held.expiredAtStart = this.#serverNow() >= held.exp;
    }

    const policy = resolved.retry || DEFAULT_RETRY;
    this.#autoRefresh = createAutoRefresh(policy, resolved.spreadMs, resolved.random);
    this.#clientGuard = createClientGuard(policy, resolved.random);
    this.#cycleHost = {
      // What the cycle reads of the options: clock, fetchTimeoutMs, retry and random.
      ...resolved,
      run: (cycle, attempt, signal) => this.#runAttempt(cycle, attempt, signal),
      result: () => this.#held!.token,
      changed: (cycle, error) => this.#cycleChanged(cycle, error),
    };
    this.#scheduler = new Scheduler(clock, () => this.#tick());
    this.#fanOut = new FanOut(clock, resolved.clientTimeoutMs, (error) => this.#report(error));
    this.#unwatch = watchWindow((type) => {
      this.#log?.('debug', 'wake', { type });
      // Coming back online is the moment a failing fetch is most likely to succeed: retry at once.
      if (type === 'online') this.#cycle?.retryNow();
      this.#tick();
    });
    // A token a peer tab sent: adopted when the tab-group rules accept it, else ignored silently.
    const receivePeer = (peerToken: string, peerSkew: number | undefined): void => {
      if (this.#disposed || peerToken === this.#held?.token) return;
      const decoded = decodeOrWhy(peerToken);
      if (typeof decoded === 'string') {
        this.#log?.('debug', 'peer.ignored', { why: decoded });
        return;
      }
      // The peer's skew is a server-time measurement made on this same machine clock: taken like a `serverTime`.
      const skew = this.#learnSkew(decoded, peerSkew === undefined ? undefined : this.#serverNow(peerSkew));
      const accepted = acceptsPeerToken(decoded, this.#held, this.#options.identity, this.#serverNow(skew), this.#serverNow());
      // Not taken: expired, older, the same age, or another identity's.
      this.#log?.('debug', accepted ? 'peer.adopted' : 'peer.ignored', { fingerprint: fingerprint(peerToken) });
      if (accepted) void this.#adopt(peerToken, decoded, 'peer', skew);
    };
    this.#link =
      resolved.crossTab === undefined
        ? undefined
        : openCrossTab(
            resolved.crossTab,
            clock,
            receivePeer,
            () => this.#validToken(),
            () => this.#skew,
          );

    this.#store = new SnapshotStore({ state: this.state, token, lastError: undefined, ...this.#describe() });
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
    return this.#describe().expiresAt;
  }

  /** `grants.identity` (or `sub`) of the current token. */
  get identity(): string | undefined {
    return this.#describe().identity;
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
    // A cycle the manager holds is never `settled` (#cycleChanged lets go of it first): `queued` or `fetching`.
    const phase = this.#cycle?.phase;
    if (phase && phase !== 'backoff') return 'refreshing';
    const held = this.#held;
    if (!held) return 'idle';
    const now = this.#serverNow();
    if (now >= held.exp) return 'expired';
    return now >= held.exp - this.#options.aboutMs ? 'aboutToExpire' : 'valid';
  }

  /**
   * An immutable `{ state, token, identity, expiresAt, lastError }` that stays the same object until one of them
   * changes: pass it with {@link AccessManager.subscribe} to React's `useSyncExternalStore` (both work unbound).
   *
   * @example
   * ```ts
   * const { state, lastError } = manager.getSnapshot();
   * ```
   */
  readonly getSnapshot = (): AccessManagerSnapshot => this.#store.current;

  /**
   * Calls `listener` with the new snapshot whenever it changes (not at once: React's contract); returns the
   * function that unsubscribes. For a store that wants the current value at once (Svelte), use
   * {@link AccessManager.store}.
   *
   * @example
   * ```ts
   * const unsubscribe = manager.subscribe((snapshot) => render(snapshot.state));
   * ```
   */
  readonly subscribe = (listener: (snapshot: AccessManagerSnapshot) => void): (() => void) =>
    this.#store.subscribe(listener);

  /**
   * The snapshot as a Svelte store (and any store with the same contract): its `subscribe` calls the listener at
   * once with the current snapshot, then on every change.
   *
   * @example
   * ```ts
   * const status = manager.store; // in a Svelte component: {$status.state}
   * ```
   */
  readonly store: { subscribe(run: (snapshot: AccessManagerSnapshot) => void): () => void } = {
    subscribe: (run) => {
      const unsubscribe = this.subscribe(run);
      run(this.#store.current);
      return unsubscribe;
    },
  };

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
    const problem = this.#judge(decoded, skew, 'Token');
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
    this.#cycle?.retryNow();
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
    return this.#validToken() ?? this.#startCycle(this.#held ? 'expired' : 'initial');
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
    // Without a fetcher it only says so (#clientRefresh does nothing).
    this.#clientRefresh('clientError', error, typeof clientName === 'string' ? clientName : undefined);
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
    cycle?.cancel(disposedError());
    this.#fanOut.clear();
    this.#sync();
    this.removeAllListeners();
    this.#store.clear();
  }

  /**
   * @internal How `token-warden/twilio` (bundled apart, without this class) reports an SDK's own token event: a
   * refresh with the reason `'client'`, under the client guard. Keyed by a symbol and left out of the declarations:
   * not public API. `warning`: an about-to-expire warning rather than "expired".
   */
  [CLIENT_EVENT](warning?: boolean): void {
    // A warning is about the token the SDK holds, which may be an old one (the Voice Device keeps the timer of
    // every token it was given): while the held token is not about to expire, there is nothing to do. While the
    // automatic refresh of this window is armed (spread), that refresh answers it in time.
    if (warning && (!this.#insideWindow() || this.#autoRefresh.nextDeadline() !== undefined)) return;
    this.#clientRefresh('client');
  }

  /** Same as {@link AccessManager.dispose}, for `using manager = new AccessManager(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // --- time

  #setSkew(skew: number): void {
    if (skew !== this.#skew) this.#log?.('info', 'skew', { skew });
    this.#skew = skew;
  }

  #now(): number {
    return this.#options.clock.now();
  }

  #serverNow(skew = this.#skew): number {
    return this.#now() + skew;
  }

  /** The skew to use after seeing `decoded` (and a server time, from the fetcher or a peer). */
  #learnSkew(decoded: DecodedToken, serverTime?: number): number {
    if (serverTime !== undefined && !this.#implausibleSeen && !plausible(decoded, serverTime)) {
      // Reported once: a server (or peer) whose time is wrong is wrong on every fetch.
      this.#implausibleSeen = true;
      this.#log?.('warn', 'skew.ignored', { serverTime });
    }
    return this.#options.fixedSkew ?? learnSkew(this.#skew, decoded, this.#now(), serverTime);
  }

  /** True when there is no token or the current one is inside the about-to-expire window. */
  #insideWindow(): boolean {
    return !this.#held || this.#serverNow() >= this.#held.exp - this.#options.aboutMs;
  }

  /**
   * The one timer and the window events land here: everything due by the wall clock happens, in order, then the
   * timer is aimed at the next deadline. A late timer (throttled tab, sleep) simply finds more things due.
   */
  #tick(): void {
    if (this.#disposed) return;
    const now = this.#now();
    this.#cycle?.tick(now);
    // The state may have moved with the clock alone (valid -> aboutToExpire -> expired): announced before the
    // events of that moment and before a refresh they start, so no state is skipped.
    this.#sync();
    const held = this.#held;
    if (held) {
      const serverNow = now + this.#skew;
      if (!held.expiredFired && serverNow >= held.exp) {
        // Also after a long sleep, or for an expired initial token: every token gets its about-to-expire event
        // before its expiry (apps that only listen to the former must still hear of it), late but in order.
        if (held.expiredAtStart) {
          held.expiredAtStart = false;
          this.#report(new AccessManagerError('TOKEN_EXPIRED', 'Initial token is expired.'));
        }
        this.#fireAbout(held, serverNow);
        if (held === this.#held && !held.expiredFired) {
          held.expiredFired = true;
          this.#log?.('warn', 'tokenExpired', { fingerprint: fingerprint(held.token) });
          this.#fire('tokenExpired', { token: held.token, expiresAt: new Date(held.exp) });
        }
        // An expired token is refreshed at once: nothing waits for a spread or a storm hold any more.
        if (held === this.#held) this.#autoStart('expired');
      } else if (!held.aboutFired && serverNow >= held.exp - this.#options.aboutMs) {
        this.#fireAbout(held, serverNow);
        // Spread, but never later than `spreadMs` into the window (a window noticed late, after a sleep).
        if (held === this.#held && this.#autoRefreshes()) {
          this.#autoRefresh.open(now, held.exp - this.#skew - this.#options.aboutMs + this.#options.spreadMs);
          this.#log?.('debug', 'refresh.scheduled', { at: this.#autoRefresh.nextDeadline() });
        }
      }
    }
    if (this.#autoRefresh.due(now)) this.#autoStart(this.#held?.expiredFired ? 'expired' : 'aboutToExpire');
    const clientReason = this.#clientGuard.due(now);
    if (clientReason) this.#clientStart(clientReason);
    this.#reschedule();
    this.#sync();
  }

  #fireAbout(held: HeldToken, serverNow: number): void {
    if (held.aboutFired) return;
    held.aboutFired = true;
    const msLeft = held.exp - serverNow;
    this.#log?.('info', 'tokenAboutToExpire', { msLeft, fingerprint: fingerprint(held.token) });
    this.#fire('tokenAboutToExpire', { token: held.token, expiresAt: new Date(held.exp), msLeft });
  }

  /** Aims the single timer at the earliest deadline any part reports. */
  #reschedule(): void {
    if (this.#disposed) return;
    const held = this.#held;
    const deadlines = [
      // The token's next event, on the local clock: its about-to-expire moment until that has fired, then its
      // expiry (which always fires after the former).
      held && !held.expiredFired ? held.exp - (held.aboutFired ? 0 : this.#options.aboutMs) - this.#skew : undefined,
      this.#autoRefresh.nextDeadline(),
      this.#clientGuard.nextDeadline(),
      this.#cycle?.nextDeadline(),
    ].filter((t): t is number => t !== undefined);
    const next = deadlines.length > 0 ? Math.min(...deadlines) : undefined;
    this.#log?.('debug', 'schedule', { at: next });
    this.#scheduler.arm(next);
  }

  // --- adopting tokens

  #adopt(token: string, decoded: DecodedToken, source: TokenSource, skew: number): Promise<void> {
    const previous = this.#held;
    const held = holdToken(token, decoded);
    this.#setSkew(skew);
    this.#held = held;
    this.#failed = false;
    this.#lastError = undefined;
    // The new token has a window of its own; a token from elsewhere may be what a client was missing.
    this.#autoRefresh.cancel();
    this.#clientGuard.cancel();
    if (source !== 'peer') this.#link?.publish(token);
    // A refresh queued for the cross-tab lock, or waiting out a backoff, may be answered by this token.
    const cycle = this.#cycle;
    if (cycle) {
      const expired = this.isExpired;
      if (cycle.phase === 'queued' && answersRefresh(cycle.reason, cycle.startToken, held, expired, this.#insideWindow())) {
        cycle.answer();
      } else if (cycle.phase === 'backoff' && !this.#insideWindow()) {
        cycle.answer();
      }
    }
    this.#reschedule();
    const info = { token, expiresAt: decoded.expiresAt, identity: decoded.identity, source };
    this.#fire('tokenUpdated', previous ? { ...info, previousToken: previous.token } : info);
    // A listener may have adopted a newer token already; then that one was pushed (setting #delivered) and this one
    // must not follow.
    if (this.#held !== held) return this.#delivered!;
    this.#fanOut.checkGrants(decoded.grants);
    this.#log?.('debug', 'clients.push', { fingerprint: fingerprint(token) });
    const delivered = (this.#delivered = this.#fanOut.push(token));
    const log = this.#log;
    if (log) void delivered.then(() => log('debug', 'clients.done', { fingerprint: fingerprint(token) }));
    this.#sync();
    return this.#delivered!;
  }

  /** The current token while it is valid: what `getToken` resolves with at once, and what a peer that asks is told. */
  #validToken(): string | undefined {
    // isExpired also when there is no token.
    return this.isExpired ? undefined : this.#held!.token;
  }

  // --- refreshing

  /** Whether automatic refreshes happen now: a fetcher, `autoRefresh`, and the endpoint has not refused. */
  #autoRefreshes(): boolean {
    return this.#options.fetcher !== undefined && this.#options.autoRefresh && !this.#failed;
  }

  #autoStart(reason: FetchReason): void {
    if (this.#autoRefreshes()) this.#startCycle(reason).catch(noop);
  }

  /**
   * A refresh a client asked for (its token error, or its own token event), under the client guard: at once the
   * first time for a held token, else after the backoff, reported as `CLIENT_TOKEN_REJECTED` when it was an error.
   */
  #clientRefresh(reason: ClientReason, error?: unknown, clientName?: string): void {
    if (this.#disposed || !this.#options.fetcher) return;
    const cycle = this.#cycle;
    if (cycle) {
      // The refresh in flight answers this client too, unless it already delivered a new token: then the report
      // is about that one, and is judged once the refresh is over.
      if (this.#held?.token !== cycle.startToken) this.#lateReport = () => this.#clientRefresh(reason, error, clientName);
      return;
    }
    // A refresh held back answers this client too.
    if (this.#clientGuard.holding) return;
    const now = this.#now();
    const token = this.#held?.token;
    const backoff = this.#clientGuard.judge(now, token);
    if (!backoff) {
      this.#clientStart(reason);
      return;
    }
    this.#clientGuard.hold(now + backoff.retryInMs, token, reason);
    this.#log?.('warn', 'refresh.held', { why: 'client guard', ...backoff });
    this.#reschedule();
    if (reason === 'clientError') this.#report(rejectedAgain(error, clientName, backoff));
  }

  #clientStart(reason: ClientReason): void {
    this.#clientGuard.started(this.#now(), this.#held?.token);
    this.#startCycle(reason).catch(noop);
  }

  /** Joins the refresh in flight or starts one (single-flight). */
  #startCycle(reason: FetchReason): Promise<string> {
    if (this.#disposed) return Promise.reject(disposedError());
    if (!this.#options.fetcher) {
      return Promise.reject(new AccessManagerError('NO_FETCHER', 'No fetchToken option: cannot fetch a token.'));
    }
    if (this.#cycle) return this.#cycle.promise;
    const cycle = (this.#cycle = new RefreshCycle(this.#cycleHost, reason, this.#held?.token));
    this.#failed = false;
    this.#autoRefresh.cancel();
    this.#log?.('info', 'fetch.start', { reason });
    cycle.start();
    this.#reschedule();
    this.#sync();
    return cycle.promise;
  }

  /** The refresh moved: it settled (maybe with `error`), or a failed attempt (`error`) now waits out its backoff. */
  #cycleChanged(cycle: RefreshCycle, error: AccessManagerError | undefined): void {
    if (cycle !== this.#cycle) return;
    if (cycle.phase === 'settled') this.#cycle = undefined;
    if (error?.code === 'FETCH_UNAUTHORIZED') this.#failed = true;
    this.#reschedule();
    if (error) {
      this.#report(error);
      if (error.retryInMs !== undefined) {
        const after = read(error.cause, 'retryAfterMs');
        this.#log?.('info', 'fetch.backoff', {
          retryInMs: error.retryInMs,
          why: typeof after === 'number' && after >= error.retryInMs ? 'Retry-After' : 'policy',
        });
      }
    }
    this.#sync();
    if (cycle.phase === 'settled') {
      const late = this.#lateReport;
      this.#lateReport = undefined;
      late?.();
    }
  }

  /** One attempt: under the tab group's lock when there is one, where a token a peer just fetched is taken instead. */
  #runAttempt(cycle: RefreshCycle, attempt: number, signal: AbortSignal): Promise<void> {
    const fetch = () => {
      cycle.fetching();
      return this.#fetchOnce(cycle, attempt, signal);
    };
    const link = this.#link;
    if (!link) return fetch();
    const answered = () =>
      answersRefresh(cycle.reason, cycle.startToken, this.#held, this.isExpired, this.#insideWindow());
    return fetchUnderLock(link, this.#options.clock, signal, answered, fetch);
  }

  /** Calls the fetcher and adopts what it returns, or throws why not (a {@link Refusal} or the fetcher's error). */
  async #fetchOnce(cycle: RefreshCycle, attempt: number, signal: AbortSignal): Promise<void> {
    const fetcher = this.#options.fetcher!;
    const startedAt = this.#now();
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const result: unknown = await Promise.race([
      new Promise<FetchResult>((resolve) => resolve(fetcher({ signal, reason: cycle.reason, attempt }))),
      aborted,
    ]);
    if (cycle.phase === 'settled') return;
    const { token, decoded, serverTime } = readFetchResult(result);
    const skew = this.#learnSkew(decoded, serverTime);
    const expiredByMs = this.#serverNow(skew) - decoded.expiresAt.getTime();
    // Also the current token again (a cached response): a refresh never ends on an expired token.
    if (expiredByMs >= 0) throw expiredRefusal(expiredByMs, serverTime !== undefined || this.#options.fixedSkew !== undefined);
    const before = this.#held;
    const problem = token === before?.token ? undefined : this.#judge(decoded, skew, 'Fetched token');
    if (problem && problem.code !== 'TOKEN_STALE') throw problem;
    this.#log?.('info', 'fetch.done', {
      reason: cycle.reason,
      attempt,
      durationMs: this.#now() - startedAt,
      fingerprint: fingerprint(token),
      outcome: token === before?.token ? 'same' : problem ? 'older' : 'new',
    });
    // A token older than the current one (a manual update won the race) is dropped without a word; the storm guard
    // below still applies, so a current token left inside the window is retried on the backoff schedule.
    if (token === before?.token) this.#setSkew(skew);
    else if (!problem) void this.#adopt(token, decoded, 'fetch', skew);
    // Nothing newer adopted (the same token back, or an older one dropped) while the window is already open: the
    // next automatic refresh is armed for the end of the storm hold directly.
    const windowOpen = before?.aboutFired === true && before === this.#held && this.#autoRefreshes();
    const inside = this.#insideWindow();
    this.#autoRefresh.fetched(this.#now(), inside, windowOpen);
    if (inside) this.#log?.('warn', 'refresh.held', { why: 'storm guard', at: this.#autoRefresh.nextDeadline() });
  }

  /** Why a candidate may not replace the held token (judged with `skew`), or `undefined` when it may. */
  #judge(decoded: DecodedToken, skew: number, subject: string): Refusal | undefined {
    // The options carry the rules' identity and allowIdentityChange.
    return judgeCandidate(decoded, this.#serverNow(skew), { ...this.#options, held: this.#held }, subject);
  }

  // --- helpers

  #assertAlive(): void {
    if (this.#disposed) throw disposedError();
  }

  /** Reports a failure through `error` (and the log), and keeps it as the snapshot's `lastError`. */
  #report(error: AccessManagerError): void {
    const { code, message, attempt, retryInMs, clientName } = error;
    this.#log?.(retryInMs === undefined ? 'error' : 'warn', 'error', { code, attempt, retryInMs, clientName }, message);
    this.#lastError = error as AnyAccessManagerError;
    this.#fire('error', error as AnyAccessManagerError);
    this.#sync();
  }

  /** The snapshot's view of the held token. */
  #describe(): Pick<AccessManagerSnapshot, 'identity' | 'expiresAt'> {
    const held = this.#held;
    return { identity: held?.decoded.identity, expiresAt: held ? new Date(held.exp) : undefined };
  }

  /** After every change: commits the snapshot, then tells `stateChange` listeners and subscribers what changed. */
  #sync(): void {
    this.#store.commit(this.state, this.#held?.token, this.#lastError, () => this.#describe(), (change) => {
      this.#log?.('info', 'state', { ...change });
      this.#fire('stateChange', change);
    });
  }

  /** Emits to every listener even when one throws (see ./emit.ts). */
  #fire<E extends keyof AccessManagerEvents>(event: E, ...args: Parameters<AccessManagerEvents[E]>): void {
    emitIsolated(this as EventEmitter, event, args);
  }
}
