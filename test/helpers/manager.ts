// Managers made for a test are disposed when that test finishes, passed or failed, through vitest's
// `onTestFinished`: no per-file list of managers, no afterEach loop. The callbacks run after the afterEach hooks,
// newest first, so a manager is disposed before whatever it was made on (a tab environment, say) is taken down.
import { onTestFinished, vi } from 'vitest';
import { AccessManager, type AccessManagerOptions } from '../../src/index.js';

/** `thing`, disposed when the current test finishes. Call it inside a test (or a beforeEach). */
export function disposeAfterTest<T extends { dispose(): void }>(thing: T): T {
  onTestFinished(() => thing.dispose());
  return thing;
}

/** `new AccessManager(options)`, disposed when the current test finishes. */
export function createManager(options: AccessManagerOptions = {}): AccessManager {
  return disposeAfterTest(new AccessManager(options));
}

/**
 * Restores the mocks (`vi.restoreAllMocks()`) only after the test's managers are disposed, for files whose mocks
 * must see the managers' last events too: a `queueMicrotask` that catches what a throwing listener re-raises, say,
 * which dispose() calls once more. Use it as `beforeEach(restoreMocksAfterManagers)` instead of an afterEach.
 */
export function restoreMocksAfterManagers(): void {
  onTestFinished(() => {
    vi.restoreAllMocks();
  });
}
