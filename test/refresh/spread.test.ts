// The refresh spread: the automatic refresh starts at a random moment within `refreshSpreadMs` after
// `tokenAboutToExpire`, so a fleet of clients with tokens minted together does not refresh together. What a
// single app sees otherwise stays the same.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessManager, type FetchContext } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { names } from '../helpers/record.js';
import { MIN, SEC, START } from '../helpers/time.mjs';
import { create, flush, tokenAt } from './support.js';

const ABOUT = 3 * MIN;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A manager with the default spread on a clock whose `random()` returns `random`, and a fetcher that records. */
function spread(random: number, options: { refreshSpreadMs?: number; aboutToExpireMs?: number } = {}) {
  const clock = Object.assign(new ManualClock(START), { random: () => random });
  const at: number[] = [];
  const reasons: string[] = [];
  const fetchToken = vi.fn(async (ctx: FetchContext) => {
    at.push(clock.now() - START);
    reasons.push(ctx.reason);
    return tokenAt(clock.now(), 3600);
  });
  const { refreshSpreadMs, ...rest } = options;
  const made = create({
    token: tokenAt(START, 3600),
    fetchToken,
    clock,
    ...rest,
    ...(refreshSpreadMs === undefined ? { refreshSpreadMs: undefined } : { refreshSpreadMs }),
  });
  return { ...made, at, reasons, fetchToken };
}

describe('refreshSpreadMs', () => {
  it.each([
    [0, 0],
    [0.5, 45 * SEC],
    [0.999, 90 * SEC - 90],
  ])('default (half the window, 90 s): random %d starts the refresh %d ms after tokenAboutToExpire', async (random, delay) => {
    const { clock, at, reasons, events } = spread(random);
    await clock.advance(60 * MIN - ABOUT);
    // tokenAboutToExpire still fires exactly aboutToExpireMs before expiry.
    expect(names(events)[0]).toBe('tokenAboutToExpire');
    expect(events[0]!.msLeft).toBe(ABOUT);
    await clock.advance(2 * MIN);
    expect(at).toEqual([60 * MIN - ABOUT + delay]);
    expect(reasons).toEqual(['aboutToExpire']);
  });

  it('follows a custom aboutToExpireMs (default half of it) and may be set lower', async () => {
    const half = spread(1, { aboutToExpireMs: 60 * SEC });
    await half.clock.advance(60 * MIN);
    expect(half.at[0]).toBe(59 * MIN + 30 * SEC);
    const low = spread(1, { refreshSpreadMs: 10 * SEC });
    await low.clock.advance(60 * MIN);
    expect(low.at[0]).toBe(57 * MIN + 10 * SEC);
  });

  it('0 refreshes at the about-to-expire moment', async () => {
    const { clock, at } = spread(0.9, { refreshSpreadMs: 0 });
    await clock.advance(60 * MIN);
    expect(at[0]).toBe(57 * MIN);
  });

  it('is never more than half the window: RangeError naming the option', () => {
    expect(() => new AccessManager({ token: tokenAt(START), refreshSpreadMs: 90_001 })).toThrow(
      new RangeError('refreshSpreadMs must be at most half of aboutToExpireMs.'),
    );
    expect(() => new AccessManager({ token: tokenAt(START), refreshSpreadMs: -1 })).toThrow(RangeError);
    expect(() => new AccessManager({ token: tokenAt(START), refreshSpreadMs: '1' as never })).toThrow(TypeError);
  });

  it('never delays refresh(), getToken() on an expired token, a client error or the first fetch', async () => {
    const first = spread(1);
    await first.clock.advance(57 * MIN); // inside the spread delay
    await first.manager.refresh();
    expect(first.reasons).toEqual(['manual']);

    const expired = spread(1, {});
    expired.clock.jump(61 * MIN); // slept past the expiry: no spread
    await expired.manager.getToken();
    expect(expired.reasons).toEqual(['expired']);

    const clientError = spread(1);
    await clientError.clock.advance(57 * MIN);
    clientError.manager.handleClientError({ code: 20104 });
    await flush();
    expect(clientError.reasons).toEqual(['clientError']);

    const clock = Object.assign(new ManualClock(START), { random: () => 1 });
    const fetchToken = vi.fn(async () => tokenAt(clock.now()));
    create({ fetchToken, clock, refreshSpreadMs: undefined });
    await flush();
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('a token from elsewhere during the spread delay cancels the pending refresh', async () => {
    const { clock, manager, at } = spread(1);
    await clock.advance(58 * MIN);
    await manager.updateToken(tokenAt(clock.now(), 3600));
    await clock.advance(30 * MIN);
    expect(at).toEqual([]);
  });

  it('a window noticed late (sleep) refreshes no later than refreshSpreadMs into the window', async () => {
    const late = spread(1);
    late.clock.jump(57 * MIN + 80 * SEC); // woke 80 s into the window: at most 10 s of spread left
    window.dispatchEvent(new Event('focus'));
    await late.clock.advance(20 * SEC);
    expect(late.at).toEqual([57 * MIN + 90 * SEC]);

    const later = spread(1);
    later.clock.jump(58 * MIN + 40 * SEC); // woke 100 s into the window: at once
    window.dispatchEvent(new Event('focus'));
    await flush();
    expect(later.at).toEqual([58 * MIN + 40 * SEC]);
  });

  it('a token that expires during the spread delay (a slept timer) is refreshed at once, reason expired', async () => {
    const { clock, at, reasons } = spread(1);
    await clock.advance(57 * MIN);
    clock.sleep(4 * MIN); // the spread timer stalls; the machine wakes after the expiry
    window.dispatchEvent(new Event('focus'));
    await flush();
    expect(at).toEqual([61 * MIN]);
    expect(reasons).toEqual(['expired']);
  });

  it('the storm guard still holds back tokens fetched inside their window', async () => {
    const clock = Object.assign(new ManualClock(START), { random: () => 0.5 });
    const at: number[] = [];
    const fetchToken = vi.fn(async () => {
      at.push(clock.now() - START);
      return tokenAt(clock.now(), 60); // 60 s tokens: always inside the 180 s window
    });
    create({ fetchToken, clock, refreshSpreadMs: undefined });
    await clock.advance(40 * SEC);
    expect(at).toEqual([0, 1, 3, 7, 15, 31].map((s) => s * SEC));
  });
});
