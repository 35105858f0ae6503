// @vitest-environment node
// The real clock alone: timers that do not hold a Node process open, and platforms whose handles are not objects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { realClock } from '../../src/clock.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('realClock', () => {
  it("unrefs Node's timer object, so a pending timer does not keep the process alive", () => {
    const handle = realClock.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    try {
      expect(typeof handle).toBe('object');
      expect(handle.hasRef()).toBe(false);
    } finally {
      realClock.clearTimeout(handle);
    }
  });

  it("clears a timer with the platform's clearTimeout", () => {
    vi.useFakeTimers();
    try {
      const callback = vi.fn();
      const handle = realClock.setTimeout(callback, 1000);
      realClock.clearTimeout(handle);
      vi.advanceTimersByTime(2000);
      expect(callback).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['a number (browsers)', 7],
    ['null', null],
    ['an object without unref', { id: 1 }],
  ])('hands back %s as it is, calling nothing on it', (_label, handle) => {
    const setTimeout = vi.fn(() => handle);
    vi.stubGlobal('setTimeout', setTimeout);
    const callback = () => {};
    expect(realClock.setTimeout(callback, 5)).toBe(handle);
    expect(setTimeout).toHaveBeenCalledWith(callback, 5);
  });
});
