import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchContext, FetchResult } from '../../src/index.js';
import { names } from '../helpers/record.js';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { ManualClock, create, flush, manualFetcher, tokenAt } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const L = START; // the local clock at the start of every test

/** Local time (ms after start) at which tokenAboutToExpire fired, and its msLeft. */
async function aboutMoment(result: FetchResult, options: { clockSkew?: number | 'auto' } = {}) {
  const f = manualFetcher();
  const { clock, manager, events } = create({ fetchToken: f.fetchToken, autoRefresh: false, ...options });
  f.last().resolve(result);
  await flush();
  expect(manager.token).toBeDefined();
  await clock.advance(3 * HOUR);
  const about = events.find((e) => e.type === 'tokenAboutToExpire')!;
  const expired = events.find((e) => e.type === 'tokenExpired')!;
  return { about: about.at - L, msLeft: about.msLeft, expired: expired.at - L };
}

describe("clockSkew: 'auto' from serverTime", () => {
  it.each([
    ['a number', L + 10 * MIN],
    ['a Date', new Date(L + 10 * MIN)],
  ])('local clock behind the server (serverTime as %s)', async (_label, serverTime) => {
    // A cached token issued 20 min ago in server time (so its iat says nothing): exp = L + 50 min on the local
    // clock, which is L + 40 min once corrected by the 10 minutes.
    const token = tokenAt(L + 10 * MIN - 20 * MIN);
    expect(await aboutMoment({ token, serverTime })).toEqual({ about: 37 * MIN, msLeft: 3 * MIN, expired: 40 * MIN });
  });

  it('local clock ahead of the server', async () => {
    const server = L - 10 * MIN;
    const token = tokenAt(server); // exp = L + 50 min in local terms, L + 60 min corrected
    expect(await aboutMoment({ token, serverTime: server })).toEqual({ about: 57 * MIN, msLeft: 3 * MIN, expired: 60 * MIN });
  });

  it.each([999, -999, 0])('a difference below 1 s (%s ms) is ignored', async (diff) => {
    const token = tokenAt(L - 20 * MIN);
    expect(await aboutMoment({ token, serverTime: L + diff })).toEqual({ about: 37 * MIN, msLeft: 3 * MIN, expired: 40 * MIN });
  });

  it('exactly 1 s counts', async () => {
    const token = tokenAt(L - 20 * MIN);
    expect(await aboutMoment({ token, serverTime: L + SEC })).toEqual({ about: 37 * MIN - SEC, msLeft: 3 * MIN, expired: 40 * MIN - SEC });
  });

  it('a fetched token that looks expired locally is adopted when serverTime says it is valid', async () => {
    const server = L - 2 * HOUR; // local clock 2 h ahead
    const f = manualFetcher();
    const { manager, errors } = create({ fetchToken: f.fetchToken });
    f.last().resolve({ token: tokenAt(server), serverTime: server });
    await flush();
    expect(errors).toEqual([]);
    expect(manager.isExpired).toBe(false);
    expect(manager.state).toBe('valid');
  });

  it('without serverTime the same token is refused as TOKEN_EXPIRED (an old iat teaches nothing)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = manualFetcher();
    const { manager, errors } = create({ fetchToken: f.fetchToken });
    f.last().resolve(tokenAt(L - 2 * HOUR));
    await flush();
    expect(errors.map((e) => [e.code, e.retryInMs])).toEqual([['TOKEN_EXPIRED', 1000]]);
    expect(manager.token).toBeUndefined();
  });
});

describe("clockSkew: 'auto' from iat", () => {
  it('learns from a token issued at least 1 s in the local future (local clock behind)', async () => {
    const { clock, events, manager } = create({ token: tokenAt(L + 5 * MIN) });
    expect(manager.state).toBe('valid');
    await clock.advance(2 * HOUR);
    // exp = L + 65 min; with the skew of +5 min the local moments are 5 min earlier.
    expect(events.map((e) => [e.type, e.at - L])).toEqual([
      ['tokenAboutToExpire', 57 * MIN],
      ['tokenExpired', 60 * MIN],
    ]);
  });

  it('learns from exactly 1 s ahead, not from 500 ms ahead', async () => {
    const one = create({ token: tokenAt(L + SEC) });
    await one.clock.advance(HOUR);
    expect(one.events.map((e) => e.at - L)).toEqual([57 * MIN, 60 * MIN]);

    const clock = new ManualClock(L + 500);
    const half = create({ token: tokenAt(L + SEC), clock });
    await clock.advance(HOUR + SEC);
    expect(half.events.map((e) => e.at - L)).toEqual([57 * MIN + SEC, 60 * MIN + SEC]);
  });

  it('never learns from an old iat: a token minted 2 h ago with a 3 h ttl shifts nothing', async () => {
    const { clock, events, manager } = create({ token: tokenAt(L - 2 * HOUR, 3 * 3600) });
    expect(manager.expiresAt).toEqual(new Date(L + HOUR));
    await clock.advance(2 * HOUR);
    expect(events.map((e) => [e.type, e.at - L, e.msLeft])).toEqual([
      ['tokenAboutToExpire', 57 * MIN, 3 * MIN],
      ['tokenExpired', 60 * MIN, undefined],
    ]);
  });

  it('a fetched token issued in the local future teaches the skew too', async () => {
    // exp = L + 70 min on the server's clock, L + 60 min on the local one.
    expect(await aboutMoment(tokenAt(L + 10 * MIN))).toEqual({ about: 57 * MIN, msLeft: 3 * MIN, expired: 60 * MIN });
  });
});

