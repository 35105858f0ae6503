import { MAX_TIMEOUT_MS } from './clock.js';
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
  /** The newest push whose token the client was handed or has waiting; pushes up to here are not for it. */
  seq: BatchId;
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
// The intrinsic `then`: it calls one handler once, asynchronously, whatever the client's object does.
const promiseThen = Promise.prototype.then;
let anonymous = 0;

/**
 * Gets an option with `get` and checks it with `valid`, both inside one `try`: a getter that throws, or a revoked
 * proxy, becomes the same TypeError naming the option as a wrong type does (with what it threw as its `cause`).
 */
function option<T>(name: string, what: string, get: () => T, valid: (value: T) => unknown): T {
  let threw: ErrorOptions | undefined;
  try {
    const value = get();
    if (valid(value)) return value;
  } catch (cause) {
    threw = { cause };
  }
  throw new TypeError(`${name} must be ${what}.`, threw);
}

const isString = (value: unknown): value is string => typeof value === 'string';

/**
 * Hands each adopted token to every registered client, concurrently and in isolation: a client that throws,
 * rejects, hangs or answers with a hostile thenable yields an error and never delays the others. Per client, calls
 * are serialized, so a slow client is never handed an older token after a newer one; while it is busy only the
 * newest token waits. The same holds when a client or an error listener pushes again from inside a push.
 *
 * Per client and token it allocates nothing but the `.then` of the client's own promise (10,000 clients are a
 * benchmark case): handlers live on the entry, and one timer covers a whole push.
 */
export class FanOut {
  /**
   * Registers `client`; registering it again replaces its options. Reads `client.updateToken`, `options.name`,
   * `options.grants` (copied) and the client's constructor name once each and checks them all before it changes
   * anything, so a throwing getter or a wrong type leaves no half-registered client (nor half-replaced options).
   *
   * @throws TypeError naming `client`, `options`, `name` or `grants`.
   */
  declare readonly add: (client: TokenClient, options?: ClientOptions) => Entry;
  declare readonly remove: (client: TokenClient) => boolean;
  declare readonly clear: () => void;
  /**
   * Reports `GRANT_MISSING` for every grant a client needs that `grants` does not own (all clients, or just
   * `only`). Own properties only: `constructor` is not a grant because every object inherits one.
   */
  declare readonly checkGrants: (grants: Record<string, unknown>, only?: Entry) => void;
  /**
   * Delivers `token` to every client registered before the call; resolves once each has settled it (or a newer
   * token). Never throws, never rejects. A push made from inside this one (by a client or a listener) is newer:
   * clients it reached first are not handed this token any more.
   */
  declare readonly push: (token: string) => Promise<void>;

