// What a fetcher hands back cannot leave the manager stuck or wrong: an expired token (also the current one
// again), a rejection value that throws when inspected, a `serverTime` that is not a time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FetchContext, isAccessManagerError } from '../../src/index.js';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { create, flush, rejection, tokenAt, track } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a fetcher that keeps returning the same expired token (a cached response)', () => {
  it('never lets getToken() or refresh() resolve with it: TOKEN_EXPIRED, retried on the backoff schedule', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const cached = tokenAt(START, 600);
    const fetchToken = vi.fn(async (_ctx: FetchContext) => cached);
    const { clock, manager, errors } = create({ token: cached, fetchToken });
    await clock.advance(10 * MIN + SEC); // about to expire: fetched, the same token back; then it expires
    expect(manager.isExpired).toBe(true);
    const got = track(manager.getToken());
    const refreshed = track(manager.refresh());
    await clock.advance(20 * SEC);
    expect(got.settled).toBe(false);
    expect(refreshed.settled).toBe(false);
    const expiredErrors = errors.filter((e) => e.code === 'TOKEN_EXPIRED');
    expect(expiredErrors.length).toBeGreaterThanOrEqual(3);
    // Each retry on the schedule (random 1: exactly the cap), never faster.
    expect(expiredErrors.slice(0, 4).map((e) => [e.attempt, e.retryInMs])).toEqual([
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
    ]);
    expect(expiredErrors[0]!.message).toMatch(/^Fetched token expired \d+ s ago by this clock; if it is new, this clock is ahead: return serverTime from fetchToken\. \(attempt 1\)$/);
    // The endpoint recovers: both callers get a fresh token.
    const fresh = tokenAt(clock.now());
    fetchToken.mockResolvedValue(fresh);
    await clock.advance(30 * SEC);
    expect(got).toMatchObject({ settled: true, value: fresh });
    expect(refreshed).toMatchObject({ settled: true, value: fresh });
  });

  it('says the endpoint returned an old token when the server time confirms it is expired', async () => {
    const old = tokenAt(START - 90 * MIN);
    const { manager } = create({
      fetchToken: async () => ({ token: old, serverTime: START }),
      retry: false,
    });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe('TOKEN_EXPIRED');
    expect(error.message).toBe(
      "Fetched token expired 30 min ago, by the server's clock too (a cached response?). (attempt 1)",
    );
  });

  it('takes a token that expires at the very moment it arrives as expired', async () => {
    const { manager } = create({ fetchToken: async () => tokenAt(START - HOUR), retry: false });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe('TOKEN_EXPIRED');
    expect(error.message).toBe(
      'Fetched token expired 0 s ago by this clock; if it is new, this clock is ahead: return serverTime from fetchToken. (attempt 1)',
    );
  });

  it('says the same with a fixed clockSkew: the clock is corrected already, so the token is old', async () => {
    const old = tokenAt(START - 90 * MIN);
    const { manager } = create({ fetchToken: async () => old, clockSkew: 0, retry: false });
    const error = await rejection(manager.getToken());
    expect(error.code).toBe('TOKEN_EXPIRED');
    expect(error.message).toBe(
      "Fetched token expired 30 min ago, by the server's clock too (a cached response?). (attempt 1)",
    );
  });
});

/** Rejection values that throw when looked at. */
function hostileReasons(): Array<[string, () => unknown]> {
  const throwing = (...keys: string[]) => {
    const value = {};
    for (const key of keys) {
      Object.defineProperty(value, key, {
        get() {
          throw new Error(`${key} getter`);
        },
      });
    }
    return value;
  };
  return [
    ['getters that throw', () => throwing('status', 'response', 'code', 'cause', 'fatal', 'message', 'name', 'retryAfterMs')],
    ['a revoked proxy', () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }],
    ['a lookalike AccessManagerError without a message', () => ({ name: 'AccessManagerError', code: 'FETCH_FAILED' })],
    ['a cause chain of revoked proxies', () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return new Error('outer', { cause: proxy });
    }],
    ['a proxy whose every trap throws', () =>
      new Proxy({}, {
        get() {
          throw new Error('get');
        },
        getPrototypeOf() {
          throw new Error('getPrototypeOf');
        },
        has() {
          throw new Error('has');
        },
      })],
  ];
}

describe('a rejection value that throws when inspected', () => {
  it.each(hostileReasons())('%s: reported as FETCH_FAILED, retried, and refresh() settles once the fetcher recovers', async (_label, reason) => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const fetchToken = vi.fn(async (_ctx: FetchContext): Promise<string> => {
      throw reason();
    });
    const { clock, manager, errors } = create({ token: tokenAt(START), fetchToken });
    const refreshed = track(manager.refresh());
    await flush();
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['FETCH_FAILED', 1, 1000]]);
    expect(errors[0]!.message).toMatch(/^Token fetch failed: .+ \(attempt 1\)$/);
    const fresh = tokenAt(clock.now() + SEC);
    fetchToken.mockResolvedValue(fresh);
    await clock.advance(SEC);
    expect(refreshed).toMatchObject({ settled: true, value: fresh });
    expect(await manager.refresh()).not.toBe(undefined);
  });

  it('a fetcher returning a thenable whose then getter throws fails that attempt only', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(START + SEC));
    const hostile = Object.defineProperty({}, 'then', {
      get() {
        throw new Error('then getter');
      },
    });
    fetchToken.mockReturnValueOnce(hostile as Promise<string>);
    const { clock, manager, errors } = create({ token: tokenAt(START), fetchToken });
    const refreshed = track(manager.refresh());
    await clock.advance(2 * SEC);
    expect(errors.map((e) => e.code)).toEqual(['FETCH_FAILED']);
    expect(errors[0]!.message).toBe('Token fetch failed: then getter. (attempt 1)');
    expect(refreshed.settled).toBe(true);
    expect(manager.token).toBe(tokenAt(START + SEC));
  });
});

