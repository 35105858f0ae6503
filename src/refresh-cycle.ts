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
  #attempts = 0;
  #controller: AbortController | undefined;
  /** While `fetching`: when the attempt times out. While `backoff`: when the next attempt starts. Local time. */
  #deadline: number | undefined;
  #resolve!: (token: string) => void;
  #reject!: (error: AccessManagerError) => void;
  readonly #host: CycleHost;

  constructor(host: CycleHost, reason: FetchReason, startToken: string | undefined) {
    this.#host = host;
    this.reason = reason;
    this.startToken = startToken;
    this.promise = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Automatic refreshes have no caller; their failures are reported through the manager's `error` event.
    this.promise.catch(() => {});
  }

  /** Starts the first attempt (once the manager holds this refresh, so re-entrant calls find it). */
  start(): void {
    if (this.#attempts === 0 && this.phase === 'queued') void this.#attempt();
  }

  /** The local time the refresh next needs the clock for (attempt timeout, or end of backoff). */
  nextDeadline(): number | undefined {
    return this.#deadline;
  }

  /** Applies what is due at local time `now`: a timed-out attempt fails, a finished backoff starts the next. */
  tick(now: number): void {
    // Stryker disable next-line ConditionalExpression: with no deadline the phase is queued or settled, for which neither branch below does anything
    if (this.#deadline === undefined || now < this.#deadline) return;
    if (this.phase === 'fetching') {
      this.#deadline = undefined;
      this.#controller!.abort(new Refusal('FETCH_TIMEOUT', `Token fetch exceeded fetchTimeoutMs (${this.#host.fetchTimeoutMs}).`));
    } else if (
      // Stryker disable next-line ConditionalExpression: a deadline outside `fetching` only exists in `backoff`
      this.phase === 'backoff'
    ) {
      void this.#attempt();
    }
  }

  /** Waiting out a backoff: try again now (a caller wants a token now, or the browser came back online). */
  retryNow(): void {
    if (this.phase === 'backoff') void this.#attempt();
  }

  /** The queued attempt starts fetching: the attempt timeout counts from now. */
  fetching(): void {
    if (this.phase !== 'queued') return;
    this.phase = 'fetching';
    this.#deadline = this.#host.clock.now() + this.#host.fetchTimeoutMs;
    this.#host.changed(this);
  }

  /**
   * A token from elsewhere answers this refresh: a queued attempt is withdrawn (it leaves the lock's queue) and the
   * refresh resolves with the manager's token. Only while queued or in backoff; a fetch in flight finishes.
   */
  answer(): void {
    if (this.phase !== 'queued' && this.phase !== 'backoff') return;
    this.#controller?.abort();
    this.#settle();
  }

  /** Ends the refresh with `error` whatever its phase, aborting the attempt in flight (dispose). */
  cancel(error: AccessManagerError): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    this.#deadline = undefined;
    this.#controller?.abort(error);
    this.#reject(error);
  }

  #settle(error?: AccessManagerError): void {
    this.phase = 'settled';
    this.#deadline = undefined;
    if (error) this.#reject(error);
    else this.#resolve(this.#host.result());
    this.#host.changed(this, error);
  }

  async #attempt(): Promise<void> {
    const host = this.#host;
    const attempt = ++this.#attempts;
    const controller = new AbortController();
    this.#controller = controller;
    this.phase = 'queued';
    this.#deadline = undefined;
    // Is this attempt still the one the refresh is about? (Not after answer(), cancel() or a newer attempt.)
    // Stryker disable next-line ConditionalExpression: a newer attempt only starts from backoff, after this one's run settled, so only `settled` can make it stale
    const current = () => this.#controller === controller && this.phase !== 'settled';
    let failure: unknown;
    try {
      await host.run(this, attempt, controller.signal);
      if (current()) this.#settle();
      return;
    } catch (error) {
      failure = controller.signal.aborted ? controller.signal.reason : error;
    }
    if (!current()) return;
    const error = classifyFailure(failure, attempt, host.retry, host.random);
    if (error.retryInMs === undefined) {
      this.#settle(error);
    } else {
      this.phase = 'backoff';
      this.#deadline = host.clock.now() + error.retryInMs;
      host.changed(this, error);
    }
  }
}
