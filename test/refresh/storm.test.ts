import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccessManagerOptions, FetchContext } from '../../src/index.js';
import { backoffCap, DEFAULT_RETRY } from '../../src/retry.js';
import { MIN, SEC, START as L } from '../helpers/time.mjs';
import { ManualClock, create, tokenAt } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Gaps between consecutive fetches. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/** The backoff caps 1 s, 2 s, 4 s, ... 30 s for the first `n` steps. */
const schedule = (n: number) => Array.from({ length: n }, (_, i) => backoffCap(DEFAULT_RETRY, i + 1));

/**
 * The storm tests' setup: a manager on a clock at L whose endpoint mints a token on every call, valid `ttl` seconds
 * and issued `behindMs` before the local time (a server clock that far behind); `endpoint` changes both mid-test.
 * `times` has the local time of each fetch, after L.
 */
function storm(options: { ttl: number; behindMs?: number } & Omit<AccessManagerOptions, 'fetchToken' | 'clock'>) {
  const { ttl, behindMs = 0, ...rest } = options;
  const clock = new ManualClock(L);
  const endpoint = { ttl, behindMs };
  const times: number[] = [];
  const fetchToken = vi.fn(async (_ctx: FetchContext) => {
    times.push(clock.now() - L);
    return tokenAt(clock.now() - endpoint.behindMs, endpoint.ttl);
  });
  return { ...create({ fetchToken, clock, ...rest }), fetchToken, times, endpoint };
}

describe('storm guard: fetched tokens already inside the about-to-expire window', () => {
  it('TTL 60 s < aboutToExpireMs 180 s: one automatic fetch per backoff step, never a loop', async () => {
    const { clock, times, fetchToken, manager, events } = storm({ ttl: 60 });
    await clock.advance(10 * MIN);
    // 0, 1, 3, 7, 15, 31 s, then every 30 s up to 571 s.
    expect(gaps(times)).toEqual(schedule(times.length - 1));
    expect(times.length).toBe(24);
    expect(fetchToken.mock.calls.map(([ctx]) => ctx.reason)).toEqual(['initial', ...Array(23).fill('aboutToExpire')]);
    // The guard never let a token expire: each was replaced within 30 s of its 60 s.
    expect(events.filter((e) => e.type === 'tokenExpired')).toEqual([]);
    // Each token got exactly one tokenAboutToExpire (on arrival, as it already had less than 180 s left).
    const about = events.filter((e) => e.type === 'tokenAboutToExpire').map((e) => e.token);
    const updated = events.filter((e) => e.type === 'tokenUpdated').map((e) => e.token);
    expect(about).toEqual(updated);
    expect(new Set(about).size).toBe(about.length);
    expect(manager.state).toBe('aboutToExpire');
  });

  it('honours a custom retry policy for the guard', async () => {
    const { clock, times } = storm({ ttl: 120, retry: { minDelayMs: 5 * SEC, maxDelayMs: 20 * SEC, factor: 2 } });
    await clock.advance(5 * MIN);
    expect(gaps(times).slice(0, 6)).toEqual([5 * SEC, 10 * SEC, 20 * SEC, 20 * SEC, 20 * SEC, 20 * SEC]);
  });

  it('the guard also applies with retry: false (the default schedule)', async () => {
    const { clock, times } = storm({ ttl: 60, retry: false });
    await clock.advance(10 * MIN);
    expect(gaps(times)).toEqual(schedule(times.length - 1));
  });

  it('a result discarded as older leaves the current token inside the window: retried on the backoff schedule', async () => {
    const { clock, times, endpoint, events, manager } = storm({ ttl: 60 });
    await clock.advance(40 * SEC); // short tokens: fetches at 0, 1, 3, 7, 15, 31 s
    endpoint.ttl = 3600;
    await clock.advance(30 * SEC); // the fetch at 61 s brings an hour (exp 3661 s) and ends the streak
    const long = manager.token;
    endpoint.ttl = 60; // the server now hands out 60 s tokens, all expiring before the current one at first
    await clock.advance(57 * MIN); // the about-to-expire fetch at 3481 s
    await clock.advance(3 * MIN);
    const at = 3481 * SEC;
    expect(times).toEqual(
      [0, 1, 3, 7, 15, 31, 61].map((s) => s * SEC).concat([at, at + SEC, at + 3 * SEC, at + 7 * SEC, at + 15 * SEC, at + 31 * SEC, at + 61 * SEC, at + 91 * SEC, at + 121 * SEC, at + 151 * SEC, at + 181 * SEC]),
    );
    // The 60 s tokens fetched before 3601 s expire before the hour token and are discarded without an event;
    // the one fetched at 3602 s (exp 3662 s) is newer and adopted: the hour token never expired.
    const updates = events.filter((e) => e.type === 'tokenUpdated');
    expect(updates.map((e) => e.at - L)).toEqual([0, 1, 3, 7, 15, 31, 61, 3602, 3632, 3662].map((s) => s * SEC));
    expect(updates[7]!.token).not.toBe(long);
    expect(events.filter((e) => e.type === 'tokenExpired')).toEqual([]);
  });

  it('a refresh that brings back the same token is retried on the backoff schedule, also after expiry', async () => {
    const clock = new ManualClock(L);
    const first = tokenAt(L, 3600);
    let cachedUntil = L + 65 * MIN; // a caching token endpoint keeps serving the old token for a while
    const times: number[] = [];
    const fetchToken = vi.fn(async (_ctx: FetchContext) => {
      times.push(clock.now() - L);
      return clock.now() < cachedUntil ? first : tokenAt(clock.now(), 3600);
    });
    const { manager, events } = create({ token: first, fetchToken, clock });
    await clock.advance(70 * MIN);
    const about = 57 * MIN;
    // 1, 2, 4, 8, 16 s, then 30 s steps; at expiry (60 min) one more; then 30 s steps again until 65 min.
    expect(times.slice(0, 7)).toEqual([0, 1, 3, 7, 15, 31, 61].map((s) => about + s * SEC));
    expect(times).toContain(60 * MIN);
    const afterExpiry = times.filter((t) => t > 60 * MIN);
    expect(afterExpiry.length).toBeGreaterThan(0);
    for (const gap of gaps(afterExpiry)) expect(gap).toBeLessThanOrEqual(30 * SEC);
    expect(manager.token).not.toBe(first);
    expect(manager.isExpired).toBe(false);
    expect(events.filter((e) => e.type === 'tokenExpired')).toHaveLength(1);
    cachedUntil = 0;
  });

  it('refresh() is never held back by the guard', async () => {
    const { clock, fetchToken, manager } = storm({ ttl: 60 });
    await clock.advance(0);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    await manager.refresh();
    await manager.refresh();
    expect(fetchToken).toHaveBeenCalledTimes(3);
  });

  it('a TTL shorter than the backoff step: refreshed at expiry, one fetch per token lifetime', async () => {
    const { clock, times } = storm({ ttl: 10 });
    await clock.advance(10 * MIN);
    for (const gap of gaps(times)) expect(gap).toBeGreaterThanOrEqual(SEC);
    expect(gaps(times).slice(-10)).toEqual(Array(10).fill(10 * SEC));
    expect(times.length).toBeLessThanOrEqual(5 + 600 / 10);
  });
});