describe('fetch failure messages carry the short reason, never the token', () => {
  it.each([
    ['a network error', new TypeError('Failed to parse URL from /api/token'), 'Token fetch failed: Failed to parse URL from /api/token. (attempt 1)'],
    ['an HTTP status', Object.assign(new Error('Request failed'), { status: 503 }), 'Token fetch failed: HTTP 503. (attempt 1)'],
    ['a string', 'offline', 'Token fetch failed: offline. (attempt 1)'],
    ['undefined', undefined, 'Token fetch failed: fetchToken rejected with undefined. (attempt 1)'],
    [
      'a message quoting a token',
      new Error(`bad token ${tokenAt(START)} in cache`),
      'Token fetch failed: bad token [redacted] in cache. (attempt 1)',
    ],
    [
      'a 401',
      Object.assign(new Error('no'), { response: { status: 401 } }),
      'Token endpoint refused (HTTP 401): no retry until refresh() or updateToken(). (attempt 1)',
    ],
  ])('%s', async (_label, reason, message) => {
    const { manager } = create({ token: tokenAt(START), fetchToken: () => Promise.reject(reason), retry: false });
    const error = await rejection(manager.refresh());
    expect(isAccessManagerError(error)).toBe(true);
    expect(error.message).toBe(message);
    expect(error.cause).toBe(reason);
  });

  it.each([
    ['an HTML error page', '<!doctype html><title>Sign in</title>', 'an HTML page? check the URL and response.ok'],
    ['a JSON body read as text', '{"token":"x"}', 'JSON? return its token, not the whole body'],
    ['an empty body', '', 'the response is empty'],
  ])('a fetcher returning %s as the token: TOKEN_MALFORMED with a hint', async (_label, body, hint) => {
    const { manager } = create({ token: tokenAt(START), fetchToken: async () => body, retry: false });
    const error = await rejection(manager.refresh());
    expect(error.code).toBe('TOKEN_MALFORMED');
    expect(error.message).toBe(`Fetched token is malformed: expected three dot-separated parts; ${hint}. (attempt 1)`);
  });
});

describe('serverTime that is not a time', () => {
  it.each([
    ['null', null],
    ['true', true],
    ["'1970'", '1970'],
    ['0 (the epoch)', 0],
    ['NaN', Number.NaN],
    ['an invalid Date', new Date('not a date')],
    ['a number 10 years off', START - 10 * 365 * 24 * HOUR],
    ['an object', { valueOf: () => 0 }],
  ])('%s is ignored: no skew, the token expires on time', async (_label, serverTime) => {
    const fresh = tokenAt(START + SEC);
    const { clock, manager, events } = create({
      token: tokenAt(START),
      fetchToken: async () => ({ token: fresh, serverTime }) as never,
      autoRefresh: false,
    });
    await manager.refresh();
    expect(manager.token).toBe(fresh);
    expect(manager.isExpired).toBe(false);
    await clock.advance(HOUR + 2 * SEC);
    expect(manager.isExpired).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['tokenUpdated', 'tokenAboutToExpire', 'tokenExpired']);
  });

  it('a valid Date from another realm is taken', async () => {
    const { runInNewContext } = await import('node:vm');
    const foreignDate = runInNewContext(`new Date(${START + 11 * MIN})`) as Date;
    expect(foreignDate instanceof Date).toBe(false);
    // A 10-minute token minted just now, and the server's clock 11 minutes ahead: expired by the server's time.
    const { manager } = create({
      token: tokenAt(START),
      fetchToken: async () => ({ token: tokenAt(START, 600), serverTime: foreignDate }),
      retry: false,
    });
    const error = await rejection(manager.refresh());
    expect(error.code).toBe('TOKEN_EXPIRED');
    expect(error.message).toMatch(/by the server's clock too/);
  });
});

describe("a failure carrying retryAfterMs (a server's Retry-After)", () => {
  it.each([
    ['longer than the backoff: waited out exactly', 120_000, 120_000],
    ['above 10 minutes: capped', 3_600_000, 600_000],
    ['shorter than the backoff: the backoff stands', 10, 1000],
    ['not a number: ignored', '120', 1000],
  ])('%s', async (_label, retryAfterMs, wait) => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const fetchToken = vi.fn(async (_ctx: FetchContext): Promise<string> => {
      throw Object.assign(new Error('busy'), { status: 503, retryAfterMs });
    });
    const { clock, manager, errors } = create({ token: tokenAt(START), fetchToken });
    void manager.refresh().catch(() => {});
    await flush();
    expect(errors.map((e) => [e.code, e.retryInMs])).toEqual([['FETCH_FAILED', wait]]);
    await clock.advance(wait - 1);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });
});
