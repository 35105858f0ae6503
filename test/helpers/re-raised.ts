// The manager re-raises a throwing listener's (or logger's, or subscriber's) error apart, in a microtask, so that
// it reaches the page's error reporting. In a test that throws on purpose, this collects those errors instead of
// letting them fail the run. The spy is restored with the other mocks (vi.restoreAllMocks).
import { vi } from 'vitest';

/** Starts collecting what is re-raised in microtasks from now on; returns the array they are pushed to. */
export function catchReRaised(): unknown[] {
  const raised: unknown[] = [];
  const queue = globalThis.queueMicrotask;
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