  // The state lives in closures over locals, not in #private fields: each use minifies to one letter.
  constructor(clock: Clock, timeoutMs: number, report: (error: AccessManagerError) => void) {
    const entries = new Map<TokenClient, Entry>();
    const batches = new Map<BatchId, Batch>();
    let lastId: BatchId = 0;
    /** The newest push, looked up for nearly every settle: spares 10,000 Map lookups. */
    let last: Batch | undefined;
    /** Entries with required grants: most apps have none, and then a token needs no check per client. */
    let withGrants = 0;
    timeoutMs = Math.min(timeoutMs, MAX_TIMEOUT_MS);

    this.add = (client, options) => {
      const isFunction = (value: unknown) => typeof value === 'function';
      option('client', 'an object with updateToken(token)', () => client.updateToken, isFunction);
      const given = option(
        'options',
        'an object',
        () => options as Record<string, unknown> | undefined,
        (value) => value === undefined || (typeof value === 'object' && value !== null),
      );
      let name = option(
        'name',
        'a string',
        () => given?.name as string | undefined,
        (value) => value === undefined || isString(value),
      );
      const grants = option(
        'grants',
        'an array of strings',
        // A copy, as the caller's array may change later; null for anything but an array.
        () => {
          const list = given?.grants;
          return list === undefined ? list : Array.isArray(list) ? [...(list as unknown[])] : null;
        },
        (list) => list === undefined || list?.every(isString),
      ) as string[] | undefined;
      if (name === undefined) {
        let ctor: unknown;
        try {
          // Stryker disable next-line OptionalChaining: reading `name` of a missing constructor throws into the catch below, with the same result
          ctor = (client as { constructor?: { name?: unknown } }).constructor?.name;
        } catch {
          // An unreadable constructor only costs the client its default name.
        }
        name = isString(ctor) && ctor !== '' && ctor !== 'Object' ? ctor : `client#${++anonymous}`;
      }

      let entry = entries.get(client);
      if (!entry) {
        // `seq`: no push under way reaches a client added meanwhile (none pushes on add).
        entry = { client, name, grants: undefined, seq: lastId, batch: 0, ok: noop, fail: noop };
        renew(entry);
        entries.set(client, entry);
      }
      entry.name = name;
      // Stryker disable next-line UpdateOperator: the count only lets checkGrants skip its loop when it is 0; these mutants never make it 0 while a client has grants
      if (entry.grants) withGrants--;
      // Stryker disable next-line UpdateOperator: the same count, as above
      if ((entry.grants = grants)) withGrants++;
      return entry;
    };

    const remove = (this.remove = (client) => {
      const entry = entries.get(client);
      if (!entry) return false;
      entries.delete(client);
      // Stryker disable next-line UpdateOperator: as in add(), a count that can only move away from 0 only costs checkGrants a loop over clients without grants
      if (entry.grants) withGrants--;
      // Nobody waits for a client that is gone.
      // Stryker disable next-line ArrayDeclaration: releasing an id that names no push does nothing
      for (const id of [entry.batch, ...(entry.also ?? []), ...(entry.nextBatches ?? [])]) if (id) release(id);
      entry.batch = 0;
      entry.also = entry.nextToken = entry.nextBatches = undefined;
      return true;
    });

    this.clear = () => {
      for (const client of [...entries.keys()]) remove(client);
    };

    this.checkGrants = (grants, only) => {
      if (!only && withGrants === 0) return;
      for (const entry of only ? [only] : entries.values()) {
        if (!entry.grants) continue;
        for (const grant of entry.grants) {
          let has = false;
          try {
            has = Object.hasOwn(grants, grant);
          } catch {
            // Grants that cannot be inspected grant nothing.
          }
          if (!has) {
            report(
              new AccessManagerError('GRANT_MISSING', `Client "${entry.name}" needs the "${grant}" grant, which the token lacks.`, {
                clientName: entry.name,
              }),
            );
          }
        }
      }
    };

    this.push = (token) => {
      let done!: () => void;
      const promise = new Promise<void>((resolve) => (done = resolve));
      // Counted as clients are reached, plus one for the loop itself: clients may come and go during it. With no
      // client, releasing the loop's own count resolves the promise at once.
      const batch: Batch = { left: 1, done };
      const id = open(batch);
      for (const entry of entries.values()) {
        if (entry.seq < id) {
          entry.seq = id;
          batch.left++;
          if (!entry.batch) {
            deliver(entry, token, id);
          } else {
            entry.nextToken = token;
            (entry.nextBatches ??= []).push(id);
          }
        } else if (entry.nextToken !== undefined) {
          // A newer push got here first and its token waits: this push waits with it.
          batch.left++;
          (entry.nextBatches ??= []).push(id);
        } else if (entry.batch) {
          // Added meanwhile, or a newer push got here first: wait for the newer token, still in progress.
          batch.left++;
          (entry.also ??= []).push(id);
        }
      }
      release(id);
      return promise;
    };

    function deliver(entry: Entry, token: string, id: BatchId, also?: BatchId[]): void {
      entry.batch = id;
      if (also) entry.also = also;
      let then: unknown;
      try {
        const result = entry.client.updateToken(token) as { then?: unknown } | null | undefined;
        then = result?.then;
        // A native promise goes straight to the intrinsic `then`; anything else that looks like one is adopted by
        // Promise.resolve, which calls its `then` in a later job and turns a throw into a rejection. Either way one
        // of the handlers runs once, never synchronously.
        if (typeof then === 'function') {
          promiseThen.call(then === promiseThen ? result : Promise.resolve(result), entry.ok, entry.fail);
        }
      } catch (error) {
        // A throw from the client: updateToken, a getter on its result, a constructor (species) lookup.
        finish(entry, 'CLIENT_UPDATE_FAILED', error);
        return;
      }
      if (typeof then !== 'function') {
        finish(entry);
      } else if (entry.batch === id) {
        // Still busy with this token (a getter on the result may have removed the client): time the call.
        batchOf(id)!.timer ??= clock.setTimeout(() => expire(id), timeoutMs);
      }
    }

    function renew(entry: Entry): void {
      const ok = () => {
        if (entry.ok === ok) finish(entry);
      };
      entry.ok = ok;
      entry.fail = (error: unknown) => {
        if (entry.ok === ok) finish(entry, 'CLIENT_UPDATE_FAILED', error);
      };
    }

    function open(batch: Batch): BatchId {
      batches.set(++lastId, batch);
      last = batch;
      return lastId;
    }

    function batchOf(id: BatchId): Batch | undefined {
      return id === lastId ? last : batches.get(id);
    }

    function expire(id: BatchId): void {
      const batch = batches.get(id);
      if (batch) batch.timer = undefined;
      for (const entry of entries.values()) {
        if (entry.batch === id) {
          renew(entry);
          finish(entry, 'CLIENT_UPDATE_TIMEOUT');
        }
      }
    }

    function release(id: BatchId): void {
      const batch = batchOf(id);
      if (!batch || --batch.left > 0) return;
      batches.delete(id);
      if (batch.timer !== undefined) clock.clearTimeout(batch.timer);
      batch.done();
    }

    function finish(entry: Entry, failure?: 'CLIENT_UPDATE_FAILED' | 'CLIENT_UPDATE_TIMEOUT', cause?: unknown): void {
      const id = entry.batch;
      if (!id) return;
      // Commit, then call out: the waiting token goes to the client before any listener hears of this one, so a
      // listener that pushes finds the client busy with the newest token and queues behind it.
      entry.batch = 0;
      const also = entry.also;
      if (also) entry.also = undefined;
      const next = entry.nextToken;
      if (next !== undefined) {
        const waiting = entry.nextBatches;
        entry.nextToken = entry.nextBatches = undefined;
        deliver(entry, next, open({ left: 1, done: noop }), waiting);
      }
      if (failure) {
        const clientName = entry.name;
        report(
          failure === 'CLIENT_UPDATE_FAILED'
            ? new AccessManagerError(failure, `Client "${clientName}" failed to update its token.`, { clientName, cause })
            : new AccessManagerError(failure, `Client "${clientName}" updateToken exceeded clientTimeoutMs.`, {
                clientName,
              }),
        );
      }
      release(id);
      if (also) for (const older of also) release(older);
    }
  }
}
