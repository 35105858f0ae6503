import { AccessManagerError } from './errors.js';
import type { ClientOptions, Clock, TokenClient } from './types.js';

/** One `push`: resolves when each of its clients has settled that token or a newer one. */
interface Batch {
  left: number;
  done: () => void;
  timer?: unknown;
}

/**
 * Entries refer to their push by number, not by object: writing a freshly allocated object into 10,000
 * long-lived entries costs a write barrier each and tripled the time of a push after a full GC.
 */
type BatchId = number;

interface Entry {
  client: TokenClient;
  name: string;
  grants: string[] | undefined;
  /** The push whose token the client is busy with; 0 while idle. */
  batch: BatchId;
  /** Older pushes whose tokens were skipped in favour of the one in progress. */
  also?: BatchId[] | undefined;
  /** The newest token waiting for the client to finish, and the pushes waiting with it. */
  nextToken?: string | undefined;
  nextBatches?: BatchId[] | undefined;
  /** Settle handlers, renewed when a call times out so that its late result is ignored. */
  ok: () => void;
  fail: (error: unknown) => void;
}

const noop = (): void => {};
let anonymous = 0;

/**
 * Hands each adopted token to every registered client, concurrently and in isolation: a client that throws,
 * rejects or hangs yields an error and never delays the others. Per client, calls are serialized, so a slow client
 * is never handed an older token after a newer one; while it is busy only the newest token waits.
 *
 * Per client and token it allocates nothing but the `.then` of the client's own promise (10,000 clients are a
 * benchmark case): handlers live on the entry, and one timer covers a whole push.
 */
export class FanOut {
  readonly #entries = new Map<TokenClient, Entry>();
  readonly #batches = new Map<BatchId, Batch>();
  #lastId: BatchId = 0;
  /** The newest push, looked up for nearly every settle: spares 10,000 Map lookups. */
  #last: Batch | undefined;
  /** Entries with required grants: most apps have none, and then a token needs no check per client. */
  #withGrants = 0;

  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #report: (error: AccessManagerError) => void;

  constructor(clock: Clock, timeoutMs: number, report: (error: AccessManagerError) => void) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#report = report;
  }

  /** Registers `client`; registering it again replaces its options. */
  add(client: TokenClient, options: ClientOptions): Entry {
    let entry = this.#entries.get(client);
    if (!entry) {
      entry = { client, name: '', grants: undefined, batch: 0, ok: noop, fail: noop };
      this.#renew(entry);
      this.#entries.set(client, entry);
    }
    const ctor = (client as { constructor?: { name?: unknown } }).constructor?.name;
    entry.name =
      options.name ?? (typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? ctor : `client#${++anonymous}`);
    if (entry.grants) this.#withGrants--;
    entry.grants = options.grants ? [...options.grants] : undefined;
    if (entry.grants) this.#withGrants++;
    return entry;
  }

  remove(client: TokenClient): boolean {
    const entry = this.#entries.get(client);
    if (!entry) return false;
    this.#entries.delete(client);
    if (entry.grants) this.#withGrants--;
    // Nobody waits for a client that is gone.
    for (const id of [entry.batch, ...(entry.also ?? []), ...(entry.nextBatches ?? [])]) if (id) this.#release(id);
    entry.batch = 0;
    entry.also = entry.nextToken = entry.nextBatches = undefined;
    return true;
  }

  clear(): void {
    for (const client of [...this.#entries.keys()]) this.remove(client);
  }

  /** Reports `GRANT_MISSING` for every grant a client needs that `grants` lacks (all clients, or just `only`). */
  checkGrants(grants: Record<string, unknown>, only?: Entry): void {
    if (!only && this.#withGrants === 0) return;
    for (const entry of only ? [only] : this.#entries.values()) {
      if (!entry.grants) continue;
      for (const grant of entry.grants) {
        if (grants[grant] === undefined) {
          this.#report(
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
    if (this.#entries.size === 0) return Promise.resolve();
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const id = this.#open({ left: this.#entries.size, done });
    for (const entry of this.#entries.values()) {
      if (entry.batch) {
        entry.nextToken = token;
        (entry.nextBatches ??= []).push(id);
      } else {
        this.#deliver(entry, token, id);
      }
    }
    return promise;
  }

  #deliver(entry: Entry, token: string, id: BatchId, also?: BatchId[]): void {
    entry.batch = id;
    if (also) entry.also = also;
    let result: unknown;
    try {
      result = entry.client.updateToken(token);
    } catch (error) {
      this.#finish(entry, 'CLIENT_UPDATE_FAILED', error);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(entry.ok, entry.fail);
      const batch = this.#batch(id);
      batch.timer ??= this.#clock.setTimeout(() => this.#expire(id), this.#timeoutMs);
    } else {
      this.#finish(entry);
    }
  }

  #renew(entry: Entry): void {
    const ok = () => {
      if (entry.ok === ok) this.#finish(entry);
    };
    entry.ok = ok;
    entry.fail = (error: unknown) => {
      if (entry.ok === ok) this.#finish(entry, 'CLIENT_UPDATE_FAILED', error);
    };
  }

  #open(batch: Batch): BatchId {
    this.#batches.set(++this.#lastId, batch);
    this.#last = batch;
    return this.#lastId;
  }

  #batch(id: BatchId): Batch {
    return id === this.#lastId ? this.#last! : this.#batches.get(id)!;
  }

  #expire(id: BatchId): void {
    const batch = this.#batches.get(id);
    if (batch) batch.timer = undefined;
    for (const entry of this.#entries.values()) {
      if (entry.batch === id) {
        this.#renew(entry);
        this.#finish(entry, 'CLIENT_UPDATE_TIMEOUT');
      }
    }
  }

  #release(id: BatchId): void {
    const batch = this.#batch(id);
    if (--batch.left > 0) return;
    this.#batches.delete(id);
    if (batch.timer !== undefined) this.#clock.clearTimeout(batch.timer);
    batch.done();
  }

  #finish(entry: Entry, failure?: 'CLIENT_UPDATE_FAILED' | 'CLIENT_UPDATE_TIMEOUT', cause?: unknown): void {
    const id = entry.batch;
    if (!id) return;
    entry.batch = 0;
    if (failure) {
      const clientName = entry.name;
      this.#report(
        failure === 'CLIENT_UPDATE_FAILED'
          ? new AccessManagerError(failure, `Client "${clientName}" failed to update its token.`, { clientName, cause })
          : new AccessManagerError(failure, `Client "${clientName}" did not finish updateToken within clientTimeoutMs.`, {
              clientName,
            }),
      );
    }
    this.#release(id);
    if (entry.also) {
      for (const older of entry.also) this.#release(older);
      entry.also = undefined;
    }
    const token = entry.nextToken;
    if (token !== undefined && this.#entries.get(entry.client) === entry) {
      const waiting = entry.nextBatches;
      entry.nextToken = entry.nextBatches = undefined;
      this.#deliver(entry, token, this.#open({ left: 1, done: noop }), waiting);
    }
  }
}
