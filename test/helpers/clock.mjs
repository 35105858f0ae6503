// A manual clock for the `clock` option: time moves only when the caller says so, and timers can be made to fire
// late (throttled tab) or not at all until a "wake" (laptop sleep). The tests, the benchmarks and the 40,000-manager
// fleet simulation all run on it; plain JavaScript (typed by clock.d.mts) so that plain Node can import it.
//
// Timers live in a binary heap ordered by (due time, creation order), so arming and firing are O(log n) with a
// hundred thousand of them armed; clearing only marks the timer, and the heap drops it when it reaches the top (or
// all cleared ones at once when they outnumber the live timers).
// The keys sit in typed arrays so a sift reads contiguous memory instead of chasing objects.
//
// Promise work between timers: before each timer fires, and once time has reached the end, `advance()` calls
// `settle(nextDue)` and awaits what it returns. The default lets a few chained microtasks run, which is what a
// manager on in-process fakes needs; the benchmarks pass their own (macrotask stand-ins, or nothing at all
// until a token server answered) so that millions of timer callbacks cost no await each.
import { START } from './time.mjs';

/** mulberry32: a small, fast PRNG with a 2^32 period; the same seed gives the same sequence. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets pending promise callbacks and a few chained microtasks run. */
export async function flush(rounds = 20) {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

const flushBetweenTimers = () => flush();

/** A timer's handle; `callback` is null once it fired or was cleared. */
class Timer {
  constructor(callback) {
    this.callback = callback;
  }
}

export class ManualClock {
  #now;
  // The heap: position i holds timer #timers[i], due at #at[i], created as number #seq[i].
  #at = new Float64Array(1 << 10);
  #seq = new Float64Array(1 << 10);
  #timers = [];
  #size = 0;
  #created = 0;
  #live = 0;
  #settle;
  /** Every delay ever armed, in order (empty when made with `recordArmed: false`). */
  armed = [];
  #recordArmed;
  /** Timer callbacks run so far. */
  fired = 0;

  constructor(start = START, { seed, settle = flushBetweenTimers, recordArmed = true } = {}) {
    this.#now = start;
    this.#settle = settle;
    this.#recordArmed = recordArmed;
    // Only on request: a clock without `random` leaves the manager on Math.random, which tests may mock.
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  now = () => this.#now;

  setTimeout = (callback, ms) => {
    if (this.#recordArmed) this.armed.push(ms);
    const timer = new Timer(callback);
    const due = this.#now + Math.max(0, ms);
    // A delay that is not a number never comes due, as before (a NaN key would break the heap's order).
    this.#push(Number.isNaN(due) ? Infinity : due, timer);
    this.#live++;
    return timer;
  };

  clearTimeout = (timer) => {
    if (!(timer instanceof Timer) || timer.callback === null) return;
    timer.callback = null;
    this.#live--;
    // A cleared timer stays in the heap until it reaches the top. A manager re-arms its one timer for every token,
    // and a benchmark may never move time, so once cleared timers outnumber live ones the heap is rebuilt without
    // them: memory follows the live timers (the order they fire in is the same in any heap of the same keys).
    if (this.#size >= 1024 && this.#live * 2 < this.#size) this.#compact();
  };

  /** Number of armed timers. */
  get pending() {
    return this.#live;
  }

  /** Entries in the heap, cleared timers not yet dropped included. */
  get heapSize() {
    return this.#size;
  }

  /** Delays of the armed timers from now, soonest first. */
  get delays() {
    const delays = [];
    for (let i = 0; i < this.#size; i++) if (this.#timers[i].callback !== null) delays.push(this.#at[i] - this.#now);
    return delays.sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers in order (settling promise work before each). */
  async advance(ms) {
    const end = this.#now + ms;
    for (;;) {
      const settling = this.#settle(this.#size > 0 ? this.#at[0] : Infinity);
      if (settling) await settling;
      const timer = this.#takeDue(end);
      if (timer === undefined) break;
      const { callback } = timer;
      timer.callback = null;
      this.#live--;
      this.fired++;
      callback();
    }
    this.#now = end;
    const settling = this.#settle(Infinity);
    if (settling) await settling;
  }

  /** Moves time forward without firing anything, like a laptop lid closed: timers are then overdue. */
  jump(ms) {
    this.#now += ms;
  }

  /**
   * Moves the wall clock forward while every armed timer still needs its full remaining delay of awake time, as
   * browsers' timers (on monotonic time) do across a sleep. This is what makes "re-arm at most every 60 s" matter.
   * Adding the same amount to every key keeps the heap in order.
   */
  sleep(ms) {
    this.#now += ms;
    for (let i = 0; i < this.#size; i++) this.#at[i] += ms;
  }

  /** Fires every overdue timer (and any that become due at the current time), as a waking machine does. */
  async runDue() {
    await this.advance(0);
  }

  /** The live timer at the top once it is due by `end` (moving the clock to it), dropping cleared ones on the way. */
  #takeDue(end) {
    while (this.#size > 0 && this.#at[0] <= end) {
      const due = this.#at[0];
      const timer = this.#pop();
      if (timer.callback === null) continue;
      if (due > this.#now) this.#now = due;
      return timer;
    }
    return undefined;
  }

  #push(due, timer) {
    if (this.#size === this.#at.length) {
      const at = new Float64Array(this.#size * 2);
      const seq = new Float64Array(this.#size * 2);
      at.set(this.#at);
      seq.set(this.#seq);
      this.#at = at;
      this.#seq = seq;
    }
    const at = this.#at;
    const seq = this.#seq;
    const timers = this.#timers;
    const number = this.#created++;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent] < due || (at[parent] === due && seq[parent] < number)) break;
      at[i] = at[parent];
      seq[i] = seq[parent];
      timers[i] = timers[parent];
      i = parent;
    }
    at[i] = due;
    seq[i] = number;
    timers[i] = timer;
  }

  #pop() {
    const timers = this.#timers;
    const top = timers[0];
    const n = --this.#size;
    const last = timers[n];
    timers[n] = undefined;
    if (n > 0) this.#siftDown(0, this.#at[n], this.#seq[n], last);
    return top;
  }

  /** Drops the cleared timers and restores the heap order bottom-up. */
  #compact() {
    const at = this.#at;
    const seq = this.#seq;
    const timers = this.#timers;
    let n = 0;
    for (let i = 0; i < this.#size; i++) {
      if (timers[i].callback === null) continue;
      at[n] = at[i];
      seq[n] = seq[i];
      timers[n] = timers[i];
      n++;
    }
    timers.length = n;
    this.#size = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#siftDown(i, at[i], seq[i], timers[i]);
  }

  /** Places the timer (due `due`, number `number`) at the hole `i`, moving smaller children up past it. */
  #siftDown(i, due, number, timer) {
    const at = this.#at;
    const seq = this.#seq;
    const timers = this.#timers;
    const n = this.#size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (at[right] < at[child] || (at[right] === at[child] && seq[right] < seq[child]))) child = right;
      if (due < at[child] || (due === at[child] && number < seq[child])) break;
      at[i] = at[child];
      seq[i] = seq[child];
      timers[i] = timers[child];
      i = child;
    }
    at[i] = due;
    seq[i] = number;
    timers[i] = timer;
  }
}
