import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessManager, type FetchContext } from '../../src/index.js';
import { names } from '../helpers/record.js';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { ManualClock, create, flush, manualFetcher, tokenAt, watch } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const wakeEvents: [string, () => void][] = [
  ['visibilitychange on document', () => document.dispatchEvent(new Event('visibilitychange'))],
  ['focus on window', () => window.dispatchEvent(new Event('focus'))],
  ['online on window', () => window.dispatchEvent(new Event('online'))],
  ['pageshow on window', () => window.dispatchEvent(new Event('pageshow'))],
];

describe('wall-clock deadlines', () => {
  it('a timer that fires late catches up at once: tokenAboutToExpire and the refresh, at the late moment', async () => {
    const f = manualFetcher();
    const { clock, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    clock.jump(58 * MIN + 30 * SEC); // a throttled tab: the timer fires, but late
    await clock.runDue();
    expect(names(events)).toEqual(['tokenAboutToExpire']);
    expect(events[0]).toMatchObject({ at: START + 58.5 * MIN, msLeft: 90 * SEC });
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['aboutToExpire']);
  });

  it.each(wakeEvents)('after a sleep, %s re-checks at once (no timer needed)', async (_label, dispatch) => {
    const f = manualFetcher();
    const { clock, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    clock.jump(58 * MIN); // the lid was closed: nothing fired
    expect(events).toEqual([]);
    dispatch();
    expect(names(events)).toEqual(['tokenAboutToExpire']);
    expect(events[0]!.msLeft).toBe(2 * MIN);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['aboutToExpire']);
    // The overdue timer then fires too, and finds nothing more to do; more wake events neither.
    await clock.runDue();
    for (const [, again] of wakeEvents) again();
    await flush();
    expect(names(events)).toEqual(['tokenAboutToExpire']);
    expect(f.calls).toHaveLength(1);
  });

  it.each(wakeEvents)('a wake event (%s) before anything is due changes nothing', async (_label, dispatch) => {
    const f = manualFetcher();
    const { clock, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    clock.jump(30 * MIN);
    dispatch();
    await flush();
    expect(events).toEqual([]);
    expect(f.calls).toHaveLength(0);
    expect(clock.delays.every((d) => d <= 60_000)).toBe(true);
  });

  it('a 3-hour sleep past expiry gives the missed tokenAboutToExpire, exactly one tokenExpired, one fetch', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now()));
    const { clock, manager, events } = create({ token: tokenAt(START), fetchToken });
    await clock.advance(30 * MIN);
    clock.jump(3 * HOUR);
    window.dispatchEvent(new Event('focus'));
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('pageshow'));
    window.dispatchEvent(new Event('online'));
    await clock.runDue();
    await clock.advance(10 * MIN);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired', 'tokenUpdated']);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(fetchToken.mock.calls[0]![0]).toMatchObject({ reason: 'expired', attempt: 1 });
    expect(manager.state).toBe('valid');
  });

  it('a sleep during a retry backoff: the retry happens at once on waking', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = manualFetcher();
    const { clock, errors } = create({ fetchToken: f.fetchToken });
    f.last().reject(new Error('offline'));
    await flush();
    expect(errors.map((e) => e.retryInMs)).toEqual([1000]);
    clock.jump(10 * MIN);
    window.dispatchEvent(new Event('focus'));
    expect(f.calls).toHaveLength(2);
  });

  it('a sleep during a fetch: the attempt times out at once on waking and is retried', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const f = manualFetcher();
    const { clock, errors } = create({ fetchToken: f.fetchToken });
    clock.jump(10 * MIN);
    await clock.runDue();
    expect(f.calls[0]!.ctx.signal.aborted).toBe(true);
    expect(errors.map((e) => [e.code, e.attempt])).toEqual([['FETCH_TIMEOUT', 1]]);
    expect(f.calls).toHaveLength(2);
  });
});

describe('the 60 s re-arm', () => {
  it('never arms a timer longer than 60 s, whatever the deadlines (token, backoff, fetch timeout)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const clock = new ManualClock(START);
    let fail = true;
    const fetchToken = vi.fn(async (_ctx: FetchContext) => {
      if (fail) throw new Error('down');
      return tokenAt(clock.now(), 24 * 3600);
    });
    const manager = new AccessManager({
      token: tokenAt(START, 24 * 3600),
      fetchToken,
      clock,
      fetchTimeoutMs: 10 * MIN,
      retry: { minDelayMs: 5 * MIN, maxDelayMs: HOUR },
    });
    await clock.advance(25 * HOUR);
    expect(fetchToken.mock.calls.length).toBeGreaterThan(3);
    expect(manager.state).toBe('expired');
    fail = false;
    await clock.advance(2 * HOUR);
    expect(manager.state).toBe('valid');
    expect(clock.armed.length).toBeGreaterThan(24 * 60);
    expect(Math.max(...clock.armed)).toBe(60_000);
    manager.dispose();
  });

  it('notices a sleep past expiry within 60 s of waking, with no window event', async () => {
    const clock = new ManualClock(START);
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now()));
    const manager = new AccessManager({ token: tokenAt(START), fetchToken, clock });
    const { events } = watch(manager, clock);
    await clock.advance(20 * MIN + 15 * SEC);
    clock.sleep(3 * HOUR); // timers stall: monotonic time stands still
    const woke = clock.now();
    await clock.advance(60 * SEC);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired', 'tokenUpdated']);
    expect(events[0]!.at - woke).toBeLessThanOrEqual(60 * SEC);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    manager.dispose();
  });

  it('notices a sleep into the about-to-expire window within 60 s of waking', async () => {
    const clock = new ManualClock(START);
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now()));
    const manager = new AccessManager({ token: tokenAt(START), fetchToken, clock });
    const { events } = watch(manager, clock);
    await clock.advance(10 * SEC);
    clock.sleep(58 * MIN);
    const woke = clock.now();
    await clock.advance(60 * SEC);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenUpdated']);
    expect(events[0]!.at - woke).toBeLessThanOrEqual(60 * SEC);
    expect(fetchToken.mock.calls.map(([ctx]) => ctx.reason)).toEqual(['aboutToExpire']);
    manager.dispose();
  });
});

describe('window listeners', () => {
  it('are added once and removed on dispose; events after dispose do nothing', async () => {
    const add = vi.spyOn(window, 'addEventListener');
    const remove = vi.spyOn(window, 'removeEventListener');
    const docAdd = vi.spyOn(document, 'addEventListener');
    const docRemove = vi.spyOn(document, 'removeEventListener');
    const f = manualFetcher();
    const { clock, manager } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    const added = add.mock.calls.map(([type]) => type).sort();
    expect(added).toEqual(['focus', 'online', 'pageshow']);
    expect(docAdd.mock.calls.map(([type]) => type)).toEqual(['visibilitychange']);
    const seen = vi.fn();
    manager.on('tokenAboutToExpire', seen);
    manager.on('tokenExpired', seen);

    manager.dispose();
    expect(remove.mock.calls.map(([type, fn]) => [type, fn])).toEqual(expect.arrayContaining(add.mock.calls.map(([t, fn]) => [t, fn])));
    expect(docRemove.mock.calls.map(([type, fn]) => [type, fn])).toEqual(docAdd.mock.calls.map(([t, fn]) => [t, fn]));
    clock.jump(2 * HOUR);
    for (const [, dispatch] of wakeEvents) expect(dispatch).not.toThrow();
    await clock.runDue();
    expect(seen).not.toHaveBeenCalled();
    expect(f.calls).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });
});
