import type { Clock } from './types.js';

/** Browsers fire a timeout longer than 2^31-1 ms at once (ky's `maxSafeTimeout`). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

// Globals are looked up at call time so fake timers installed after import (vi.useFakeTimers, page.clock) work.
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
