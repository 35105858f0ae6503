// @vitest-environment node
// resolveOptions alone: the defaults table and what each option resolves to. Invalid options through the
// constructor are test/core/options.test.ts; here only the exact wording and that each option is read once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { realClock } from '../../src/clock.js';
import { DEFAULTS, invalid, resolveOptions } from '../../src/options.js';
import { DEFAULT_RETRY } from '../../src/retry.js';
import type { AccessManagerOptions } from '../../src/types.js';
import { ManualClock } from '../helpers/clock.mjs';

afterEach(() => {
  vi.restoreAllMocks();
});

const token = 'not decoded here';
const fetchToken = async () => token;

function thrown(options: unknown): Error {
  try {
    resolveOptions(options as AccessManagerOptions);
  } catch (error) {
    return error as Error;
  }
  throw new Error('resolveOptions did not throw');
}

describe('DEFAULTS', () => {
  it('3 min warning, 10 s per fetch and per client, 1-30 s doubling backoff', () => {
    expect(DEFAULTS).toEqual({
      aboutToExpireMs: 180_000,
      fetchTimeoutMs: 10_000,
      clientTimeoutMs: 10_000,
      retry: { minDelayMs: 1000, maxDelayMs: 30_000, factor: 2 },
    });
    expect(DEFAULTS.retry).toBe(DEFAULT_RETRY);
  });
});

