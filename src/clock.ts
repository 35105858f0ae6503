import type { Clock } from './types.js';

/** Browsers fire a timeout longer than 2^31-1 ms at once (ky's `maxSafeTimeout`). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

// Globals are looked up at call time so fake timers installed after import (vi.useFakeTimers, page.clock) work.
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle: unknown = setTimeout(callback, ms);
    // Node, Bun and Deno hand back an object whose `unref()` lets the process exit while only this timer is
    // pending: a manager left undisposed in a test run or a server render must not hold the process open.
    // Browsers return a number, which has no `unref` (and a fake timer's handle may be anything, or nothing).
    (handle as { unref?: () => void } | undefined)?.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
