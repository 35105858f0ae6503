// An in-process stand-in for the two browser APIs the cross-tab link needs, so several managers in one test
// behave like tabs of one origin: a BroadcastChannel that delivers to the other instances of the same name
// (never to the sender, always asynchronously, at a pace the test controls) and a `navigator.locks` whose
// exclusive locks are granted first come, first served and honour `signal` and `ifAvailable`.
//
// Delivery: on microtasks by default (the `flush()` inside `ManualClock.advance` runs them), or, with `clock`,
// `latencyMs` later on that clock, so a test can make the lock arrive before the message that should precede it.
// `pause()` holds every message until `resume()`. Everything posted is recorded in `posts`.
import { vi } from 'vitest';
import type { Clock } from '../../src/types.js';

export interface Post {
  /** Channel name (`token-warden:<name>`). */
  name: string;
  /** Which channel instance sent it (1-based, in creation order): one instance per manager. */
  from: number;
  data: unknown;
}

export interface TabEnvOptions {
  /** Times message delivery; without it messages arrive on a microtask. */
  clock?: Clock;
  /** Delivery delay on `clock`. Default 0. */
  latencyMs?: number;
  /** Install only one of the two APIs, to check the per-tab fallback. Both by default. */
  broadcastChannel?: boolean;
  locks?: boolean;
}

export interface TabEnv {
  /** Every message posted, in order. */
  readonly posts: Post[];
  /** Errors thrown by a message handler (a real browser would report them to `window.onerror`). */
  readonly handlerErrors: unknown[];
  /** Channel instances created so far, open or closed. */
  readonly channels: TestBroadcastChannel[];
  /** Holds messages until `resume()`. */
  pause(): void;
  /** Delivers the held messages (in order, asynchronously like any other) and stops holding. */
  resume(): void;
  /** Name of every lock currently held, and how many requests wait for each. */
  lockState(): { held: string[]; waiting: Record<string, number> };
  /** Posts of `{ t: 'token' }` messages carrying `token`. */
  tokenPosts(token?: string): Post[];
  uninstall(): void;
}

type Listener = (event: { data: unknown; type: 'message' }) => void;

export interface TestBroadcastChannel {
  readonly name: string;
  readonly id: number;
  readonly closed: boolean;
  onmessage: Listener | null;
  postMessage(data: unknown): void;
  addEventListener(type: 'message', listener: Listener): void;
  removeEventListener(type: 'message', listener: Listener): void;
  close(): void;
}

interface LockRequest {
  callback: (lock: { name: string; mode: 'exclusive' } | null) => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal | undefined;
  onAbort?: () => void;
}

/** Installs the stand-ins (with `vi.stubGlobal` and a property on `navigator`); `uninstall()` removes them. */
export function installTabEnv(options: TabEnvOptions = {}): TabEnv {
  const { clock, latencyMs = 0, broadcastChannel = true, locks = true } = options;
  const posts: Post[] = [];
  const handlerErrors: unknown[] = [];
  const channels: TestBroadcastChannel[] = [];
  const byName = new Map<string, Set<Channel>>();
  let held: Array<() => void> | undefined;

  const later = (task: () => void) => {
    if (held) held.push(task);
    else if (clock) clock.setTimeout(task, latencyMs);
    else queueMicrotask(task);
  };

  class Channel implements TestBroadcastChannel {
    readonly id = channels.length + 1;
    closed = false;
    onmessage: Listener | null = null;
    private readonly listeners = new Set<Listener>();

    constructor(readonly name: string) {
      this.name = String(name);
      channels.push(this);
      if (!byName.has(this.name)) byName.set(this.name, new Set());
      byName.get(this.name)!.add(this);
    }

    postMessage(data: unknown): void {
      if (this.closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
      const copy = structuredClone(data);
      posts.push({ name: this.name, from: this.id, data: copy });
      for (const peer of byName.get(this.name) ?? []) {
        if (peer === this) continue;
        later(() => peer.deliver(structuredClone(copy)));
      }
    }

    addEventListener(type: 'message', listener: Listener): void {
      if (type === 'message') this.listeners.add(listener);
    }

    removeEventListener(type: 'message', listener: Listener): void {
      this.listeners.delete(listener);
    }

    close(): void {
      this.closed = true;
      byName.get(this.name)?.delete(this);
    }

    deliver(data: unknown): void {
      if (this.closed) return;
      const event = { data, type: 'message' as const };
      for (const listener of [this.onmessage, ...this.listeners]) {
        if (!listener) continue;
        try {
          listener.call(this, event);
        } catch (error) {
          handlerErrors.push(error);
        }
      }
    }
  }

  const queues = new Map<string, LockRequest[]>();
  const holding = new Set<string>();

  const grantNext = (name: string) => {
    if (holding.has(name)) return;
    const next = queues.get(name)?.shift();
    if (!next) return;
    if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
    holding.add(name);
    queueMicrotask(() => {
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
    request(name: string, optionsOrCallback: unknown, maybeCallback?: unknown): Promise<unknown> {
      const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as LockRequest['callback'];
      const { signal, ifAvailable = false } =
        typeof optionsOrCallback === 'object' && optionsOrCallback !== null
          ? (optionsOrCallback as { signal?: AbortSignal; ifAvailable?: boolean })
          : {};
      if (typeof callback !== 'function') return Promise.reject(new TypeError('callback is not a function'));
      // As the Web Locks spec says: a request that does not wait takes no signal.
      if (signal && ifAvailable) return Promise.reject(new DOMException('signal with ifAvailable', 'NotSupportedError'));
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (ifAvailable && (holding.has(name) || (queues.get(name)?.length ?? 0) > 0)) {
        return Promise.resolve().then(() => callback(null));
      }
      return new Promise((resolve, reject) => {
        const request: LockRequest = { callback, resolve, reject, signal };
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
        queues.get(name)!.push(request);
        grantNext(name);
      });
    },
    query: async () => ({
      held: [...holding].map((name) => ({ name, mode: 'exclusive' })),
      pending: [...queues].flatMap(([name, queue]) => queue.map(() => ({ name, mode: 'exclusive' }))),
    }),
  };

  vi.stubGlobal('BroadcastChannel', broadcastChannel ? Channel : undefined);
  // `locks` is a getter on Navigator.prototype (in happy-dom too): shadow it on the instance, restore on uninstall.
  const nav = globalThis.navigator as unknown as Record<string, unknown>;
  const previous = Object.getOwnPropertyDescriptor(nav, 'locks');
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
    lockState() {
      const waiting: Record<string, number> = {};
      for (const [name, queue] of queues) if (queue.length > 0) waiting[name] = queue.length;
      return { held: [...holding], waiting };
    },
    tokenPosts(token) {
      return posts.filter((post) => {
        const data = post.data as { t?: unknown; token?: unknown } | null;
        return data?.t === 'token' && (token === undefined || data.token === token);
      });
    },
    uninstall() {
      for (const channel of channels) channel.close();
      if (previous) Object.defineProperty(nav, 'locks', previous);
      else delete nav.locks;
      vi.unstubAllGlobals();
    },
  };
}
