// Shared pieces of the refresh-engine tests: a fetcher the test answers by hand, a manager wired to a manual
// clock with every event recorded, and a clock whose timers stall while the machine sleeps.
import { vi } from 'vitest';
import {
  type AccessManager,
  type AccessManagerError,
  type AccessManagerOptions,
  type Clock,
  type FetchContext,
  type FetchResult,
} from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { type Recorded, record } from '../helpers/record.js';
import { START } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';

/** One call of a {@link manualFetcher}, answered by the test. */
export interface PendingFetch {
  ctx: FetchContext;
  resolve(value: FetchResult): void;
  reject(error: unknown): void;
}

/** A `fetchToken` whose calls wait until the test resolves or rejects them. */
export function manualFetcher() {
  const calls: PendingFetch[] = [];
  const fetchToken = vi.fn(
    (ctx: FetchContext) =>
      new Promise<FetchResult>((resolve, reject) => {
        calls.push({ ctx, resolve, reject });
      }),
  );
  const last = (): PendingFetch => {
    const call = calls.at(-1);
    if (!call) throw new Error('fetchToken was not called');
    return call;
  };
  return { fetchToken, calls, last };
}

/** What a token endpoint that is down throws: a 503. */
export const down = () => Object.assign(new Error('token endpoint down'), { status: 503 });

/** A `fetchToken` that fails `failures` times (with `error()`, a 503 by default), then mints tokens at `now()`. */
export function flaky(now: () => number, failures = Infinity, error: () => unknown = down) {
  let calls = 0;
  return vi.fn(async (_ctx: FetchContext): Promise<FetchResult> => {
    calls++;
    if (calls <= failures) throw error();
    return tokenAt(now());
  });
}

/** Everything the manager emitted, plus each error object itself (to check `attempt` and `retryInMs`). */
export interface Watched {
  events: Recorded[];
  errors: AccessManagerError[];
}

export function watch(manager: AccessManager, clock: { now(): number }): Watched {
  const events = record(manager, clock.now);
  const errors: AccessManagerError[] = [];
  manager.on('error', (error) => errors.push(error));
  return { events, errors };
}

/** Builds a manager on a {@link ManualClock}, disposed when the test finishes. */
export function create(options: Omit<AccessManagerOptions, 'clock'> & { clock?: Clock } = {}) {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock();
  // Tests written for "the refresh starts at the about-to-expire moment" turn the spread off; the spread's own
  // tests (spread.test.ts) turn it on.
  const manager = createManager({ refreshSpreadMs: 0, ...options, clock });
  return { manager, clock, ...watch(manager, clock) };
}

type SetupOptions = Omit<AccessManagerOptions, 'fetchToken' | 'clock'> & {
  /** Pins `Math.random()` (it draws the retry jitter) for the rest of the test. */
  random?: number;
};

/** The token the setups below start from, unless `options` names one (`token: undefined`: none). */
const startingToken = (options: SetupOptions) => ('token' in options ? {} : { token: tokenAt(START) });

/**
 * The retry tests' usual manager: its fetches wait until the test answers them (`f`, a {@link manualFetcher}),
 * and it holds a token issued at the clock's start unless `token` says otherwise (`token: undefined`: no token,
 * so the first fetch starts at once).
 */
export function withManualFetcher(options: SetupOptions = {}) {
  const { random, ...rest } = options;
  if (random !== undefined) vi.spyOn(Math, 'random').mockReturnValue(random);
  const f = manualFetcher();
  return { f, ...create({ ...startingToken(options), ...rest, fetchToken: f.fetchToken }) };
}

/** As {@link withManualFetcher}, with a {@link flaky} `fetchToken` on the manager's clock instead. */
export function withFlakyFetcher(options: SetupOptions & { failures?: number; error?: () => unknown } = {}) {
  const { random, failures, error, ...rest } = options;
  if (random !== undefined) vi.spyOn(Math, 'random').mockReturnValue(random);
  const clock = new ManualClock();
  const fetchToken = flaky(clock.now, failures, error);
  return { fetchToken, ...create({ ...startingToken(options), ...rest, fetchToken, clock }) };
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<AccessManagerError> {
  try {
    await promise;
  } catch (error) {
    return error as AccessManagerError;
  }
  throw new Error('expected a rejection');
}

/** Settles a promise's outcome into a value a test can look at without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: AccessManagerError } {
  const state: { settled: boolean; value?: T; error?: AccessManagerError } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: AccessManagerError) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** A token for `alice` issued at local time `at` (default: the clock's now). */
export function tokenAt(at: number, ttlSeconds = 3600, identity = 'alice'): string {
  return mintToken({ at, ttl: ttlSeconds, identity });
}

export { flush, ManualClock };
