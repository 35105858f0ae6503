// The one manual clock a whole simulated fleet shares: `now()`, `setTimeout`, `clearTimeout` and a seeded
// `random()`, the shape of the AccessManager `clock` option. Time moves only in `run()`.
//
// Built for hundreds of thousands of managers that each keep one timer armed (re-armed at least once a minute):
// timers live in a binary heap ordered by (due time, creation order), so arming and firing are O(log n);
// clearing only marks the timer, and the heap drops it when it reaches the top.
//
// Promise work: a timer callback that settles a promise (the token server answering) calls `settleLater()`;
// before time moves past that moment, `run()` yields one macrotask so every promise chain it started (the
// manager adopting the token, the client fan-out, re-arming timers) finishes at that simulated time. Callbacks
// that only re-arm timers (the managers' wake-ups) need no such turn, which keeps millions of them cheap.

/** mulberry32: a small, fast PRNG with a 2^32 period; the same seed gives the same run. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const macrotask = () => new Promise((resolve) => setImmediate(resolve));

export class FleetClock {
  #now;
  // The heap: position i holds timer #timers[i], due at #at[i], created as number #seq[i]. Keys sit in typed
  // arrays so a sift through 100,000 timers reads contiguous memory instead of chasing objects.
  #at = new Float64Array(1 << 16);
  #seq = new Float64Array(1 << 16);
  #timers = [];
  #size = 0;
  #created = 0;
  #settle = false;
  /** Timer callbacks run so far. */
  fired = 0;

  constructor(start, seed = 1) {
    this.#now = start;
    this.random = seededRandom(seed);
  }

  now = () => this.#now;

  setTimeout = (callback, ms) => {
    const delay = Number(ms);
    const timer = { callback };
    this.#push(this.#now + (delay > 0 ? Math.floor(delay) : 0), timer);
    return timer;
  };

  clearTimeout = (timer) => {
    if (timer && typeof timer === 'object') timer.callback = null;
  };

  /** A timer callback just settled a promise: let its chain run before time moves on. */
  settleLater() {
    this.#settle = true;
  }

  /** Timers in the heap (cleared ones included until they reach the top). */
  get pending() {
    return this.#size;
  }

  /** Fires every timer due up to `end` in order, then leaves the clock at `end`. */
  async run(end) {
    while (this.#size > 0 && this.#at[0] <= end) {
      const due = this.#at[0];
      const timer = this.#pop();
      const { callback } = timer;
      if (callback === null) continue;
      timer.callback = null;
      this.#now = due;
      this.fired++;
      callback();
      if (this.#settle && (this.#size === 0 || this.#at[0] > due)) {
        this.#settle = false;
        await macrotask();
      }
    }
    this.#now = Math.max(this.#now, end);
    if (this.#settle) {
      this.#settle = false;
      await macrotask();
    }
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
    const at = this.#at;
    const seq = this.#seq;
    const timers = this.#timers;
    const top = timers[0];
    const n = --this.#size;
    const lastAt = at[n];
    const lastSeq = seq[n];
    const last = timers[n];
    timers[n] = undefined;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (at[right] < at[child] || (at[right] === at[child] && seq[right] < seq[child]))) child = right;
      if (lastAt < at[child] || (lastAt === at[child] && lastSeq < seq[child])) break;
      at[i] = at[child];
      seq[i] = seq[child];
      timers[i] = timers[child];
      i = child;
    }
    at[i] = lastAt;
    seq[i] = lastSeq;
    timers[i] = last;
    return top;
  }
}
