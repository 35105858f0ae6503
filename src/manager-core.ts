// What AccessManager (access-manager.ts) does behind its public members: the held token, the clock skew, the refresh
// in flight, the flags and the last error, and what moves them. `tick` decides what is due; every change is committed
// before listeners hear of it. The state lives in locals that the functions below close over, not in #private
// fields: in the minified file each use is then one letter instead of `this.#x`. The class reaches it through the
// one object createCore returns.
import type { EventEmitter } from 'eventemitter3';
import type { AccessManager } from './access-manager.js';
import { createAutoRefresh } from './auto-refresh.js';
import type { Refusal } from './classify.js';
import { type ClientReason, createClientGuard, rejectedAgain } from './client-guard.js';
import { isTokenError, read } from './client-error.js';
import { openCrossTab } from './cross-tab.js';
import { type DecodedToken, decodeOrWhy, decodeToken } from './decode.js';
import { emitIsolated } from './emit.js';
import { AccessManagerError, type AnyAccessManagerError } from './errors.js';
import { FanOut } from './fan-out.js';
import { expiredRefusal, readFetchResult } from './fetch-result.js';
import { type HeldToken, holdToken, judgeCandidate } from './held-token.js';
import { createLog, fingerprint } from './log.js';
import { resolveOptions } from './options.js';
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

/** What AccessManager's public members reach; each one is documented on the member that uses it. */
export interface ManagerCore {
  /** `token`, `grants`. */
  readonly heldToken: () => HeldToken | undefined;
  /** `expiresAt`, `identity`. */
  readonly describeHeld: () => Pick<AccessManagerSnapshot, 'identity' | 'expiresAt'>;
  /** `isExpired`. */
  readonly expiredNow: () => boolean;
  /** `state`. */
  readonly stateNow: () => AccessManagerState;
  /** `getSnapshot`, `subscribe`, `store`. */
  readonly snapshots: SnapshotStore;
  /** `updateToken`. */
  readonly adoptManual: (token: string) => Promise<void>;
  /** `refresh`. */
  readonly refreshNow: () => Promise<string>;
  /** `getToken`. */
  readonly validOrFetch: () => Promise<string>;
  /** `addClient`. */
  readonly attachClient: (client: TokenClient, options?: ClientOptions) => () => void;
  /** `removeClient`. */
  readonly detachClient: (client: TokenClient) => boolean;
  /** `handleClientError`. */
  readonly reportClientError: (error: unknown, clientName?: string) => boolean;
  /** `[CLIENT_EVENT]`. */
  readonly onClientEvent: (warning?: boolean) => void;
  /** `dispose` (`manager`'s listeners included). */
  readonly disposeCore: () => void;
}

/**
 * Does what the AccessManager constructor does (and throws what it documents): `manager` is the emitter that
 * `error`, `stateChange` and the token events are fired on.
 */
