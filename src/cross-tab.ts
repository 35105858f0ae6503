import type { Clock } from './types.js';

/** Messages between tabs. Only tokens travel, never errors or state: each tab validates what it receives. */
type Message = { t: 'ask' } | { t: 'hi' } | { t: 'token'; token: string };

/** The cross-tab link of one manager: a BroadcastChannel for tokens and a Web Lock around fetching. */
export interface CrossTabLink {
  /** Local time the link opened and asked its peers for their token. */
  readonly openedAt: number;
  /** Sends a token this tab fetched or was given to every other tab. */
  publish(token: string): void;
  /** Asks the other tabs for their token; resolves true as soon as `satisfied()` holds, false after `waitMs`. */
  ask(waitMs: number, satisfied: () => boolean): Promise<boolean>;
  /**
   * Runs `task` while holding the origin-wide refresh lock. `waited` tells whether another tab held it first: that
   * tab may have just fetched, and its token may still be on the way (the channel and the lock are not ordered).
   */
  withLock<T>(task: (waited: boolean) => Promise<T>, signal: AbortSignal): Promise<T>;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T>): Promise<T>;
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
    if (message.t === 'ask') {
      const token = current();
      send(token ? { t: 'token', token } : { t: 'hi' });
    } else if (message.t === 'token' && typeof message.token === 'string') {
      receive(message.token);
    }
    for (const check of [...waiters.keys()]) check();
  };

  // Introduce this tab: a peer holding a newer token answers with it, so a tab that starts with an older one (a
  // token rendered into the page) adopts it now instead of fetching another when its own runs out.
  const openedAt = clock.now();
  send({ t: 'ask' });
  // That ask also serves an `ask()` made right away (a tab without a token): no second ask in the same turn.
  let introducing = true;
  queueMicrotask(() => {
    introducing = false;
  });

  return {
    openedAt,
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
        if (!introducing) send({ t: 'ask' });
      });
    },
    async withLock(task, signal) {
      signal.throwIfAborted();
      // `ifAvailable` does not wait, so it takes no signal (the two may not be combined).
      const free = await locks.request(key, { ifAvailable: true }, async (lock) => (lock ? { value: await task(false) } : undefined));
      return free ? free.value : locks.request(key, { signal }, () => task(true));
    },
    close() {
      for (const giveUp of [...waiters.values()]) giveUp();
      channel.onmessage = null;
      channel.close();
    },
  };
}
