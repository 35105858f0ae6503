// The manager re-raises a throwing listener's (or logger's, or subscriber's) error apart, in a microtask, so that
// it reaches the page's error reporting. In a test that throws on purpose, this collects those errors instead of
// letting them fail the run. The spy is restored with the other mocks (vi.restoreAllMocks).
import { vi } from 'vitest';

// The real one, taken once: a second call before the mocks are restored (a property whose run failed before its
// restore, then shrinks) must not wrap the spy in itself, which recursed until the stack overflowed and hid the
// failure that came first.
const queue = globalThis.queueMicrotask;

/**
 * Starts collecting what is re-raised in microtasks from now on; returns the array they are pushed to. A later
 * call takes over: errors go to the newest array.
 */
export function catchReRaised(): unknown[] {
  const raised: unknown[] = [];
  vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) =>
    queue(() => {
      try {
        callback();
      } catch (error) {
        raised.push(error);
      }
    }),
  );
  return raised;
}
