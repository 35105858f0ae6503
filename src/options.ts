// The constructor's options: one table of defaults, and validation once, naming the option (TypeError for a
// wrong type, RangeError for a value out of range). Every option is read exactly once, here: a getter cannot
// answer differently later, and one that throws is reported by name.
import { realClock } from './clock.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import type { AccessManagerOptions, Clock, Logger, TokenFetcher } from './types.js';

/**
 * Default option values. TSDoc, README and code all state these numbers; this table is where the code gets them.
 */
export const DEFAULTS = {
  /**
   * `tokenAboutToExpire` this long before expiry: 3 minutes. The automatic refresh starts within the first half of
   * that window (`refreshSpreadMs`, default half of it).
   */
  aboutToExpireMs: 180_000,
  /** Per fetch attempt. */
  fetchTimeoutMs: 10_000,
  /** Per client `updateToken` call. */
  clientTimeoutMs: 10_000,
  /** Exponential backoff with full jitter between failed attempts. */
  retry: DEFAULT_RETRY,
} as const;

/** The options after validation, with defaults applied. */
export interface ResolvedOptions {
  token: string | undefined;
  fetcher: TokenFetcher | undefined;
  aboutMs: number;
  /** How far into the about-to-expire window the automatic refresh may be spread. */
  spreadMs: number;
  autoRefresh: boolean;
  fetchTimeoutMs: number;
  retry: RetryPolicy | false;
  clientTimeoutMs: number;
  /** A fixed skew, or `undefined` for `'auto'`. */
  fixedSkew: number | undefined;
  allowIdentityChange: boolean;
  identity: string | undefined;
  /** The cross-tab channel name, or `undefined` when off. */
  crossTab: string | undefined;
  clock: Clock;
  random: () => number;
  logger: Logger | undefined;
}

/** `<name> must be <what>.`: one wording for every invalid option keeps the messages uniform (and the bundle small). */
export const invalid = (name: string, what: string, range?: boolean): Error =>
  new (range ? RangeError : TypeError)(`${name} must be ${what}.`);

/**
 * `value[key]` of an options object, or of the nested object `parent` names (`retry`, `clock`, ...); a getter that
 * throws is reported as a TypeError naming the option (`retry.factor`).
 */
function option(value: object, key: string, parent?: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    throw invalid(parent ? `${parent}.${key}` : key, 'readable (its getter threw)');
  }
}

/** `value`, or `fallback` when it is undefined. @throws TypeError `<name> must be a <type>` (with a `type`). */
function typed<T>(name: string, value: unknown, type?: string, fallback?: T): T {
  if (value === undefined) return fallback as T;
  if (type && typeof value !== type) throw invalid(name, `a ${type}`);
  return value as T;
}

function checkNumber(name: string, value: unknown, fallback: number, positive?: boolean, min = 0): number {
  const number = typed(name, value, 'number', fallback);
  if (!Number.isFinite(number) || number < min || (positive && number === 0)) {
    throw invalid(name, `finite and ${positive ? '> 0' : `>= ${min}`}`, true);
  }
  return number;
}

/** Without a `retry` option, the defaults: every field of `{}` falls back to them. */
function checkRetry(value: unknown = {}): RetryPolicy | false {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null) throw invalid('retry', 'an object or false');
  const field = (key: keyof RetryPolicy, min?: number, fallback = DEFAULT_RETRY[key]) =>
    checkNumber(`retry.${key}`, option(value, key, 'retry'), fallback, false, min);
  const minDelayMs = field('minDelayMs');
  // A minDelayMs above the default maximum raises the maximum's default with it.
  const maxDelayMs = field('maxDelayMs', 0, Math.max(DEFAULT_RETRY.maxDelayMs, minDelayMs));
  if (maxDelayMs < minDelayMs) throw invalid('retry.maxDelayMs', '>= retry.minDelayMs', true);
  return { minDelayMs, maxDelayMs, factor: field('factor', 1) };
}

