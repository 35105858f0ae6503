// Abort plumbing shared by the fetcher and the authorized instance. Kept free of ky so it works with every ky
// version in the peer range (older ones neither merge a user signal with their own nor check one already aborted).

/** The reason an aborted signal carries, or a DOMException `AbortError` where the platform sets none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * One signal that aborts when any of `signals` does. Returns `dispose` to drop the listeners once the work is
 * over: without `AbortSignal.any` (Safari < 17.4) a long-lived signal would otherwise keep every attempt alive.
 */
export function anySignal(signals: ReadonlyArray<AbortSignal | null | undefined>): {
  signal: AbortSignal | undefined;
  dispose: () => void;
} {
  const present = [...new Set(signals.filter((s): s is AbortSignal => s != null))];
  if (present.length <= 1) return { signal: present[0], dispose: () => {} };
  if (typeof AbortSignal.any === 'function') return { signal: AbortSignal.any(present), dispose: () => {} };

  const controller = new AbortController();
  const cleanups: Array<() => void> = [];
  const dispose = () => cleanups.splice(0).forEach((cleanup) => cleanup());
  for (const signal of present) {
    if (signal.aborted) {
      controller.abort(abortReason(signal));
      break;
    }
    const onAbort = () => {
      controller.abort(abortReason(signal));
      dispose();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose };
}

/** Settles like `promise`, or rejects with the abort reason as soon as `signal` aborts (the promise keeps running). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
