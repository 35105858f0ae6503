// @vitest-environment node
// The manual clock every timing test and benchmark runs on: timers fire in (due time, creation) order, cleared ones
// never fire, and cleared timers do not pile up in its heap when time never moves (the memory benchmark re-arms a
// manager's timer 100,000 times without advancing).
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.mjs';

describe('ManualClock', () => {
  it('fires timers by due time, then by creation order, and never a cleared one', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const at = (name: string, ms: number) => clock.setTimeout(() => fired.push(name), ms);
    at('c', 30);
    const cleared = at('x', 10);
    at('a', 10);
    at('b', 20);
    at('a2', 10);
    clock.clearTimeout(cleared);
    clock.clearTimeout(cleared);
    expect(clock.pending).toBe(4);
    await clock.advance(25);
    expect(fired).toEqual(['a', 'a2', 'b']);
    expect(clock.now()).toBe(25);
    await clock.advance(10);
    expect(fired).toEqual(['a', 'a2', 'b', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('drops cleared timers once they outnumber the live ones, keeping the order of the rest', async () => {
    const clock = new ManualClock(0, { recordArmed: false });
    const fired: number[] = [];
    const kept: number[] = [];
    // A pseudo-random but fixed spread of due times, each timer cleared right away except every tenth.
    for (let i = 0; i < 5000; i++) {
      const due = (i * 7919) % 1000;
      const timer = clock.setTimeout(() => fired.push(i), due);
      if (i % 10 === 0) kept.push(i);
      else clock.clearTimeout(timer);
    }
    expect(clock.pending).toBe(kept.length);
    // Compacted: what is left in the heap is close to the live timers, not the 5,000 ever armed.
    expect(clock.delays).toHaveLength(kept.length);
    expect(clock.heapSize).toBeLessThan(2 * kept.length + 1024);
    await clock.advance(1000);
    const expected = [...kept].sort((a, b) => (a * 7919) % 1000 - (b * 7919) % 1000 || a - b);
    expect(fired).toEqual(expected);
  });

  it('re-arming one timer many times without moving time keeps the heap small', () => {
    const clock = new ManualClock(0, { recordArmed: false });
    let timer = clock.setTimeout(() => {}, 60_000);
    for (let i = 0; i < 100_000; i++) {
      clock.clearTimeout(timer);
      timer = clock.setTimeout(() => {}, 60_000);
    }
    expect(clock.pending).toBe(1);
    expect(clock.heapSize).toBeLessThanOrEqual(1024);
  });
});

