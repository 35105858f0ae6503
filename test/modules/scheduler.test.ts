// @vitest-environment node
// The single timer and the window wake-ups, alone: a manual clock records every delay armed, and plain
// EventTargets stand in for `window` and `document`.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS } from '../../src/clock.js';
import { MAX_STEP_MS, Scheduler, WAKE_EVENTS, watchWindow } from '../../src/scheduler.js';
import type { Clock } from '../../src/types.js';
import { ManualClock } from '../helpers/clock.mjs';

afterEach(() => {
  vi.unstubAllGlobals();
});

function setup() {
  const clock = new ManualClock();
  let ticks = 0;
  const scheduler = new Scheduler(clock, () => ticks++);
  return { clock, scheduler, ticks: () => ticks, t0: clock.now() };
}

describe('Scheduler', () => {
  it('waits at most a minute per step, far below the browsers\' 2^31-1 ms limit', () => {
    expect(MAX_STEP_MS).toBe(60_000);
    expect(MAX_TIMEOUT_MS).toBe(2_147_483_647);
  });

  it.each([
    ['5 s ahead', 5000, 5000],
    ['exactly a minute ahead', 60_000, 60_000],
    ['an hour ahead: one minute, then re-armed by the owner', 3_600_000, 60_000],
    ['beyond 2^31-1 ms', 2 ** 40, 60_000],
    ['now', 0, 0],
    ['already past (a late tick)', -10_000, 0],
  ])('a deadline %s arms %i ms', (_label, ahead, delay) => {
    const { clock, scheduler, t0 } = setup();
    scheduler.arm(t0 + ahead);
    expect(clock.armed).toEqual([delay]);
    expect(clock.pending).toBe(1);
  });

  it('no deadline, no timer; and it cancels the armed one', () => {
    const { clock, scheduler, t0 } = setup();
    scheduler.arm(t0 + 1000);
    scheduler.arm(undefined);
    expect(clock.pending).toBe(0);
  });

  it('one timer at a time: arming again replaces it', () => {
    const { clock, scheduler, t0 } = setup();
    scheduler.arm(t0 + 5000);
    scheduler.arm(t0 + 2000);
    expect(clock.armed).toEqual([5000, 2000]);
    expect(clock.delays).toEqual([2000]);
  });

  it('ticks the owner when the timer fires, once', async () => {
    const { clock, scheduler, ticks, t0 } = setup();
    scheduler.arm(t0 + 5000);
    await clock.advance(4999);
    expect(ticks()).toBe(0);
    await clock.advance(1);
    expect(ticks()).toBe(1);
    await clock.advance(120_000);
    expect(ticks()).toBe(1);
  });

  it('the owner may re-arm from inside its tick', async () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const scheduler: Scheduler = new Scheduler(clock, () => {
      at.push(clock.now());
      if (at.length < 3) scheduler.arm(clock.now() + 1000);
    });
    const t0 = clock.now();
    scheduler.arm(t0 + 1000);
    await clock.advance(10_000);
    expect(at).toEqual([t0 + 1000, t0 + 2000, t0 + 3000]);
    expect(clock.pending).toBe(0);
  });

  it('cancel() clears the armed timer; after the timer fired it clears nothing', async () => {
    const { clock, scheduler, t0 } = setup();
    const clear = vi.spyOn(clock, 'clearTimeout');
    scheduler.arm(t0 + 1000);
    scheduler.cancel();
    expect(clear).toHaveBeenCalledTimes(1);
    expect(clock.pending).toBe(0);
    scheduler.arm(t0 + 1000);
    await clock.advance(1000);
    clear.mockClear();
    scheduler.cancel();
    expect(clear).not.toHaveBeenCalled();
  });

  it('a clock whose handles are falsy (0) is still cleared', () => {
    const cleared: unknown[] = [];
    const clock: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: (handle) => cleared.push(handle) };
    const scheduler = new Scheduler(clock, () => {});
    scheduler.arm(10);
    scheduler.arm(20);
    scheduler.cancel();
    expect(cleared).toEqual([0, 0]);
  });
});

describe('watchWindow', () => {
  function stubWindow() {
    const win = new EventTarget();
    const doc = new EventTarget();
    vi.stubGlobal('window', win);
    vi.stubGlobal('document', doc);
    return { win, doc };
  }

  it('re-checks on focus, online and pageshow (window) and visibilitychange (document)', () => {
    expect([...WAKE_EVENTS]).toEqual(['focus', 'online', 'pageshow']);
    const { win, doc } = stubWindow();
    const woke: string[] = [];
    watchWindow((type) => woke.push(type));
    for (const type of ['focus', 'online', 'pageshow', 'blur', 'offline']) win.dispatchEvent(new Event(type));
    doc.dispatchEvent(new Event('visibilitychange'));
    win.dispatchEvent(new Event('visibilitychange'));
    expect(woke).toEqual(['focus', 'online', 'pageshow', 'visibilitychange']);
  });

  it('the returned function removes every listener', () => {
    const { win, doc } = stubWindow();
    const woke: string[] = [];
    const unwatch = watchWindow((type) => woke.push(type));
    unwatch();
    for (const type of WAKE_EVENTS) win.dispatchEvent(new Event(type));
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(woke).toEqual([]);
  });

  it('without a window (Node, a worker) does nothing and returns a no-op', () => {
    vi.stubGlobal('window', undefined);
    vi.stubGlobal('document', undefined);
    const unwatch = watchWindow(() => {
      throw new Error('no window, no wake-ups');
    });
    expect(() => unwatch()).not.toThrow();
  });
});

describe('Scheduler and watchWindow: edges', () => {
  it('a timer that fired, or was cancelled, is not cleared again', async () => {
    const clock = new ManualClock();
    const cleared: unknown[] = [];
    const spy: Clock = {
      now: clock.now,
      setTimeout: clock.setTimeout,
      clearTimeout: (handle) => {
        cleared.push(handle);
        clock.clearTimeout(handle);
      },
    };
    const scheduler = new Scheduler(spy, () => {});
    scheduler.arm(clock.now() + 1000);
    await clock.advance(1000);
    scheduler.arm(clock.now() + 1000);
    expect(cleared).toEqual([]);
    scheduler.cancel();
    scheduler.cancel();
    expect(cleared).toHaveLength(1);
  });

  it('a window without a document: the window events only, and removing them does not throw', () => {
    const win = new EventTarget();
    vi.stubGlobal('window', win);
    vi.stubGlobal('document', undefined);
    const seen: string[] = [];
    const stop = watchWindow((type) => seen.push(type));
    win.dispatchEvent(new Event('focus'));
    expect(seen).toEqual(['focus']);
    expect(() => stop()).not.toThrow();
    win.dispatchEvent(new Event('focus'));
    expect(seen).toEqual(['focus']);
  });
});
