// One refresh: one or more fetch attempts, shared by every caller (single-flight), in the shape of a retryer with
// explicit phases. Every field that says where the refresh stands changes only through the transitions below, and
// nothing happens to a refresh once it is settled.
//
//   queued ──fetching()──▶ fetching ──attempt fails, retryable──▶ backoff ──due / retryNow()──▶ queued ...
//      │                      │                                      │
//      └──────────────────────┴── attempt done, answer(), fatal failure, cancel() ──▶ settled
import { classifyFailure, Refusal } from './classify.js';
import type { AccessManagerError } from './errors.js';
import type { RetryPolicy } from './retry.js';
import type { Clock, FetchReason } from './types.js';

/**
 * `queued`: an attempt waits to fetch (for the cross-tab lock, or a peer's answer); `fetching`: the fetcher runs
 * and the attempt timeout counts; `backoff`: waiting for the next attempt; `settled`: resolved or rejected.
 */
export type CyclePhase = 'queued' | 'fetching' | 'backoff' | 'settled';

/** What a refresh needs from its manager. */
export interface CycleHost {
  readonly clock: Clock;
  readonly fetchTimeoutMs: number;
  readonly retry: RetryPolicy | false;
  readonly random: () => number;
  /**
   * Runs one attempt: resolves when it is done (a token adopted, or none needed), rejects with why it failed.
   * Calls {@link RefreshCycle.fetching} when the fetcher is about to be called.
   */
  run(cycle: RefreshCycle, attempt: number, signal: AbortSignal): Promise<void>;
  /** The token a successful refresh resolves with. */
  result(): string;
  /** The refresh settled (`error` when it failed for good), or a failed attempt now waits out its backoff. */
  changed(cycle: RefreshCycle, error?: AccessManagerError): void;
}

export class RefreshCycle {
  // `declare`: assigned in the constructor, so no field initializers are emitted.
  declare readonly promise: Promise<string>;
  declare readonly reason: FetchReason;
  /** The held token when the refresh began: a different one arriving meanwhile may make fetching unnecessary. */
  declare readonly startToken: string | undefined;
  /** Where the refresh stands; only the transitions below change it. */
  phase: CyclePhase = 'queued';
  /** Starts the first attempt (once the manager holds this refresh, so re-entrant calls find it). */
  declare readonly start: () => void;
  /** The local time the refresh next needs the clock for (attempt timeout, or end of backoff). */
  declare readonly nextDeadline: () => number | undefined;
  /** Applies what is due at local time `now`: a timed-out attempt fails, a finished backoff starts the next. */
  declare readonly tick: (now: number) => void;
  /** Waiting out a backoff: try again now (a caller wants a token now, or the browser came back online). */
  declare readonly retryNow: () => void;
  /** The queued attempt starts fetching: the attempt timeout counts from now. */
  declare readonly fetching: () => void;
  /**
   * A token from elsewhere answers this refresh: a queued attempt is withdrawn (it leaves the lock's queue) and the
   * refresh resolves with the manager's token. Only while queued or in backoff; a fetch in flight finishes.
   */
  declare readonly answer: () => void;
  /** Ends the refresh with `error` whatever its phase, aborting the attempt in flight (dispose). */
  declare readonly cancel: (error: AccessManagerError) => void;

  // The rest of the state lives in locals that the methods close over, not in #private fields: in the minified file
  // each use is then one letter instead of `this.#x`.
  constructor(host: CycleHost, reason: FetchReason, startToken: string | undefined) {
    this.reason = reason;
    this.startToken = startToken;
    let resolve!: (token: string) => void;
    let reject!: (error: AccessManagerError) => void;
    this.promise = new Promise<string>((resolveWith, rejectWith) => {
      resolve = resolveWith;
      reject = rejectWith;
    });
    // Automatic refreshes have no caller; their failures are reported through the manager's `error` event.
    this.promise.catch(() => {});
    let attempts = 0;
    let controller: AbortController | undefined;
    /** While `fetching`: when the attempt times out. While `backoff`: when the next attempt starts. Local time. */
    let deadline: number | undefined;

    const settle = (error?: AccessManagerError): void => {
      this.phase = 'settled';
      deadline = undefined;
      if (error) reject(error);
      else resolve(host.result());
      host.changed(this, error);
    };

    const attempt = async (): Promise<void> => {
      const number = ++attempts;
      const current = new AbortController();
      controller = current;
      this.phase = 'queued';
      deadline = undefined;
      // Is this attempt still the one the refresh is about? (Not after answer(), cancel() or a newer attempt.)
      // Stryker disable next-line ConditionalExpression: a newer attempt only starts from backoff, after this one's run settled, so only `settled` can make it stale
      const stillCurrent = () => controller === current && this.phase !== 'settled';
      let failure: unknown;
      try {
        await host.run(this, number, current.signal);
        if (stillCurrent()) settle();
        return;
      } catch (error) {
        failure = current.signal.aborted ? current.signal.reason : error;
      }
      if (!stillCurrent()) return;
      const error = classifyFailure(failure, number, host.retry, host.random);
      if (error.retryInMs === undefined) {
        settle(error);
      } else {
        this.phase = 'backoff';
        deadline = host.clock.now() + error.retryInMs;
        host.changed(this, error);
      }
    };

    this.start = () => {
      if (attempts === 0 && this.phase === 'queued') void attempt();
    };

    this.nextDeadline = () => deadline;

    this.tick = (now) => {
      // Stryker disable next-line ConditionalExpression: with no deadline the phase is queued or settled, for which neither branch below does anything
      if (deadline === undefined || now < deadline) return;
      if (this.phase === 'fetching') {
        deadline = undefined;
        controller!.abort(new Refusal('FETCH_TIMEOUT', `Token fetch exceeded fetchTimeoutMs (${host.fetchTimeoutMs}).`));
      } else if (
        // Stryker disable next-line ConditionalExpression: a deadline outside `fetching` only exists in `backoff`
        this.phase === 'backoff'
      ) {
        void attempt();
      }
    };

    this.retryNow = () => {
      if (this.phase === 'backoff') void attempt();
    };

    this.fetching = () => {
      if (this.phase !== 'queued') return;
      this.phase = 'fetching';
      deadline = host.clock.now() + host.fetchTimeoutMs;
      host.changed(this);
    };

    this.answer = () => {
      if (this.phase !== 'queued' && this.phase !== 'backoff') return;
      controller?.abort();
      settle();
    };

    this.cancel = (error) => {
      if (this.phase === 'settled') return;
      this.phase = 'settled';
      deadline = undefined;
      controller?.abort(error);
      reject(error);
    };
  }
}
