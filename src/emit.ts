// Emitting to listeners that may throw. eventemitter3's `emit` stops at the first listener that throws, so a
// buggy listener would keep the ones after it from the event; this walks its listener list the way `emit` does
// (`once` listeners removed before they run) and calls each in isolation.
import { EventEmitter } from 'eventemitter3';

/** How eventemitter3 keeps a listener. */
interface StoredListener {
  fn: (...args: unknown[]) => void;
  context: unknown;
  once: boolean;
}

/**
 * Calls every listener of `event` with `args`, even when one throws; each throw is re-raised apart, in a
 * microtask, so it still reaches the page's error reporting without breaking the caller's bookkeeping.
 */
export function emitIsolated(emitter: EventEmitter, event: string, args: unknown[]): void {
  // `prefixed` is '~' where eventemitter3 prefixes its keys (engines without Object.create), false everywhere else.
  const key = ((EventEmitter.prefixed as string | false) || '') + event;
  const events = (emitter as unknown as { _events: Record<string, StoredListener | StoredListener[] | undefined> })._events;
  const stored = events[key];
  if (!stored) return;
  // eventemitter3 keeps one listener bare and several in an array; `[value].flat()` is a fresh array either way.
  // The listeners when the event starts (eventemitter3 pushes new ones onto the same array): one added meanwhile
  // hears the next event, not this one.
  for (const listener of [stored].flat()) {
    if (listener.once) {
      // A listener that emitted this event again from inside may have run (and removed) it already.
      const now = events[key];
      if (![now].flat().includes(listener)) continue;
      emitter.removeListener(event, listener.fn, undefined, true);
    }
    try {
      listener.fn.apply(listener.context, args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
