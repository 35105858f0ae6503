// Types of clock.mjs.
import type { Clock } from '../../src/types.js';

export interface ManualClockOptions {
  /** Gives the clock a `random()` (mulberry32 from this seed) for the manager's jitter. Without it: no `random`. */
  seed?: number;
  /**
   * Called before each timer fires (with the due time of the earliest timer in the heap, which may be a cleared
   * one, or Infinity) and once more at the end of `advance()`; what it returns is awaited when it is a promise.
   * Default: a few rounds of microtasks ({@link flush}).
   */
  settle?: (nextDue: number) => Promise<unknown> | void;
  /** Keep every armed delay in {@link ManualClock.armed}. Default true; a fleet of managers turns it off. */
  recordArmed?: boolean;
}

/** A clock whose time moves only in `advance()`, `jump()` and `sleep()`. */
export declare class ManualClock implements Clock {
  constructor(start?: number, options?: ManualClockOptions);
  now: () => number;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  /** Present only when made with a `seed`. */
  random?: () => number;
  /** Every delay ever armed, in order. */
  readonly armed: number[];
  /** Timer callbacks run so far. */
  readonly fired: number;
  /** Number of armed timers. */
  readonly pending: number;
  /** Entries in the heap, cleared timers not yet dropped included. */
  readonly heapSize: number;
  /** Delays of the armed timers from now, soonest first. */
  readonly delays: number[];
  /** Moves time forward by `ms`, firing due timers in order (with promise work settled before each). */
  advance(ms: number): Promise<void>;
  /** Moves time forward without firing anything, like a laptop lid closed: timers are then overdue. */
  jump(ms: number): void;
  /** Moves the wall clock forward while every armed timer still needs its full remaining delay of awake time. */
  sleep(ms: number): void;
  /** Fires every overdue timer (and any that become due at the current time), as a waking machine does. */
  runDue(): Promise<void>;
}

/** mulberry32: a small, fast PRNG; the same seed gives the same sequence. */
export declare function seededRandom(seed: number): () => number;

/** Lets pending promise callbacks and a few chained microtasks run. */
export declare function flush(rounds?: number): Promise<void>;