describe('fixed clockSkew', () => {
  it('is used as given; serverTime and a future iat are not learned', async () => {
    const token = tokenAt(L + 10 * MIN); // exp = L + 70 min
    expect(await aboutMoment({ token, serverTime: L + 30 * MIN }, { clockSkew: -5 * MIN })).toEqual({
      about: 72 * MIN,
      msLeft: 3 * MIN,
      expired: 75 * MIN,
    });
  });

  it('0 means exactly the local clock', async () => {
    const token = tokenAt(L + 10 * MIN);
    expect(await aboutMoment({ token, serverTime: L + 30 * MIN }, { clockSkew: 0 })).toEqual({
      about: 67 * MIN,
      msLeft: 3 * MIN,
      expired: 70 * MIN,
    });
  });
});

describe('isExpired is skew-corrected', () => {
  it('server ahead: a token with 1 min left locally is expired', async () => {
    const { manager, events } = create({ token: tokenAt(L - 59 * MIN), clockSkew: 2 * MIN });
    expect(manager.isExpired).toBe(true);
    expect(manager.state).toBe('expired');
    await flush();
    expect(names(events)).toEqual(['error:TOKEN_EXPIRED', 'tokenAboutToExpire', 'tokenExpired']);
  });

  it('server behind: a token that expired 1 min ago locally is still valid', async () => {
    const { manager, clock } = create({ token: tokenAt(L - 61 * MIN), clockSkew: -2 * MIN });
    expect(manager.isExpired).toBe(false);
    expect(manager.state).toBe('aboutToExpire');
    await clock.advance(MIN - 1);
    expect(manager.isExpired).toBe(false);
    await clock.advance(1);
    expect(manager.isExpired).toBe(true);
  });

  it('updateToken accepts a token that is expired only on the wrong local clock', async () => {
    // Server time is L - 10 min: the current token has 2 min left there, though it expired 8 min ago locally.
    const { manager } = create({ token: tokenAt(L - 68 * MIN), clockSkew: -10 * MIN });
    expect(manager.isExpired).toBe(false);
    const latest = tokenAt(L - 65 * MIN); // exp = L - 5 min: 5 min left in server time
    await manager.updateToken(latest);
    expect(manager.token).toBe(latest);
    expect(manager.isExpired).toBe(false);
  });
});

describe('a local clock 10 minutes behind the server', () => {
  it.each([
    ['from iat', false],
    ['from serverTime', true],
  ])('refreshes at server time exp - 180 s, never letting the token expire on the server (%s)', async (_label, withServerTime) => {
    const behind = 10 * MIN;
    const clock = new ManualClock(L);
    const serverNow = () => clock.now() + behind;
    const fetchToken = vi.fn(async (_ctx: FetchContext): Promise<FetchResult> => {
      const token = tokenAt(serverNow());
      return withServerTime ? { token, serverTime: serverNow() } : token;
    });
    const { manager, events } = create({ fetchToken, clock });
    const aboutAt: number[] = [];
    manager.on('tokenAboutToExpire', ({ expiresAt, msLeft }) => {
      aboutAt.push(expiresAt.getTime() - serverNow());
      expect(msLeft).toBe(3 * MIN);
    });
    const expiredOnServer: number[] = [];
    const check = () => {
      if (manager.token && serverNow() >= manager.expiresAt!.getTime()) expiredOnServer.push(clock.now());
    };
    for (let i = 0; i < 4 * 60; i++) {
      await clock.advance(MIN);
      check();
    }
    expect(fetchToken.mock.calls.map(([ctx]) => ctx.reason)).toEqual(['initial', 'aboutToExpire', 'aboutToExpire', 'aboutToExpire', 'aboutToExpire']);
    expect(aboutAt).toEqual([3 * MIN, 3 * MIN, 3 * MIN, 3 * MIN]);
    expect(expiredOnServer).toEqual([]);
    expect(names(events).filter((n) => n === 'tokenExpired')).toEqual([]);
    expect(manager.isExpired).toBe(false);
  });
});
