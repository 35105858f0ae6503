import { AccessManagerError } from './errors.js';
import type { ClientOptions, Clock, TokenClient } from './types.js';

/** One `push` waiting for its clients: resolves when each has settled this token or a newer one. */
interface Push {
  remaining: number;
  resolve: () => void;
}

/** A token on its way to one client, and the pushes that wait for it. */
interface Delivery {
  token: string;
  pushes: Push[];
}

interface Entry {
  client: TokenClient;
  name: string;
  grants: string[] | undefined;
  /** Delivery the client is busy with. */
  current?: Delivery | undefined;
  /** Newest token waiting for the client to finish `current`; older waiting tokens are dropped. */
  next?: Delivery | undefined;
}

let anonymous = 0;

const clientName = (client: TokenClient, options: ClientOptions): string => {
  if (options.name) return options.name;
  const ctor = (client as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? ctor : `client#${++anonymous}`;
};

const settlePushes = (delivery: Delivery): void => {
  for (const push of delivery.pushes) if (--push.remaining === 0) push.resolve();
};

/**
 * Hands each adopted token to every registered client, concurrently and in isolation: a client that throws,
 * rejects or hangs yields an error and never delays the others. Per client, calls are serialized so that a slow
 * client is never handed an older token after a newer one; while it is busy only the newest token waits.
 */
export class FanOut {
  private readonly entries = new Map<TokenClient, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly report: (error: AccessManagerError) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Registers `client`; registering it again replaces its options. Returns the entry. */
  add(client: TokenClient, options: ClientOptions): Entry {
    const existing = this.entries.get(client);
    const entry: Entry = existing ?? { client, name: '', grants: undefined };
    entry.name = clientName(client, options);
    entry.grants = options.grants ? [...options.grants] : undefined;
    this.entries.set(client, entry);
    return entry;
  }

  remove(client: TokenClient): boolean {
    const entry = this.entries.get(client);
    if (!entry) return false;
    this.entries.delete(client);
    // Nobody waits for a client that is gone.
    for (const delivery of [entry.current, entry.next]) if (delivery) settlePushes(delivery);
    entry.current = entry.next = undefined;
    return true;
  }

  clear(): void {
    for (const client of [...this.entries.keys()]) this.remove(client);
  }

  /** Reports `GRANT_MISSING` for every grant a client needs that `grants` lacks (all clients, or just `only`). */
  checkGrants(grants: Record<string, unknown>, only?: Entry): void {
    for (const entry of only ? [only] : this.entries.values()) {
      for (const grant of entry.grants ?? []) {
        if (grants[grant] === undefined) {
          this.report(
            new AccessManagerError('GRANT_MISSING', `Client "${entry.name}" needs the "${grant}" grant, which the token lacks.`, {
              clientName: entry.name,
            }),
          );
        }
      }
    }
  }

  /** Delivers `token` to every client; resolves once each has settled it (or a newer token). Never rejects. */
  push(token: string): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const push: Push = { remaining: this.entries.size, resolve };
    const started: [Entry, Delivery][] = [];
    for (const entry of this.entries.values()) {
      if (entry.current) {
        const pushes = entry.next ? [...entry.next.pushes, push] : [push];
        entry.next = { token, pushes };
      } else {
        const delivery: Delivery = { token, pushes: [push] };
        if (this.deliver(entry, delivery)) started.push([entry, delivery]);
      }
    }
    this.watch(started);
    return done;
  }

  /** Calls the client; true when its update is still pending (a promise). */
  private deliver(entry: Entry, delivery: Delivery): boolean {
    entry.current = delivery;
    let result: unknown;
    try {
      result = entry.client.updateToken(delivery.token);
    } catch (error) {
      this.settle(entry, delivery, 'CLIENT_UPDATE_FAILED', error);
      return false;
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
      this.settle(entry, delivery);
      return false;
    }
    (result as PromiseLike<unknown>).then(
      () => this.settle(entry, delivery),
      (error: unknown) => this.settle(entry, delivery, 'CLIENT_UPDATE_FAILED', error),
    );
    return true;
  }

  /** One timer per batch of pending deliveries, however many clients there are. */
  private watch(batch: [Entry, Delivery][]): void {
    if (batch.length === 0) return;
    let open = batch.length;
    const timer = this.clock.setTimeout(() => {
      for (const [entry, delivery] of batch) {
        if (entry.current === delivery) this.settle(entry, delivery, 'CLIENT_UPDATE_TIMEOUT');
      }
    }, this.timeoutMs);
    for (const [, delivery] of batch) {
      delivery.pushes.push({
        remaining: 1,
        resolve: () => {
          if (--open === 0) this.clock.clearTimeout(timer);
        },
      });
    }
  }

  private settle(
    entry: Entry,
    delivery: Delivery,
    failure?: 'CLIENT_UPDATE_FAILED' | 'CLIENT_UPDATE_TIMEOUT',
    cause?: unknown,
  ): void {
    if (entry.current !== delivery) return; // timed out or removed earlier; a late result changes nothing
    entry.current = undefined;
    if (failure) {
      const message =
        failure === 'CLIENT_UPDATE_FAILED'
          ? `Client "${entry.name}" failed to update its token.`
          : `Client "${entry.name}" did not finish updateToken within clientTimeoutMs (${this.timeoutMs} ms).`;
      this.report(
        new AccessManagerError(failure, message, failure === 'CLIENT_UPDATE_FAILED' ? { clientName: entry.name, cause } : { clientName: entry.name }),
      );
    }
    settlePushes(delivery);
    const next = entry.next;
    if (next && this.entries.get(entry.client) === entry) {
      entry.next = undefined;
      if (this.deliver(entry, next)) this.watch([[entry, next]]);
    }
  }
}