function checkCrossTab(value: unknown): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'default';
  // Anything but an object (a function included) has no name here, and fails the check below.
  const name = typeof value === 'object' && value !== null ? option(value, 'name', 'crossTab') : undefined;
  if (typeof name !== 'string') throw invalid('crossTab', 'a boolean or { name: string }');
  if (name === '') throw invalid('crossTab.name', 'non-empty', true);
  return name;
}

/**
 * The clock (the real one without a `clock` option: it passes the same checks), and its `random` (read once) as a
 * function of its own, or `Math.random`.
 */
function checkClock(value: unknown = realClock): [Clock, () => number] {
  const clock = typeof value === 'object' && value !== null ? value : {};
  const [now, setTimeout, clearTimeout, random] = ['now', 'setTimeout', 'clearTimeout', 'random'].map((key) =>
    option(clock, key, 'clock'),
  );
  if ([now, setTimeout, clearTimeout].some((method) => typeof method !== 'function')) {
    throw invalid('clock', 'a { now, setTimeout, clearTimeout } object');
  }
  return [clock as Clock, typed('clock.random', random, 'function') ? () => (random as () => number).call(clock) : () => Math.random()];
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function checkLogger(value: unknown): Logger | undefined {
  if (value === undefined || typeof value === 'function') return value as Logger | undefined;
  // Anything but an object has no methods here, and fails the check below.
  const source = typeof value === 'object' && value !== null ? value : {};
  const methods = LEVELS.map((level) => option(source, level, 'logger'));
  if (methods.some((method) => typeof method !== 'function')) {
    throw invalid('logger', 'a function or a console-like object');
  }
  // Bound once: `console` methods need their object in some environments.
  return Object.fromEntries(LEVELS.map((level, i) => [level, (methods[i] as () => void).bind(value)])) as Logger;
}

/** Validates `options` and applies the defaults. @throws TypeError or RangeError naming the option. */
export function resolveOptions(options: AccessManagerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object');
  // Reads an option; with a `type`, checks it is one (or undefined, then `fallback`).
  const get = <T>(key: keyof AccessManagerOptions, type?: string, fallback?: T): T =>
    typed(key, option(options, key), type, fallback);
  const number = (key: keyof AccessManagerOptions, fallback: number, positive?: boolean) =>
    checkNumber(key, get(key), fallback, positive);
  const token = get<string | undefined>('token', 'string');
  const fetcher = get<TokenFetcher | undefined>('fetchToken', 'function');
  if (token === undefined && fetcher === undefined) throw new TypeError('token or fetchToken is required.');
  const aboutMs = number('aboutToExpireMs', DEFAULTS.aboutToExpireMs);
  const spreadMs = number('refreshSpreadMs', aboutMs / 2);
  // At least half the window stays for retries after the (spread) refresh starts.
  if (spreadMs > aboutMs / 2) throw invalid('refreshSpreadMs', 'at most half of aboutToExpireMs', true);
  const autoRefresh = get('autoRefresh', 'boolean', fetcher !== undefined);
  const fetchTimeoutMs = number('fetchTimeoutMs', DEFAULTS.fetchTimeoutMs, true);
  const retry = checkRetry(get('retry'));
  const clientTimeoutMs = number('clientTimeoutMs', DEFAULTS.clientTimeoutMs, true);
  const skew = get('clockSkew');
  // 'auto', like no option, has the skew measured: no fixed one.
  const fixedSkew = skew === 'auto' ? undefined : skew;
  if (fixedSkew !== undefined && typeof fixedSkew !== 'number') throw invalid('clockSkew', "'auto' or a number");
  if (!Number.isFinite(fixedSkew ?? 0)) throw invalid('clockSkew', 'finite', true);
  const allowIdentityChange = get('allowIdentityChange', 'boolean', false);
  const identity = get<string | undefined>('identity', 'string');
  const crossTab = checkCrossTab(get('crossTab'));
  const [clock, random] = checkClock(get('clock'));
  const logger = checkLogger(get('logger'));
  return {
    token,
    fetcher,
    aboutMs,
    spreadMs,
    autoRefresh,
    fetchTimeoutMs,
    retry,
    clientTimeoutMs,
    fixedSkew,
    allowIdentityChange,
    identity,
    crossTab,
    clock,
    random,
    logger,
  };
}
