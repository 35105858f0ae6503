// A manual clock for the `clock` option: time moves only when a test says so, and timers can be made to fire
// late (throttled tab) or not at all until a "wake" (laptop sleep).
import type { Clock } from '../../src/types.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class ManualClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.current = start;
  }

  now = (): number => this.current;

  /** Every delay ever armed, in order. */
  readonly armed: number[] = [];

  setTimeout = (callback: () => void, ms: number): unknown => {
    this.armed.push(ms);
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };

  /** Number of armed timers. */
  get pending(): number {
    return this.timers.length;
  }

  /** Delays of the armed timers from now, soonest first. */
  get delays(): number[] {
    return this.timers.map((t) => t.at - this.current).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers in order (with microtasks flushed between them). */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      await flush();
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      this.timers = this.timers.filter((t) => t !== next);
      next.callback();
    }
    this.current = end;
    await flush();
  }

  /** Moves time forward without firing anything, like a laptop lid closed: timers are then overdue. */
  jump(ms: number): void {
    this.current += ms;
  }

  /**
   * Moves the wall clock forward while every armed timer still needs its full remaining delay of awake time, as
   * browsers' timers (on monotonic time) do across a sleep. This is what makes "re-arm at most every 60 s" matter.
   */
  sleep(ms: number): void {
    this.current += ms;
    for (const timer of this.timers) timer.at += ms;
  }

  /** Fires every overdue timer (and any that become due at the current time), as a waking machine does. */
  async runDue(): Promise<void> {
    await this.advance(0);
  }
}

/** Lets pending promise callbacks and a few chained microtasks run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
