import type { Clock } from './types.js';

/**
 * Messages between tabs. Only tokens travel, never errors or state: each tab validates what it receives. A token
 * comes with the sender's clock skew when it measured one: tabs share the machine's clock, so it holds for all.
 */
type Message = { t: 'ask' } | { t: 'hi' } | { t: 'token'; token: string; skew?: number };

/** The cross-tab link of one manager: a BroadcastChannel for tokens and a Web Lock around fetching. */
export interface CrossTabLink {
  /** Local time this tab last asked its peers for their token (first when the link opened). */
  readonly lastAskAt: number;
  /** Sends a token this tab fetched or was given to every other tab. */
  publish(token: string): void;
  /**
   * Waits for the other tabs' token; resolves true as soon as `satisfied()` holds, false after `waitMs`. Asks them
   * unless this tab asked less than `waitMs` ago (their answers to that are still on the way).
   */
  ask(waitMs: number, satisfied: () => boolean): Promise<boolean>;
  /**
   * Runs `task` while holding the origin-wide refresh lock; `signal` withdraws a request still waiting for it.
   * When `task` resolves `true` (it sent a token), the lock is kept `lingerMs` longer, past the promise: the token
   * is on its way to the tabs queued behind, and the channel and the lock are not ordered, so the next tab must not
   * get the lock before the token.
   */
  withLock(task: () => Promise<boolean>, signal: AbortSignal, lingerMs: number): Promise<void>;
  close(): void;
}

/**
 * Asks are answered at most this often. Every tab gets the same answer, so a flood of asks (a confused or hostile
 * page of the same origin) costs a few broadcasts instead of one per ask; a tab that asks meanwhile still hears
 * the answer well within the 200 ms it waits.
 */
export const ANSWER_INTERVAL_MS = 50;

interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

/**
 * Opens the link, or returns `undefined` where `BroadcastChannel` or `navigator.locks` is missing (older
 * browsers, some webviews, Node, pages that are not a secure context): the manager then silently works per tab.
 *
 * @param receive - called with every token a peer sends (and its skew, if it sent one); the manager validates
 *   and maybe adopts it.
 * @param current - this tab's token, to answer a peer that asks.
 * @param skew - this tab's clock skew (server time minus local time), sent along with its tokens unless 0.
 */
export function openCrossTab(
  name: string,
  clock: Clock,
  receive: (token: string, skew: number | undefined) => void,
  current: () => string | undefined,
  skew: () => number,
): CrossTabLink | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (typeof BroadcastChannel !== 'function' || typeof locks?.request !== 'function') return undefined;

  const key = `token-warden:${name}`;
  const channel = new BroadcastChannel(key);
  let closed = false;
  // Pending `ask` calls: each entry re-checks on a message; its value gives up (on close).
  const waiters = new Map<() => void, () => void>();
  // Releases the lock kept after a fetch (on close); one at most, as the next attempt waits for that very lock.
  let letGo: (() => void) | undefined;
  const tokenMessage = (token: string): Message => {
    const ms = skew();
    return ms !== 0 && Number.isFinite(ms) ? { t: 'token', token, skew: ms } : { t: 'token', token };
  };
  const send = (message: Message) => {
    try {
      channel.postMessage(message);
    } catch {
      // A closed channel (page being unloaded) has nobody left to tell.
    }
  };

  let answeredAt = -Infinity;
  let answerTimer: unknown;
  const answer = () => {
    answerTimer = undefined;
    answeredAt = clock.now();
    const token = current();
    send(token ? tokenMessage(token) : { t: 'hi' });
  };

  channel.onmessage = (event: MessageEvent) => {
    const message = event.data as Partial<Message> | null;
    if (typeof message !== 'object' || message === null) return;
    if (message.t === 'ask') {
      const wait = answeredAt + ANSWER_INTERVAL_MS - clock.now();
      if (wait <= 0) answer();
      else answerTimer ??= clock.setTimeout(answer, wait);
    } else if (message.t === 'token' && typeof message.token === 'string') {
      // Number.isFinite is false for anything that is not a number (no coercion).
      receive(message.token, Number.isFinite(message.skew) ? message.skew : undefined);
    }
    for (const check of [...waiters.keys()]) check();
  };

  // Introduce this tab: a peer with a newer token answers with it, so a tab that starts with an older one (rendered
  // into the page, or expired) adopts it instead of fetching another.
  let lastAskAt = clock.now();
  send({ t: 'ask' });

  return {
    get lastAskAt() {
      return lastAskAt;
    },
    publish: (token) => send(tokenMessage(token)),
    ask(waitMs, satisfied) {
      if (satisfied()) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const finish = (result: boolean) => {
          // Stryker disable next-line ConditionalExpression: each ask finishes once anyway (its timer cleared, its entry gone); this guards a second call
          if (!waiters.delete(check)) return;
          clock.clearTimeout(timer);
          resolve(result);
        };
        const check = () => {
          if (satisfied()) finish(true);
        };
        waiters.set(check, () => finish(false));
        const timer = clock.setTimeout(() => finish(satisfied()), waitMs);
        if (clock.now() - lastAskAt >= waitMs) {
          lastAskAt = clock.now();
          send({ t: 'ask' });
        }
      });
    },
    withLock(task, signal, lingerMs) {
      return new Promise<void>((resolve, reject) => {
        locks
          .request(key, { signal }, async () => {
            // A task that throws rejects the request, and so this promise (the catch below).
            const sent = await task();
            resolve();
            if (!sent || closed) return;
            await new Promise<void>((release) => {
              const timer = clock.setTimeout(release, lingerMs);
              letGo = () => {
                clock.clearTimeout(timer);
                release();
              };
            });
          })
          .catch(reject);
      });
    },
    close() {
      closed = true;
      if (answerTimer !== undefined) clock.clearTimeout(answerTimer);
      for (const giveUp of [...waiters.values()]) giveUp();
      letGo?.();
      channel.onmessage = null;
      channel.close();
    },
  };
}
