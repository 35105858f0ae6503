import type { Clock } from './types.js';

/** Messages between tabs. Only tokens travel, never errors or state: each tab validates what it receives. */
type Message = { t: 'ask' } | { t: 'hi' } | { t: 'token'; token: string };

/** The cross-tab link of one manager: a BroadcastChannel for tokens and a Web Lock around fetching. */
export interface CrossTabLink {
  /** True once any other tab answered or spoke on the channel. */
  readonly hasPeers: boolean;
  /** Sends a token this tab fetched or was given to every other tab. */
  publish(token: string): void;
  /** Asks the other tabs for their token; resolves true as soon as `satisfied()` holds, false after `waitMs`. */
  ask(waitMs: number, satisfied: () => boolean): Promise<boolean>;
  /** Runs `task` while holding the origin-wide refresh lock. */
  withLock<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T>;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

/**
 * Opens the link, or returns `undefined` where `BroadcastChannel` or `navigator.locks` is missing (older
 * browsers, some webviews, Node): the manager then silently works per tab.
 *
 * @param receive - called with every token a peer sends; the manager validates and maybe adopts it.
 * @param current - this tab's token, to answer a peer that asks.
 */
export function openCrossTab(
  name: string,
  clock: Clock,
  receive: (token: string) => void,
  current: () => string | undefined,
): CrossTabLink | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (typeof BroadcastChannel !== 'function' || typeof locks?.request !== 'function') return undefined;

  const key = `token-warden:${name}`;
  const channel = new BroadcastChannel(key);
  // Pending `ask` calls: each entry re-checks on a message; its value gives up (on close).
  const waiters = new Map<() => void, () => void>();
  let hasPeers = false;
  const send = (message: Message) => {
    try {
      channel.postMessage(message);
    } catch {
      // A closed channel (page being unloaded) has nobody left to tell.
    }
  };

  channel.onmessage = (event: MessageEvent) => {
    const message = event.data as Partial<Message> | null;
    if (typeof message !== 'object' || message === null) return;
    hasPeers = true;
    if (message.t === 'ask') {
      const token = current();
      send(token ? { t: 'token', token } : { t: 'hi' });
    } else if (message.t === 'token' && typeof message.token === 'string') {
      receive(message.token);
    }
    for (const check of [...waiters.keys()]) check();
  };

  return {
    get hasPeers() {
      return hasPeers;
    },
    publish: (token) => send({ t: 'token', token }),
    ask(waitMs, satisfied) {
      if (satisfied()) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const finish = (result: boolean) => {
          if (!waiters.delete(check)) return;
          clock.clearTimeout(timer);
          resolve(result);
        };
        const check = () => {
          if (satisfied()) finish(true);
        };
        waiters.set(check, () => finish(false));
        const timer = clock.setTimeout(() => finish(satisfied()), waitMs);
        send({ t: 'ask' });
      });
    },
    withLock: (task, signal) => locks.request(key, { signal }, task),
    close() {
      for (const giveUp of [...waiters.values()]) giveUp();
      channel.onmessage = null;
      channel.close();
    },
  };
}