describe('storm guard with a local clock far ahead of the server (no serverTime)', () => {
  it('59 min ahead: every 1 h token looks like it has 1 min left: bounded by the backoff schedule', async () => {
    // Every token has an old iat in local terms: nothing to learn.
    const { clock, times, events } = storm({ ttl: 3600, behindMs: 59 * MIN });
    await clock.advance(10 * MIN);
    expect(gaps(times)).toEqual(schedule(times.length - 1));
    expect(times.length).toBe(24);
    expect(events.filter((e) => e.type === 'tokenExpired')).toEqual([]);
  });

  it('2 h ahead: every token looks expired (TOKEN_EXPIRED), retried on the backoff schedule', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { clock, times, errors, manager } = storm({ ttl: 3600, behindMs: 2 * 3600 * SEC });
    await clock.advance(10 * MIN);
    expect(gaps(times)).toEqual(schedule(times.length - 1));
    expect(times.length).toBe(24);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['TOKEN_EXPIRED']));
    expect(errors.map((e) => e.attempt)).toEqual(times.map((_, i) => i + 1));
    expect(manager.token).toBeUndefined();
  });

  it('2 h ahead with real jitter: never more than one fetch per backoff step on average', async () => {
    const { clock, fetchToken, errors } = storm({ ttl: 3600, behindMs: 2 * 3600 * SEC });
    await clock.advance(10 * MIN);
    for (const error of errors) {
      expect(error.retryInMs).toBeLessThanOrEqual(backoffCap(DEFAULT_RETRY, error.attempt!));
    }
    // Full jitter averages half the cap: about 600 s / 15 s plus the first steps. A loop would be thousands.
    expect(fetchToken.mock.calls.length).toBeLessThan(100);
  });
});
