// @vitest-environment node
// emitIsolated alone, on a bare eventemitter3 emitter. queueMicrotask is replaced by a recorder, so a re-raised
// throw is caught here instead of failing the run, and the test can check it was deferred, not thrown in place.
import { EventEmitter } from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emitIsolated } from '../../src/emit.js';

let queued: Array<() => void>;

beforeEach(() => {
  queued = [];
  vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => {
    queued.push(callback);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** What each queued microtask throws. */
function reRaised(): unknown[] {
  return queued.map((callback) => {
    try {
      callback();
    } catch (error) {
      return error;
    }
    return 'did not throw';
  });
}

describe('emitIsolated', () => {
  it('calls every listener in order with the arguments, with its context', () => {
    const emitter = new EventEmitter();
    const calls: unknown[][] = [];
    const context = { name: 'ctx' };
    emitter.on('x', (...args: unknown[]) => calls.push(['a', ...args]));
    emitter.on('x', function (this: unknown, ...args: unknown[]) {
      calls.push(['b', this, ...args]);
    }, context);
    emitter.on('y', () => calls.push(['other event']));
    emitIsolated(emitter, 'x', [1, 'two']);
    expect(calls).toEqual([
      ['a', 1, 'two'],
      ['b', context, 1, 'two'],
    ]);
    expect(queued).toEqual([]);
  });

  it('with a single listener (stored unwrapped) calls it', () => {
    const emitter = new EventEmitter();
    const calls: unknown[] = [];
    emitter.on('x', (value: unknown) => calls.push(value));
    emitIsolated(emitter, 'x', [7]);
    expect(calls).toEqual([7]);
  });

  it('without listeners does nothing, also for "error"', () => {
    const emitter = new EventEmitter();
    expect(() => emitIsolated(emitter, 'error', [new Error('nobody listens')])).not.toThrow();
    expect(queued).toEqual([]);
  });

  it('a throwing listener does not stop the others; each throw is re-raised apart, later', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    const first = new Error('first');
    const second = new TypeError('second');
    emitter.on('x', () => {
      calls.push('a');
      throw first;
    });
    emitter.on('x', () => calls.push('b'));
    emitter.on('x', () => {
      calls.push('c');
      throw second;
    });
    emitter.on('x', () => calls.push('d'));
    expect(() => emitIsolated(emitter, 'x', [])).not.toThrow();
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
    expect(reRaised()).toEqual([first, second]);
    expect(reRaised()[0]).toBe(first);
  });

  it('a thrown non-Error value is re-raised as it is', () => {
    const emitter = new EventEmitter();
    emitter.on('x', () => {
      throw 'a string';
    });
    emitIsolated(emitter, 'x', []);
    expect(reRaised()).toEqual(['a string']);
  });

  it('once listeners are removed before they run, also when they throw', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    let countInside = -1;
    emitter.once('x', () => {
      calls.push('once');
      countInside = emitter.listenerCount('x');
    });
    emitter.once('x', () => {
      calls.push('once, throwing');
      throw new Error('once');
    });
    emitter.on('x', () => calls.push('on'));
    emitIsolated(emitter, 'x', []);
    expect(calls).toEqual(['once', 'once, throwing', 'on']);
    expect(countInside).toBe(2);
    expect(emitter.listenerCount('x')).toBe(1);
    calls.length = 0;
    emitIsolated(emitter, 'x', []);
    expect(calls).toEqual(['on']);
    expect(queued).toHaveLength(1);
  });

  it('removing a once listener leaves the same function registered with on()', () => {
    const emitter = new EventEmitter();
    let calls = 0;
    const listener = () => calls++;
    emitter.once('x', listener);
    emitter.on('x', listener);
    emitIsolated(emitter, 'x', []);
    expect(calls).toBe(2);
    expect(emitter.listenerCount('x')).toBe(1);
    emitIsolated(emitter, 'x', []);
    expect(calls).toBe(3);
  });

  it('a once listener that emits again re-entrantly does not hear itself', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    emitter.once('x', (v: string) => {
      calls.push(`once:${v}`);
      emitIsolated(emitter, 'x', ['inner']);
    });
    emitter.on('x', (v: string) => calls.push(`on:${v}`));
    emitIsolated(emitter, 'x', ['outer']);
    expect(calls).toEqual(['once:outer', 'on:inner', 'on:outer']);
  });

  // The inner emit calls (and removes) a once listener after the one that re-emits; the outer emit, still walking
  // its own list, must not call it again with the older payload. (eventemitter3's own emit would.) In the manager:
  // a tokenUpdated listener that calls updateToken() must not make a once('tokenUpdated') listener hear two tokens.
  it('a once listener is called once even when an earlier listener emits again re-entrantly', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    emitter.on('x', (v: string) => {
      calls.push(`on:${v}`);
      if (v === 'outer') emitIsolated(emitter, 'x', ['inner']);
    });
    emitter.once('x', (v: string) => calls.push(`once:${v}`));
    emitIsolated(emitter, 'x', ['outer']);
    expect(calls).toEqual(['on:outer', 'on:inner', 'once:inner']);
  });

  it('a listener removed by an earlier one during the emit is still called (like eventemitter3)', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    const b = () => calls.push('b');
    emitter.on('x', () => {
      calls.push('a');
      emitter.off('x', b);
    });
    emitter.on('x', b);
    emitIsolated(emitter, 'x', []);
    expect(calls).toEqual(['a', 'b']);
    expect(emitter.listenerCount('x')).toBe(1);
  });

  it('a listener added during the emit of a one-listener event waits for the next emit', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    emitter.on('x', () => {
      calls.push('a');
      if (calls.length === 1) emitter.on('x', () => calls.push('late'));
    });
    emitIsolated(emitter, 'x', []);
    expect(calls).toEqual(['a']);
  });

  // With two or more listeners eventemitter3 keeps them in an array and `on` pushes onto it: emitIsolated walks a
  // copy, so a listener added meanwhile (even one that re-adds itself) hears the next emit, not this one.
  it('a listener added during the emit of a two-listener event waits for the next emit', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    emitter.on('x', () => calls.push('a'));
    emitter.on('x', () => {
      calls.push('b');
      if (calls.length === 2) emitter.on('x', () => calls.push('late'));
    });
    emitIsolated(emitter, 'x', []);
    expect(calls).toEqual(['a', 'b']);
  });
});

describe('emitIsolated: once and on with the same function', () => {
  it('removes only the once registration: the on one still hears the next event', () => {
    const emitter = new EventEmitter();
    const calls: string[] = [];
    const listener = (value: string) => calls.push(value);
    emitter.on('x', listener);
    emitter.once('x', listener);
    emitIsolated(emitter, 'x', ['first']);
    emitIsolated(emitter, 'x', ['second']);
    expect(calls).toEqual(['first', 'first', 'second']);
    expect(emitter.listenerCount('x')).toBe(1);
  });
});