describe('resolveOptions: defaults', () => {
  it('a token alone', () => {
    const resolved = resolveOptions({ token });
    expect({ ...resolved, random: typeof resolved.random }).toEqual({
      token,
      fetcher: undefined,
      aboutMs: 180_000,
      spreadMs: 90_000,
      autoRefresh: false,
      fetchTimeoutMs: 10_000,
      retry: { minDelayMs: 1000, maxDelayMs: 30_000, factor: 2 },
      clientTimeoutMs: 10_000,
      fixedSkew: undefined,
      allowIdentityChange: false,
      identity: undefined,
      crossTab: undefined,
      clock: realClock,
      random: 'function',
    });
  });

  it('the default retry policy is a copy: changing it changes no other manager', () => {
    expect(resolveOptions({ token }).retry).not.toBe(DEFAULT_RETRY);
  });

  it('a fetcher turns autoRefresh on unless it is set', () => {
    expect(resolveOptions({ fetchToken }).autoRefresh).toBe(true);
    expect(resolveOptions({ fetchToken }).fetcher).toBe(fetchToken);
    expect(resolveOptions({ fetchToken, autoRefresh: false }).autoRefresh).toBe(false);
    expect(resolveOptions({ token, autoRefresh: true }).autoRefresh).toBe(true);
  });

  it('random: the clock\'s when it has one, else Math.random, looked up per draw', () => {
    const clock = Object.assign(new ManualClock(), { random: () => 0.75 });
    expect(resolveOptions({ token, clock }).random()).toBe(0.75);
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.125);
    expect(resolveOptions({ token, clock: new ManualClock() }).random()).toBe(0.125);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('resolveOptions: values', () => {
  it.each([
    ['retry: false', { retry: false }, 'retry', false],
    ['retry: {}', { retry: {} }, 'retry', { minDelayMs: 1000, maxDelayMs: 30_000, factor: 2 }],
    ['retry.minDelayMs above the default max raises the max with it', { retry: { minDelayMs: 40_000 } }, 'retry', { minDelayMs: 40_000, maxDelayMs: 40_000, factor: 2 }],
    ['retry.factor 1', { retry: { factor: 1 } }, 'retry', { minDelayMs: 1000, maxDelayMs: 30_000, factor: 1 }],
    ['retry.minDelayMs 0', { retry: { minDelayMs: 0, maxDelayMs: 0 } }, 'retry', { minDelayMs: 0, maxDelayMs: 0, factor: 2 }],
    ["clockSkew 'auto'", { clockSkew: 'auto' }, 'fixedSkew', undefined],
    ['clockSkew -2500', { clockSkew: -2500 }, 'fixedSkew', -2500],
    ['clockSkew 0', { clockSkew: 0 }, 'fixedSkew', 0],
    ['crossTab: true', { crossTab: true }, 'crossTab', 'default'],
    ['crossTab: false', { crossTab: false }, 'crossTab', undefined],
    ["crossTab: { name: 'app' }", { crossTab: { name: 'app' } }, 'crossTab', 'app'],
    ['aboutToExpireMs 0', { aboutToExpireMs: 0 }, 'aboutMs', 0],
    ['refreshSpreadMs defaults to half of aboutToExpireMs', { aboutToExpireMs: 60_000 }, 'spreadMs', 30_000],
    ['refreshSpreadMs 0', { refreshSpreadMs: 0 }, 'spreadMs', 0],
    ['refreshSpreadMs at most half the window', { aboutToExpireMs: 60_000, refreshSpreadMs: 30_000 }, 'spreadMs', 30_000],
    ["identity 'alice'", { identity: 'alice' }, 'identity', 'alice'],
    ['allowIdentityChange', { allowIdentityChange: true }, 'allowIdentityChange', true],
  ])('%s', (_label, options, key, expected) => {
    const resolved = resolveOptions({ token, ...options } as AccessManagerOptions) as unknown as Record<string, unknown>;
    expect(resolved[key]).toEqual(expected);
  });

  it('a clock given is used as it is', () => {
    const clock = new ManualClock();
    expect(resolveOptions({ token, clock }).clock).toBe(clock);
  });
});

describe('resolveOptions: wording of invalid options', () => {
  it('invalid(name, what, range) builds one sentence, TypeError or RangeError', () => {
    const type = invalid('token', 'a string');
    const range = invalid('fetchTimeoutMs', 'finite and > 0', true);
    expect([type.constructor, type.message]).toEqual([TypeError, 'token must be a string.']);
    expect([range.constructor, range.message]).toEqual([RangeError, 'fetchTimeoutMs must be finite and > 0.']);
  });

  const throwingIdentity = Object.defineProperty({ token }, 'identity', {
    get(): never {
      throw new Error('getter');
    },
  });
  it.each([
    ['aboutToExpireMs must be finite and >= 0.', RangeError, { token, aboutToExpireMs: -1 }],
    ['fetchTimeoutMs must be finite and > 0.', RangeError, { token, fetchTimeoutMs: 0 }],
    ['refreshSpreadMs must be at most half of aboutToExpireMs.', RangeError, { token, aboutToExpireMs: 60_000, refreshSpreadMs: 30_001 }],
    ['retry.factor must be finite and >= 1.', RangeError, { token, retry: { factor: 0.5 } }],
    ['retry.maxDelayMs must be >= retry.minDelayMs.', RangeError, { token, retry: { minDelayMs: 5, maxDelayMs: 4 } }],
    ['clockSkew must be finite.', RangeError, { token, clockSkew: Number.POSITIVE_INFINITY }],
    ['crossTab.name must be non-empty.', RangeError, { token, crossTab: { name: '' } }],
    ['token or fetchToken is required.', TypeError, {}],
    ['options must be an object.', TypeError, null],
    ['identity must be readable (its getter threw).', TypeError, throwingIdentity],
  ])('%s', (message, type, options) => {
    const error = thrown(options);
    expect([error.constructor, error.message]).toEqual([type, message]);
  });
});

describe('resolveOptions: every option is read once', () => {
  function counting<T extends object>(target: T, reads: Map<PropertyKey, number>): T {
    return new Proxy(target, {
      get(object, key, receiver) {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return Reflect.get(object, key, receiver) as unknown;
      },
    });
  }

  it('each top-level option, each retry field and crossTab.name exactly once', () => {
    const top = new Map<PropertyKey, number>();
    const retry = new Map<PropertyKey, number>();
    const crossTab = new Map<PropertyKey, number>();
    resolveOptions(
      counting(
        {
          token,
          fetchToken,
          aboutToExpireMs: 2,
          refreshSpreadMs: 1,
          autoRefresh: true,
          fetchTimeoutMs: 1,
          retry: counting({ minDelayMs: 1, maxDelayMs: 2, factor: 2 }, retry),
          clientTimeoutMs: 1,
          clockSkew: 0,
          allowIdentityChange: false,
          identity: 'alice',
          crossTab: counting({ name: 'app' }, crossTab),
          clock: new ManualClock(),
          logger: () => {},
        },
        top,
      ),
    );
    expect(Object.fromEntries(top)).toEqual({
      token: 1,
      fetchToken: 1,
      aboutToExpireMs: 1,
      refreshSpreadMs: 1,
      autoRefresh: 1,
      fetchTimeoutMs: 1,
      retry: 1,
      clientTimeoutMs: 1,
      clockSkew: 1,
      allowIdentityChange: 1,
      identity: 1,
      crossTab: 1,
      clock: 1,
      logger: 1,
    });
    expect(Object.fromEntries(retry)).toEqual({ minDelayMs: 1, maxDelayMs: 1, factor: 1 });
    expect(Object.fromEntries(crossTab)).toEqual({ name: 1 });
  });

  it('clock.now, setTimeout and clearTimeout once each (they are called on the clock later, as methods)', () => {
    const reads = new Map<PropertyKey, number>();
    resolveOptions({ token, clock: counting(new ManualClock(), reads) });
    expect([reads.get('now'), reads.get('setTimeout'), reads.get('clearTimeout')]).toEqual([1, 1, 1]);
  });

  // Read once, inside the validation: a getter that throws on a later read, or stops returning a function, cannot
  // reach the refresh.
  it('clock.random is read once, and each draw calls what was read', () => {
    const reads = new Map<PropertyKey, number>();
    const clock = counting(Object.assign(new ManualClock(), { random: () => 0.5 }), reads);
    const { random } = resolveOptions({ token, clock });
    random();
    random();
    expect(reads.get('random')).toBe(1);
  });
});

describe('resolveOptions: every wrong type and range, with its exact message and class', () => {
  const getterThrows = (key: string) => ({
    get [key](): never {
      throw new Error('getter');
    },
  });
  const clockBase = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
  // Options as thunks: the test runner formats its rows, and must not call the throwing getters.
  const rows: Array<[() => unknown, typeof TypeError | typeof RangeError, string]> = [
    [() => ({ token: 5 }), TypeError, 'token must be a string.'],
    [() => ({ token, fetchToken: 5 }), TypeError, 'fetchToken must be a function.'],
    [() => ({ token, aboutToExpireMs: '5' }), TypeError, 'aboutToExpireMs must be a number.'],
    [() => ({ token, aboutToExpireMs: Number.NaN }), RangeError, 'aboutToExpireMs must be finite and >= 0.'],
    [() => ({ token, fetchTimeoutMs: Number.POSITIVE_INFINITY }), RangeError, 'fetchTimeoutMs must be finite and > 0.'],
    [() => ({ token, fetchTimeoutMs: -1 }), RangeError, 'fetchTimeoutMs must be finite and > 0.'],
    [() => ({ token, clientTimeoutMs: 0 }), RangeError, 'clientTimeoutMs must be finite and > 0.'],
    [() => ({ token, clientTimeoutMs: 'x' }), TypeError, 'clientTimeoutMs must be a number.'],
    [() => ({ token, autoRefresh: 1 }), TypeError, 'autoRefresh must be a boolean.'],
    [() => ({ token, retry: 5 }), TypeError, 'retry must be an object or false.'],
    [() => ({ token, retry: null }), TypeError, 'retry must be an object or false.'],
    [() => ({ token, retry: true }), TypeError, 'retry must be an object or false.'],
    [() => ({ token, retry: { minDelayMs: -1 } }), RangeError, 'retry.minDelayMs must be finite and >= 0.'],
    [() => ({ token, retry: { maxDelayMs: 'x' } }), TypeError, 'retry.maxDelayMs must be a number.'],
    [() => ({ token, retry: { factor: 'x' } }), TypeError, 'retry.factor must be a number.'],
    [() => ({ token, retry: getterThrows('factor') }), TypeError, 'retry.factor must be readable (its getter threw).'],
    [() => ({ token, clockSkew: 'x' }), TypeError, "clockSkew must be 'auto' or a number."],
    [() => ({ token, clockSkew: Number.NaN }), RangeError, 'clockSkew must be finite.'],
    [() => ({ token, allowIdentityChange: 'yes' }), TypeError, 'allowIdentityChange must be a boolean.'],
    [() => ({ token, identity: 5 }), TypeError, 'identity must be a string.'],
    [() => ({ token, crossTab: 'x' }), TypeError, 'crossTab must be a boolean or { name: string }.'],
    [() => ({ token, crossTab: { name: 42 } }), TypeError, 'crossTab must be a boolean or { name: string }.'],
    [() => ({ token, crossTab: {} }), TypeError, 'crossTab must be a boolean or { name: string }.'],
    [() => ({ token, crossTab: null }), TypeError, 'crossTab must be a boolean or { name: string }.'],
    [() => ({ token, crossTab: getterThrows('name') }), TypeError, 'crossTab.name must be readable (its getter threw).'],
    [() => ({ token, clock: 'x' }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, clock: null }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, clock: { now: () => 0 } }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, clock: { ...clockBase, setTimeout: 5 } }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, clock: { ...clockBase, clearTimeout: 5 } }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, clock: { ...clockBase, random: 5 } }), TypeError, 'clock.random must be a function.'],
    [() => ({ token, clock: { setTimeout: () => 0, clearTimeout: () => {} } }), TypeError, 'clock must be a { now, setTimeout, clearTimeout } object.'],
    [() => ({ token, refreshSpreadMs: 'x' }), TypeError, 'refreshSpreadMs must be a number.'],
    [() => ({ token, clock: getterThrows('now') }), TypeError, 'clock.now must be readable (its getter threw).'],
    [() => ({ token, logger: 5 }), TypeError, 'logger must be a function or a console-like object.'],
    [() => ({ token, logger: null }), TypeError, 'logger must be a function or a console-like object.'],
    [() => ({ token, logger: { debug() {}, info() {}, warn() {} } }), TypeError, 'logger must be a function or a console-like object.'],
    [() => ({ token, logger: getterThrows('debug') }), TypeError, 'logger.debug must be readable (its getter threw).'],
    [() => ('x'), TypeError, 'options must be an object.'],
  ];
  it.each(rows.map(([options, kind, message]) => ({ options, kind, message })))('$message (row %#)', ({ options, kind, message }) => {
    const error = thrown(options());
    expect(error.constructor).toBe(kind);
    expect(error.message).toBe(message);
  });

  it('without a clock, random draws from Math.random', () => {
    const draw = resolveOptions({ token }).random();
    expect(typeof draw).toBe('number');
    expect(draw >= 0 && draw < 1).toBe(true);
  });

  it('a console-like logger gets bound methods that call the originals on their object', () => {
    const seen: unknown[] = [];
    const logger = {
      debug(this: unknown, ...args: unknown[]) { seen.push(['debug', this, ...args]); },
      info(this: unknown, ...args: unknown[]) { seen.push(['info', this, ...args]); },
      warn(this: unknown, ...args: unknown[]) { seen.push(['warn', this, ...args]); },
      error(this: unknown, ...args: unknown[]) { seen.push(['error', this, ...args]); },
    };
    const resolved = resolveOptions({ token, logger }).logger as typeof logger;
    const { debug, info, warn, error } = resolved;
    debug(1);
    info(2);
    warn(3);
    error(4);
    expect(seen).toEqual([
      ['debug', logger, 1],
      ['info', logger, 2],
      ['warn', logger, 3],
      ['error', logger, 4],
    ]);
  });
});
