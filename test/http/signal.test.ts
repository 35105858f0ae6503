// @vitest-environment node
// The abort plumbing alone: abortReason, anySignal (with and without AbortSignal.any) and untilAborted.
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { abortReason, anySignal, untilAborted } from '../../src/http/signal.js';
import { deferred } from '../helpers/deferred.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Removes AbortSignal.any (Safari < 17.4) until the current test finishes. */
function withoutAbortSignalAny(): void {
  const original = Object.getOwnPropertyDescriptor(AbortSignal, 'any')!;
  Object.defineProperty(AbortSignal, 'any', { value: undefined, configurable: true, writable: true });
  onTestFinished(() => {
    Object.defineProperty(AbortSignal, 'any', original);
  });
}

const aborted = (reason: unknown) => {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
};

describe('abortReason', () => {
  it("is the signal's reason", () => {
    const reason = new Error('stop');
    expect(abortReason(aborted(reason))).toBe(reason);
  });

  it('is an AbortError DOMException where the platform sets none', () => {
    const reason = abortReason({ reason: undefined } as AbortSignal) as DOMException;
    expect(reason).toBeInstanceOf(DOMException);
    expect(reason.name).toBe('AbortError');
    expect(reason.message).toBe('This operation was aborted');
  });
});

describe('anySignal', () => {
  it('no signal: undefined; one (also given twice, or beside null and undefined): that very signal', () => {
    expect(anySignal([]).signal).toBeUndefined();
    expect(anySignal([null, undefined]).signal).toBeUndefined();
    const { signal } = new AbortController();
    expect(anySignal([signal]).signal).toBe(signal);
    expect(anySignal([null, signal, undefined, signal]).signal).toBe(signal);
  });

  it('two: AbortSignal.any of them where the platform has it', () => {
    const any = vi.spyOn(AbortSignal, 'any');
    const a = new AbortController();
    const b = new AbortController();
    const combined = anySignal([a.signal, null, b.signal, a.signal]);
    expect(any).toHaveBeenCalledWith([a.signal, b.signal]);
    expect(combined.signal).toBe(any.mock.results[0]!.value);
    const reason = new Error('b');
    b.abort(reason);
    expect(combined.signal!.reason).toBe(reason);
  });

  describe('without AbortSignal.any (Safari < 17.4)', () => {
    it('aborts with the reason of the first one that aborts, then drops its listeners', () => {
      withoutAbortSignalAny();
      const a = new AbortController();
      const b = new AbortController();
      const removeA = vi.spyOn(a.signal, 'removeEventListener');
      const removeB = vi.spyOn(b.signal, 'removeEventListener');
      const { signal } = anySignal([a.signal, b.signal]);
      expect(signal!.aborted).toBe(false);
      const reason = new Error('b first');
      b.abort(reason);
      expect(signal!.aborted).toBe(true);
      expect(signal!.reason).toBe(reason);
      expect(removeA).toHaveBeenCalledWith('abort', expect.any(Function));
      expect(removeB).toHaveBeenCalledWith('abort', expect.any(Function));
      a.abort(new Error('later'));
      expect(signal!.reason).toBe(reason);
    });

    it('is aborted at once when one is aborted already, with its reason, keeping no listener', () => {
      withoutAbortSignalAny();
      const a = new AbortController();
      const add = vi.spyOn(a.signal, 'addEventListener');
      const remove = vi.spyOn(a.signal, 'removeEventListener');
      const reason = new Error('already');
      const { signal } = anySignal([a.signal, aborted(reason)]);
      expect(signal!.aborted).toBe(true);
      expect(signal!.reason).toBe(reason);
      expect(remove).toHaveBeenCalledTimes(add.mock.calls.length);
      expect(add).toHaveBeenCalledTimes(1);
    });

    it('stops at the first aborted one: later signals get no listener', () => {
      withoutAbortSignalAny();
      const later = new AbortController();
      const add = vi.spyOn(later.signal, 'addEventListener');
      const { signal } = anySignal([aborted('first'), later.signal]);
      expect(signal!.reason).toBe('first');
      expect(add).not.toHaveBeenCalled();
    });

    it('dispose() drops the listeners: a later abort no longer reaches the combined signal', () => {
      withoutAbortSignalAny();
      const a = new AbortController();
      const b = new AbortController();
      const { signal, dispose } = anySignal([a.signal, b.signal]);
      dispose();
      a.abort();
      expect(signal!.aborted).toBe(false);
      dispose();
    });
  });
});

describe('untilAborted', () => {
  it('without a signal: the promise itself', () => {
    const promise = Promise.resolve(1);
    expect(untilAborted(promise, undefined)).toBe(promise);
    expect(untilAborted(promise, null)).toBe(promise);
  });

  it('an aborted signal: rejects with its reason at once', async () => {
    const reason = new Error('stop');
    await expect(untilAborted(new Promise(() => {}), aborted(reason))).rejects.toBe(reason);
  });

  it('settles like the promise, and drops its listener', async () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await expect(untilAborted(Promise.resolve('value'), controller.signal)).resolves.toBe('value');
    expect(remove.mock.calls).toEqual([['abort', expect.any(Function)]]);
    const error = new Error('failed');
    await expect(untilAborted(Promise.reject(error), controller.signal)).rejects.toBe(error);
    expect(remove.mock.calls).toEqual([
      ['abort', expect.any(Function)],
      ['abort', expect.any(Function)],
    ]);
  });

  it('rejects with the reason as soon as the signal aborts, whatever the promise does later', async () => {
    const controller = new AbortController();
    const work = deferred();
    const result = untilAborted(work.promise, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    work.resolve();
    await expect(result).rejects.toBe(reason);
  });
});
