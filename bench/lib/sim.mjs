// Simulated environment for the benchmarks: in-process stand-ins for the two browser APIs cross-tab coordination
// needs (Node 20 has no `navigator.locks`, and its own BroadcastChannel delivers on libuv's schedule, which a
// manual clock cannot wait for deterministically).
//
// Both stand-ins deliver asynchronously as macrotasks (setImmediate), as browsers do, and count what is still in
// flight so `settle()` can wait until the simulated "tabs" are quiet before the clock moves on.

let inFlight = 0;
const later = (fn) => {
  inFlight++;
  setImmediate(() => {
    inFlight--;
    fn();
  });
};

const macrotask = () => new Promise((resolve) => setImmediate(resolve));

/** Waits until no channel message or lock grant is in flight and the microtask queue has drained. */
export async function settle() {
  let quietTurns = 0;
  for (let turn = 0; turn < 10_000 && quietTurns < 3; turn++) {
    await macrotask();
    quietTurns = inFlight === 0 ? quietTurns + 1 : 0;
  }
}

const channels = new Map();

/** `BroadcastChannel` for one process: every instance with the same name is a "tab" of one origin. */
export class InProcessBroadcastChannel extends EventTarget {
  onmessage = null;
  onmessageerror = null;
  #closed = false;

  constructor(name) {
    super();
    this.name = String(name);
    if (!channels.has(this.name)) channels.set(this.name, new Set());
    channels.get(this.name).add(this);
  }

  postMessage(message) {
    if (this.#closed) throw new DOMException('BroadcastChannel is closed', 'InvalidStateError');
    for (const other of channels.get(this.name)) {
      if (other === this) continue;
      const data = structuredClone(message);
      later(() => other.#deliver(data));
    }
  }

  #deliver(data) {
    if (this.#closed) return;
    const event = new MessageEvent('message', { data });
    if (typeof this.onmessage === 'function') this.onmessage(event);
    this.dispatchEvent(event);
  }

  close() {
    this.#closed = true;
    channels.get(this.name)?.delete(this);
  }
}

const abortError = (signal) => signal.reason ?? new DOMException('The request was aborted', 'AbortError');

/** `navigator.locks` for one process: exclusive and shared modes, `ifAvailable`, `steal`, `signal`, FIFO queue. */
export class InProcessLockManager {
  #held = new Map(); // name -> Array<{ mode }>
  #queue = new Map(); // name -> Array<request>

  request(name, optionsOrCallback, maybeCallback) {
    const [options, callback] =
      typeof optionsOrCallback === 'function' ? [{}, optionsOrCallback] : [optionsOrCallback ?? {}, maybeCallback];
    const mode = options.mode ?? 'exclusive';
    const { signal } = options;
    if (typeof callback !== 'function') return Promise.reject(new TypeError('callback is not a function'));
    if (signal?.aborted) return Promise.reject(abortError(signal));

    return new Promise((resolve, reject) => {
      const request = { name, mode, callback, resolve, reject, signal, onAbort: undefined };
      if (options.steal) {
        this.#held.set(name, []);
        this.#grant(request);
        return;
      }
      if (this.#grantable(name, mode)) {
        this.#grant(request);
        return;
      }
      if (options.ifAvailable) {
        later(() => this.#run(request, null));
        return;
      }
      if (signal) {
        request.onAbort = () => {
          const queue = this.#queue.get(name) ?? [];
          const index = queue.indexOf(request);
          if (index >= 0) {
            queue.splice(index, 1);
            reject(abortError(signal));
          }
        };
        signal.addEventListener('abort', request.onAbort, { once: true });
      }
      if (!this.#queue.has(name)) this.#queue.set(name, []);
      this.#queue.get(name).push(request);
    });
  }

  async query() {
    const list = (map, pending) =>
      [...map].flatMap(([name, entries]) => entries.map((e) => ({ name, mode: e.mode, clientId: pending ? 'q' : 'h' })));
    return { held: list(this.#held, false), pending: list(this.#queue, true) };
  }

  #grantable(name, mode) {
    if ((this.#queue.get(name) ?? []).length > 0) return false;
    const held = this.#held.get(name) ?? [];
    return held.length === 0 || (mode === 'shared' && held.every((h) => h.mode === 'shared'));
  }

  #grant(request) {
    const entry = { mode: request.mode };
    if (!this.#held.has(request.name)) this.#held.set(request.name, []);
    this.#held.get(request.name).push(entry);
    if (request.signal && request.onAbort) request.signal.removeEventListener('abort', request.onAbort);
    later(() => this.#run(request, { name: request.name, mode: request.mode }, entry));
  }

  async #run(request, lock, entry) {
    try {
      request.resolve(await request.callback(lock));
    } catch (error) {
      request.reject(error);
    } finally {
      if (entry) this.#release(request.name, entry);
    }
  }

  #release(name, entry) {
    const held = this.#held.get(name) ?? [];
    const index = held.indexOf(entry);
    if (index >= 0) held.splice(index, 1);
    const queue = this.#queue.get(name) ?? [];
    while (queue.length > 0) {
      const head = queue[0];
      const holders = this.#held.get(name) ?? [];
      const ok = holders.length === 0 || (head.mode === 'shared' && holders.every((h) => h.mode === 'shared'));
      if (!ok) break;
      queue.shift();
      this.#grant(head);
    }
  }
}

/**
 * Puts the stand-ins on `globalThis` (Node 20 has no `navigator`; its BroadcastChannel is replaced for the run)
 * and returns a function that restores what was there.
 */
export function installBrowserStandIns() {
  const saved = {
    BroadcastChannel: Object.getOwnPropertyDescriptor(globalThis, 'BroadcastChannel'),
    navigator: Object.getOwnPropertyDescriptor(globalThis, 'navigator'),
  };
  const locks = new InProcessLockManager();
  Object.defineProperty(globalThis, 'BroadcastChannel', {
    value: InProcessBroadcastChannel,
    configurable: true,
    writable: true,
  });
  const navigator = globalThis.navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(navigator), { locks }),
    configurable: true,
    writable: true,
  });
  return () => {
    for (const [key, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(globalThis, key, descriptor);
      else delete globalThis[key];
    }
  };
}
