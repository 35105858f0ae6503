// An in-process stand-in for the two browser APIs the cross-tab link needs, so several managers in one process
// behave like tabs of one origin: a BroadcastChannel that delivers to the other instances of the same name
// (never to the sender, always asynchronously, at a pace the caller controls) and a `navigator.locks` whose
// exclusive locks are granted first come, first served and honour `signal` and `ifAvailable`. The tests and the
// benchmarks share it; plain JavaScript (typed by tab-env.d.mts) so that plain Node can import it.
//
// Delivery: on microtasks by default (the `flush()` inside `ManualClock.advance` runs them), or, with `clock`,
// `latencyMs` later on that clock, so a test can make the lock arrive before the message that should precede it,
// or, with `macrotasks`, as macrotasks (setImmediate) for messages and lock grants alike, as browsers do; then
// `settle()` waits until nothing is in flight (the benchmarks' clock calls it between timers).
// `pause()` holds every message until `resume()`. Everything posted is recorded in `posts`.

const macrotask = () => new Promise((resolve) => setImmediate(resolve));

/** Installs the stand-ins on `globalThis` (a `navigator` too where there is none); `uninstall()` removes them. */
export function installTabEnv(options = {}) {
  const { clock, latencyMs = 0, macrotasks = false, broadcastChannel = true, locks = true } = options;
  const posts = [];
  const handlerErrors = [];
  const channels = [];
  const byName = new Map();
  let held;
  let inFlight = 0;
  let uninstalled = false;

  const soon = macrotasks
    ? (task) => {
        inFlight++;
        setImmediate(() => {
          inFlight--;
          task();
        });
      }
    : queueMicrotask;

  const later = (task) => {
    if (held) held.push(task);
    else if (clock) clock.setTimeout(task, latencyMs);
    else soon(task);
  };

  class Channel {
    id = channels.length + 1;
    closed = false;
    onmessage = null;
    #listeners = new Set();

    constructor(name) {
      this.name = String(name);
      channels.push(this);
      if (!byName.has(this.name)) byName.set(this.name, new Set());
      byName.get(this.name).add(this);
    }

    postMessage(data) {
      if (this.closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
      const copy = structuredClone(data);
      posts.push({ name: this.name, from: this.id, data: copy });
      for (const peer of byName.get(this.name) ?? []) {
        if (peer === this) continue;
        later(() => peer.deliver(structuredClone(copy)));
      }
    }

    addEventListener(type, listener) {
      if (type === 'message') this.#listeners.add(listener);
    }

    removeEventListener(type, listener) {
      this.#listeners.delete(listener);
    }

    close() {
      this.closed = true;
      byName.get(this.name)?.delete(this);
    }

    deliver(data) {
      if (this.closed) return;
      const event = { data, type: 'message' };
      for (const listener of [this.onmessage, ...this.#listeners]) {
        if (!listener) continue;
        try {
          listener.call(this, event);
        } catch (error) {
          handlerErrors.push(error);
        }
      }
    }
  }

  const queues = new Map();
  const holding = new Set();

  const grantNext = (name) => {
    if (holding.has(name)) return;
    const next = queues.get(name)?.shift();
    if (!next) return;
    if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
    holding.add(name);
    soon(() => {
      Promise.resolve()
        .then(() => next.callback({ name, mode: 'exclusive' }))
        .then(next.resolve, next.reject)
        .finally(() => {
          holding.delete(name);
          queueMicrotask(() => grantNext(name));
        });
    });
  };

  const lockManager = {
    request(name, optionsOrCallback, maybeCallback) {
      const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
      const { signal, ifAvailable = false } = typeof optionsOrCallback === 'object' && optionsOrCallback !== null ? optionsOrCallback : {};
      if (typeof callback !== 'function') return Promise.reject(new TypeError('callback is not a function'));
      // As the Web Locks spec says: a request that does not wait takes no signal.
      if (signal && ifAvailable) return Promise.reject(new DOMException('signal with ifAvailable', 'NotSupportedError'));
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (ifAvailable && (holding.has(name) || (queues.get(name)?.length ?? 0) > 0)) {
        return Promise.resolve().then(() => callback(null));
      }
      return new Promise((resolve, reject) => {
        const request = { callback, resolve, reject, signal };
        if (signal) {
          request.onAbort = () => {
            const queue = queues.get(name) ?? [];
            const index = queue.indexOf(request);
            if (index < 0) return; // already granted: aborting no longer matters
            queue.splice(index, 1);
            reject(signal.reason);
          };
          signal.addEventListener('abort', request.onAbort, { once: true });
        }
        if (!queues.has(name)) queues.set(name, []);
        queues.get(name).push(request);
        grantNext(name);
      });
    },
    query: async () => ({
      held: [...holding].map((name) => ({ name, mode: 'exclusive' })),
      pending: [...queues].flatMap(([name, queue]) => queue.map(() => ({ name, mode: 'exclusive' }))),
    }),
  };

  // Replaced globals, restored by uninstall(). `locks` is a getter on Navigator.prototype (in happy-dom too):
  // shadow it on the instance. Plain Node (20) has no navigator at all: lend it one.
  const previousChannel = Object.getOwnPropertyDescriptor(globalThis, 'BroadcastChannel');
  Object.defineProperty(globalThis, 'BroadcastChannel', { value: broadcastChannel ? Channel : undefined, configurable: true, writable: true });
  const lentNavigator = globalThis.navigator === undefined;
  const previousNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  if (lentNavigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  const nav = globalThis.navigator;
  const previousLocks = Object.getOwnPropertyDescriptor(nav, 'locks');
  Object.defineProperty(nav, 'locks', { value: locks ? lockManager : undefined, configurable: true, writable: true });

  return {
    posts,
    handlerErrors,
    channels,
    pause() {
      held ??= [];
    },
    resume() {
      const tasks = held ?? [];
      held = undefined;
      for (const task of tasks) later(task);
    },
    async settle() {
      let quietTurns = 0;
      for (let turn = 0; turn < 10_000 && quietTurns < 3; turn++) {
        await macrotask();
        quietTurns = inFlight === 0 ? quietTurns + 1 : 0;
      }
    },
    lockState() {
      const waiting = {};
      for (const [name, queue] of queues) if (queue.length > 0) waiting[name] = queue.length;
      return { held: [...holding], waiting };
    },
    tokenPosts(token) {
      return posts.filter((post) => post.data?.t === 'token' && (token === undefined || post.data.token === token));
    },
    uninstall() {
      if (uninstalled) return;
      uninstalled = true;
      for (const channel of channels) channel.close();
      if (previousLocks) Object.defineProperty(nav, 'locks', previousLocks);
      else delete nav.locks;
      const restore = (key, previous) => {
        if (previous) Object.defineProperty(globalThis, key, previous);
        else delete globalThis[key];
      };
      if (lentNavigator) restore('navigator', previousNavigator);
      restore('BroadcastChannel', previousChannel);
    },
  };
}
