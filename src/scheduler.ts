import type { Clock } from './types.js';

/**
 * Longest single wait. A timer is not trusted to fire on time (throttled tabs, laptop sleep stall the timer
 * queue), so the scheduler re-arms at least once a minute and the owner re-checks its wall-clock deadlines.
 */
export const MAX_STEP_MS = 60_000;

/**
 * One timer at a time, aimed at the earliest wall-clock deadline the owner reports. The owner's `tick` decides
 * what is due by comparing deadlines with `clock.now()`, so a late timer simply catches up.
 */
export class Scheduler {
  /** Aims the timer at `deadline` (ms since the epoch, local clock); `undefined` leaves no timer. */
  declare readonly arm: (deadline: number | undefined) => void;
  /** Leaves no timer. */
  declare readonly cancel: () => void;

  // The timer's state lives in locals that the methods close over, not in #private fields: in the minified file
  // each use is then one letter instead of `this.#x`.
  constructor(clock: Clock, tick: () => void) {
    let handle: unknown;
    let armed = false;
    const cancel = (this.cancel = () => {
      if (armed) clock.clearTimeout(handle);
      armed = false;
    });
    this.arm = (deadline) => {
      cancel();
      if (deadline === undefined) return;
      // At most MAX_STEP_MS, so also far below the 2^31-1 ms that browsers' setTimeout takes (MAX_TIMEOUT_MS).
      const delay = Math.min(Math.max(0, deadline - clock.now()), MAX_STEP_MS);
      armed = true;
      handle = clock.setTimeout(() => {
        armed = false;
        tick();
      }, delay);
    };
  }
}

/** Window events after which deadlines must be re-checked: the tab was hidden, asleep, offline or restored. */
export const WAKE_EVENTS = ['focus', 'online', 'pageshow'] as const;

/**
 * Calls `onWake` on `visibilitychange`, `focus`, `online` and `pageshow`; returns the function that removes the
 * listeners. Outside a browser it does nothing.
 */
export function watchWindow(onWake: (type: string) => void): () => void {
  // Read off `globalThis`: outside a browser both are simply missing.
  const { window: win, document: doc } = globalThis as { window?: Window; document?: Document };
  if (!win?.addEventListener) return () => {};
  const listener = (event: Event) => onWake(event.type);
  for (const type of WAKE_EVENTS) win.addEventListener(type, listener);
  doc?.addEventListener('visibilitychange', listener);
  return () => {
    for (const type of WAKE_EVENTS) win.removeEventListener(type, listener);
    doc?.removeEventListener('visibilitychange', listener);
  };
}