export function createCore(manager: AccessManager, input: AccessManagerOptions): ManagerCore {
  const options = resolveOptions(input);
  const { token, clock, identity, aboutMs, fetcher, fixedSkew } = options;
  const log = createLog(options.logger);

  let held: HeldToken | undefined;
  /** Server time minus local time, in ms. */
  let currentSkew = fixedSkew ?? 0;
  let cycle: RefreshCycle | undefined;
  // The flags (failed, disposed, implausibleSeen) start unset, which reads as false.
  /** The token endpoint refused (401/403): no automatic refresh until `refresh()` or `updateToken()`. */
  let failed: boolean | undefined;
  let disposed: boolean | undefined;
  /** Pending while a new tab without a token waits for its peers. */
  let starting: Promise<void> | undefined;
  /** A client's report that arrived while a refresh that already delivered a new token was finishing. */
  let lateReport: (() => void) | undefined;
  /**
   * The client fan-out of the newest adopted token: what `updateToken` waits for, whichever token is newest. Set by
   * every `adopt` before anything reads it.
   */
  let delivered: Promise<void> | undefined;
  /** The last error reported since the last adopted token. */
  let lastError: AnyAccessManagerError | undefined;
  /** A server time that cannot be right for its token was seen (and logged) already. */
  let implausibleSeen: boolean | undefined;
  // The parts (autoRefresh, clientGuard, cycleHost, scheduler, fanOut, unwatch, link, store) are created below the
  // functions, under "construction", in the order the constructor created them: after the token is checked.

  // --- state

  /** What the `state` getter says (its comment tells the states). */
  const state = (): AccessManagerState => {
    if (disposed) return 'disposed';
    if (failed) return 'failed';
    // A cycle the manager holds is never `settled` (cycleChanged lets go of it first): `queued` or `fetching`.
    const phase = cycle?.phase;
    if (phase && phase !== 'backoff') return 'refreshing';
    if (!held) return 'idle';
    const at = serverNow();
    if (at >= held.exp) return 'expired';
    return at >= held.exp - aboutMs ? 'aboutToExpire' : 'valid';
  };

  /** True when there is no token or it is expired, judged on the skew-corrected clock. */
  const expired = (): boolean => !held || serverNow() >= held.exp;

  // --- time

  const setSkew = (skew: number): void => {
    if (skew !== currentSkew) log?.('info', 'skew', { skew });
    currentSkew = skew;
  };

  const now = (): number => clock.now();

  const serverNow = (skew = currentSkew): number => now() + skew;

  /** The skew to use after seeing `decoded` (and a server time, from the fetcher or a peer). */
  const skewAfter = (decoded: DecodedToken, serverTime?: number): number => {
    if (serverTime !== undefined && !implausibleSeen && !plausible(decoded, serverTime)) {
      // Reported once: a server (or peer) whose time is wrong is wrong on every fetch.
      implausibleSeen = true;
      log?.('warn', 'skew.ignored', { serverTime });
    }
    return fixedSkew ?? learnSkew(currentSkew, decoded, now(), serverTime);
  };

  /** True when there is no token or the current one is inside the about-to-expire window. */
  const insideWindow = (): boolean => !held || serverNow() >= held.exp - aboutMs;

  /**
   * The one timer and the window events land here: everything due by the wall clock happens, in order, then the
   * timer is aimed at the next deadline. A late timer (throttled tab, sleep) simply finds more things due.
   */
  const tick = (): void => {
    if (disposed) return;
    const localTime = now();
    cycle?.tick(localTime);
    // The state may have moved with the clock alone (valid -> aboutToExpire -> expired): announced before the
    // events of that moment and before a refresh they start, so no state is skipped.
    sync();
    const current = held;
    if (current) {
      const serverTime = localTime + currentSkew;
      if (!current.expiredFired && serverTime >= current.exp) {
        // Also after a long sleep, or for an expired initial token: every token gets its about-to-expire event
        // before its expiry (apps that only listen to the former must still hear of it), late but in order.
        if (current.expiredAtStart) {
          current.expiredAtStart = false;
          report(new AccessManagerError('TOKEN_EXPIRED', 'Initial token is expired.'));
        }
        fireAbout(current, serverTime);
        if (current === held && !current.expiredFired) {
          current.expiredFired = true;
          log?.('warn', 'tokenExpired', { fingerprint: fingerprint(current.token) });
          fire('tokenExpired', { token: current.token, expiresAt: new Date(current.exp) });
        }
        // An expired token is refreshed at once: nothing waits for a spread or a storm hold any more.
        if (current === held) autoStart('expired');
      } else if (!current.aboutFired && serverTime >= current.exp - aboutMs) {
        fireAbout(current, serverTime);
        // Spread, but never later than `spreadMs` into the window (a window noticed late, after a sleep).
        if (current === held && autoRefreshes()) {
          autoRefresh.open(localTime, current.exp - currentSkew - aboutMs + options.spreadMs);
          log?.('debug', 'refresh.scheduled', { at: autoRefresh.nextDeadline() });
        }
      }
    }
    if (autoRefresh.due(localTime)) autoStart(held?.expiredFired ? 'expired' : 'aboutToExpire');
    const clientReason = clientGuard.due(localTime);
    if (clientReason) clientStart(clientReason);
    reschedule();
    sync();
  };

  const fireAbout = (current: HeldToken, serverTime: number): void => {
    if (current.aboutFired) return;
    current.aboutFired = true;
    const msLeft = current.exp - serverTime;
    log?.('info', 'tokenAboutToExpire', { msLeft, fingerprint: fingerprint(current.token) });
    fire('tokenAboutToExpire', { token: current.token, expiresAt: new Date(current.exp), msLeft });
  };

  /** Aims the single timer at the earliest deadline any part reports. */
  const reschedule = (): void => {
    if (disposed) return;
    const deadlines = [
      // The token's next event, on the local clock: its about-to-expire moment until that has fired, then its
      // expiry (which always fires after the former).
      held && !held.expiredFired ? held.exp - (held.aboutFired ? 0 : aboutMs) - currentSkew : undefined,
      autoRefresh.nextDeadline(),
      clientGuard.nextDeadline(),
      cycle?.nextDeadline(),
    ].filter((t): t is number => t !== undefined);
    const next = deadlines.length > 0 ? Math.min(...deadlines) : undefined;
    log?.('debug', 'schedule', { at: next });
    scheduler.arm(next);
  };

  // --- adopting tokens

  const adopt = (token: string, decoded: DecodedToken, source: TokenSource, skew: number): Promise<void> => {
    const previous = held;
    const adopted = holdToken(token, decoded);
    setSkew(skew);
    held = adopted;
    failed = false;
    lastError = undefined;
    // The new token has a window of its own; a token from elsewhere may be what a client was missing.
    autoRefresh.cancel();
    clientGuard.cancel();
    if (source !== 'peer') link?.publish(token);
    // A refresh queued for the cross-tab lock, or waiting out a backoff, may be answered by this token.
    if (cycle) {
      const isExpired = expired();
      if (cycle.phase === 'queued' && answersRefresh(cycle.reason, cycle.startToken, adopted, isExpired, insideWindow())) {
        cycle.answer();
      } else if (cycle.phase === 'backoff' && !insideWindow()) {
        cycle.answer();
      }
    }
    reschedule();
    const info = { token, expiresAt: decoded.expiresAt, identity: decoded.identity, source };
    fire('tokenUpdated', previous ? { ...info, previousToken: previous.token } : info);
    // A listener may have adopted a newer token already; then that one was pushed (setting `delivered`) and this one
    // must not follow.
    if (held !== adopted) return delivered!;
    fanOut.checkGrants(decoded.grants);
    log?.('debug', 'clients.push', { fingerprint: fingerprint(token) });
    const pushed = (delivered = fanOut.push(token));
    if (log) void pushed.then(() => log('debug', 'clients.done', { fingerprint: fingerprint(token) }));
    sync();
    return delivered!;
  };

  /** The current token while it is valid: what `getToken` resolves with at once, and what a peer that asks is told. */
  const validToken = (): string | undefined =>
    // expired() also when there is no token.
    expired() ? undefined : held!.token;

  // --- refreshing

  /** Whether automatic refreshes happen now: a fetcher, `autoRefresh`, and the endpoint has not refused. */
  const autoRefreshes = (): boolean => fetcher !== undefined && options.autoRefresh && !failed;

  const autoStart = (reason: FetchReason): void => {
    if (autoRefreshes()) startCycle(reason).catch(noop);
  };

  /**
   * A refresh a client asked for (its token error, or its own token event), under the client guard: at once the
   * first time for a held token, else after the backoff, reported as `CLIENT_TOKEN_REJECTED` when it was an error.
   */
  const clientRefresh = (reason: ClientReason, error?: unknown, clientName?: string): void => {
    if (disposed || !fetcher) return;
    if (cycle) {
      // The refresh in flight answers this client too, unless it already delivered a new token: then the report
      // is about that one, and is judged once the refresh is over.
      if (held?.token !== cycle.startToken) lateReport = () => clientRefresh(reason, error, clientName);
      return;
    }
    // A refresh held back answers this client too.
    if (clientGuard.holding) return;
    const at = now();
    const token = held?.token;
    const backoff = clientGuard.judge(at, token);
    if (!backoff) {
      clientStart(reason);
      return;
    }
    clientGuard.hold(at + backoff.retryInMs, token, reason);
    log?.('warn', 'refresh.held', { why: 'client guard', ...backoff });
    reschedule();
    if (reason === 'clientError') report(rejectedAgain(error, clientName, backoff));
  };

  const clientStart = (reason: ClientReason): void => {
    clientGuard.started(now(), held?.token);
    startCycle(reason).catch(noop);
  };

  /** Joins the refresh in flight or starts one (single-flight). */
  const startCycle = (reason: FetchReason): Promise<string> => {
    if (disposed) return Promise.reject(disposedError());
    if (!fetcher) {
      return Promise.reject(new AccessManagerError('NO_FETCHER', 'No fetchToken option: cannot fetch a token.'));
    }
    if (cycle) return cycle.promise;
    const started = (cycle = new RefreshCycle(cycleHost, reason, held?.token));
    failed = false;
    autoRefresh.cancel();
    log?.('info', 'fetch.start', { reason });
    started.start();
    reschedule();
    sync();
    return started.promise;
  };

  /** The refresh moved: it settled (maybe with `error`), or a failed attempt (`error`) now waits out its backoff. */
  const cycleChanged = (refresh: RefreshCycle, error: AccessManagerError | undefined): void => {
    if (refresh !== cycle) return;
    if (refresh.phase === 'settled') cycle = undefined;
    if (error?.code === 'FETCH_UNAUTHORIZED') failed = true;
    reschedule();
    if (error) {
      report(error);
      if (error.retryInMs !== undefined) {
        const after = read(error.cause, 'retryAfterMs');
        log?.('info', 'fetch.backoff', {
          retryInMs: error.retryInMs,
          why: typeof after === 'number' && after >= error.retryInMs ? 'Retry-After' : 'policy',
        });
      }
    }
    sync();
    if (refresh.phase === 'settled') {
      const late = lateReport;
      lateReport = undefined;
      late?.();
    }
  };

  /** One attempt: under the tab group's lock when there is one, where a token a peer just fetched is taken instead. */
  const runAttempt = (refresh: RefreshCycle, attempt: number, signal: AbortSignal): Promise<void> => {
    const fetch = () => {
      refresh.fetching();
      return fetchOnce(refresh, attempt, signal);
    };
    if (!link) return fetch();
    const answered = () => answersRefresh(refresh.reason, refresh.startToken, held, expired(), insideWindow());
    return fetchUnderLock(link, clock, signal, answered, fetch);
  };

  /** Calls the fetcher and adopts what it returns, or throws why not (a {@link Refusal} or the fetcher's error). */
  const fetchOnce = async (refresh: RefreshCycle, attempt: number, signal: AbortSignal): Promise<void> => {
    const startedAt = now();
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const result: unknown = await Promise.race([
      new Promise<FetchResult>((resolve) => resolve(fetcher!({ signal, reason: refresh.reason, attempt }))),
      aborted,
    ]);
    if (refresh.phase === 'settled') return;
    const { token, decoded, serverTime } = readFetchResult(result);
    const skew = skewAfter(decoded, serverTime);
    const expiredByMs = serverNow(skew) - decoded.expiresAt.getTime();
    // Also the current token again (a cached response): a refresh never ends on an expired token.
    if (expiredByMs >= 0) throw expiredRefusal(expiredByMs, serverTime !== undefined || fixedSkew !== undefined);
    const before = held;
    const problem = token === before?.token ? undefined : judge(decoded, skew, 'Fetched token');
    if (problem && problem.code !== 'TOKEN_STALE') throw problem;
    log?.('info', 'fetch.done', {
      reason: refresh.reason,
      attempt,
      durationMs: now() - startedAt,
      fingerprint: fingerprint(token),
      outcome: token === before?.token ? 'same' : problem ? 'older' : 'new',
    });
    // A token older than the current one (a manual update won the race) is dropped without a word; the storm guard
    // below still applies, so a current token left inside the window is retried on the backoff schedule.
    if (token === before?.token) setSkew(skew);
    else if (!problem) void adopt(token, decoded, 'fetch', skew);
    // Nothing newer adopted (the same token back, or an older one dropped) while the window is already open: the
    // next automatic refresh is armed for the end of the storm hold directly.
    const windowOpen = before?.aboutFired === true && before === held && autoRefreshes();
    const inside = insideWindow();
    autoRefresh.fetched(now(), inside, windowOpen);
    if (inside) log?.('warn', 'refresh.held', { why: 'storm guard', at: autoRefresh.nextDeadline() });
  };

  /** Why a candidate may not replace the held token (judged with `skew`), or `undefined` when it may. */
  const judge = (decoded: DecodedToken, skew: number, subject: string): Refusal | undefined =>
    // The options carry the rules' identity and allowIdentityChange.
    judgeCandidate(decoded, serverNow(skew), { ...options, held }, subject);

  // --- helpers

  const assertAlive = (): void => {
    if (disposed) throw disposedError();
  };

  /** Reports a failure through `error` (and the log), and keeps it as the snapshot's `lastError`. */
  const report = (error: AccessManagerError): void => {
    const { code, message, attempt, retryInMs, clientName } = error;
    log?.(retryInMs === undefined ? 'error' : 'warn', 'error', { code, attempt, retryInMs, clientName }, message);
    lastError = error as AnyAccessManagerError;
    fire('error', error as AnyAccessManagerError);
    sync();
  };

  /** The snapshot's view of the held token. */
  const describe = (): Pick<AccessManagerSnapshot, 'identity' | 'expiresAt'> => ({
    identity: held?.decoded.identity,
    expiresAt: held ? new Date(held.exp) : undefined,
  });

  /** After every change: commits the snapshot, then tells `stateChange` listeners and subscribers what changed. */
  const sync = (): void =>
    store.commit(state(), held?.token, lastError, describe, (change) => {
      log?.('info', 'state', { ...change });
      fire('stateChange', change);
    });

  /** Emits to every listener even when one throws (see ./emit.ts). */
  const fire = <E extends keyof AccessManagerEvents>(event: E, ...args: Parameters<AccessManagerEvents[E]>): void =>
    emitIsolated(manager as EventEmitter, event, args);

  // --- construction

  if (token !== undefined) {
    const decoded = decodeToken(token);
    if (identity !== undefined && decoded.identity !== identity) {
      throw new AccessManagerError('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.');
    }
    currentSkew = skewAfter(decoded);
    held = holdToken(token, decoded);
    held.expiredAtStart = serverNow() >= held.exp;
  }

  const policy = options.retry || DEFAULT_RETRY;
  const autoRefresh = createAutoRefresh(policy, options.spreadMs, options.random);
  const clientGuard = createClientGuard(policy, options.random);
  const cycleHost: CycleHost = {
    // What the cycle reads of the options: clock, fetchTimeoutMs, retry and random.
    ...options,
    run: runAttempt,
    result: () => held!.token,
    changed: cycleChanged,
  };
  const scheduler = new Scheduler(clock, tick);
  const fanOut = new FanOut(clock, options.clientTimeoutMs, report);
  const unwatch = watchWindow((type) => {
    log?.('debug', 'wake', { type });
    // Coming back online is the moment a failing fetch is most likely to succeed: retry at once.
    if (type === 'online') cycle?.retryNow();
    tick();
  });
  // A token a peer tab sent: adopted when the tab-group rules accept it, else ignored silently.
  const receivePeer = (peerToken: string, peerSkew: number | undefined): void => {
    if (disposed || peerToken === held?.token) return;
    const decoded = decodeOrWhy(peerToken);
    if (typeof decoded === 'string') {
      log?.('debug', 'peer.ignored', { why: decoded });
      return;
    }
    // The peer's skew is a server-time measurement made on this same machine clock: taken like a `serverTime`.
    const skew = skewAfter(decoded, peerSkew === undefined ? undefined : serverNow(peerSkew));
    const accepted = acceptsPeerToken(decoded, held, options.identity, serverNow(skew), serverNow());
    // Not taken: expired, older, the same age, or another identity's.
    log?.('debug', accepted ? 'peer.adopted' : 'peer.ignored', { fingerprint: fingerprint(peerToken) });
    if (accepted) void adopt(peerToken, decoded, 'peer', skew);
  };
  const link =
    options.crossTab === undefined
      ? undefined
      : openCrossTab(options.crossTab, clock, receivePeer, validToken, () => currentSkew);

  const store = new SnapshotStore({ state: state(), token, lastError: undefined, ...describe() });
  if (held?.expiredAtStart) {
    // Report it as soon as the caller has attached listeners: a microtask after `new` returns.
    queueMicrotask(tick);
  } else if (held) {
    reschedule();
  } else if (link) {
    starting = link.ask(PEER_WAIT_MS, () => held !== undefined).then((answered) => {
      starting = undefined;
      if (!answered && !held && !disposed) startCycle('initial');
    });
  } else {
    startCycle('initial');
  }

  return {
    heldToken: () => held,
    describeHeld: describe,
    expiredNow: expired,
    stateNow: state,
    snapshots: store,

    adoptManual: async (token) => {
      assertAlive();
      const decoded = decodeToken(token);
      if (token === held?.token) return;
      const skew = skewAfter(decoded);
      const problem = judge(decoded, skew, 'Token');
      if (problem) throw new AccessManagerError(problem.code, problem.message);
      await adopt(token, decoded, 'manual', skew);
    },

    refreshNow: async () => {
      assertAlive();
      const promise = startCycle('manual');
      // "Fetch now": a refresh waiting out a retry backoff tries again at once instead of joining the wait.
      cycle?.retryNow();
      return promise;
    },

    validOrFetch: async () => {
      assertAlive();
      if (starting) await starting;
      assertAlive();
      return validToken() ?? startCycle(held ? 'expired' : 'initial');
    },

    attachClient: (client, clientOptions) => {
      assertAlive();
      const entry = fanOut.add(client, clientOptions);
      if (held) fanOut.checkGrants(held.decoded.grants, entry);
      return () => {
        fanOut.remove(client);
      };
    },

    detachClient: (client) => {
      assertAlive();
      return fanOut.remove(client);
    },

    reportClientError: (error, clientName) => {
      assertAlive();
      if (!isTokenError(error)) return false;
      // Without a fetcher it only says so (clientRefresh does nothing).
      clientRefresh('clientError', error, typeof clientName === 'string' ? clientName : undefined);
      return true;
    },

    onClientEvent: (warning) => {
      // A warning is about the token the SDK holds, which may be an old one (the Voice Device keeps the timer of
      // every token it was given): while the held token is not about to expire, there is nothing to do. While the
      // automatic refresh of this window is armed (spread), that refresh answers it in time.
      if (warning && (!insideWindow() || autoRefresh.nextDeadline() !== undefined)) return;
      clientRefresh('client');
    },

    disposeCore: () => {
      if (disposed) return;
      disposed = true;
      scheduler.cancel();
      unwatch();
      link?.close();
      const settling = cycle;
      cycle = undefined;
      settling?.cancel(disposedError());
      fanOut.clear();
      sync();
      manager.removeAllListeners();
      store.clear();
    },
  };
}
