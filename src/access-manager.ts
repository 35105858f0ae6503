import { EventEmitter } from 'eventemitter3';
import { CLIENT_EVENT } from './client-error.js';
// Named by the constructor's {@link}.
import type { AccessManagerError } from './errors.js';
import { createCore, type ManagerCore } from './manager-core.js';
import type {
  AccessManagerEvents,
  AccessManagerOptions,
  AccessManagerSnapshot,
  AccessManagerState,
  ClientOptions,
  TokenClient,
} from './types.js';

/**
 * Owns the lifecycle of one short-lived JWT access token shared by several SDK clients and your HTTP calls: it
 * schedules `tokenAboutToExpire` and `tokenExpired` from the token's `exp` (on wall-clock deadlines that survive
 * throttled tabs and sleep, corrected for clock skew), fetches a new token through your `fetchToken` with
 * single-flight and backoff, and pushes every new token to each registered client's `updateToken`.
 *
 * It is a facade over small parts, each owning one piece of state: the held token (`held-token.ts`), the refresh
 * in flight (`refresh-cycle.ts`), when the automatic refresh starts (`auto-refresh.ts`), the guard on client-caused
 * refreshes (`client-guard.ts`), the clients (`fan-out.ts`), the tab group (`tab-group.ts`, `cross-tab.ts`) and the
 * one timer (`scheduler.ts`). The manager's core (`manager-core.ts`) wires them together: its `tick` decides what
 * is due, and every change is committed before listeners hear of it.
 *
 * @example
 * ```ts
 * const manager = new AccessManager({
 *   fetchToken: async ({ signal }) => (await fetch('/token', { signal })).text(),
 * });
 * manager.on('error', (err) => console.warn(err.code));
 * const chat = new Client(await manager.getToken());
 * manager.addClient(chat, { name: 'chat', grants: ['chat'] });
 * ```
 */
export class AccessManager extends EventEmitter<AccessManagerEvents> {
  // The held token, the skew, the refresh in flight, the parts and everything that moves them live in closures
  // (manager-core.ts; its `tick` decides what is due): the members below only reach them through this one field.
  readonly #core: ManagerCore;

  /**
   * @throws TypeError or RangeError naming the option when an option is invalid; {@link AccessManagerError}
   * `TOKEN_MALFORMED` when `token` cannot be decoded, `IDENTITY_MISMATCH` when it is for another identity than
   * the `identity` option. An expired `token` does not throw: `error` with `TOKEN_EXPIRED` fires right after
   * construction, then its `tokenAboutToExpire` and `tokenExpired`, and, with a fetcher, a refresh starts.
   */
  constructor(options: AccessManagerOptions) {
    super();
    this.#core = createCore(this, options);
  }

  // --- getters

  /** The current token, or `undefined` before the first one arrives. */
  get token(): string | undefined {
    return this.#core.heldToken()?.token;
  }

  /** Expiry of the current token (server time, from `exp`). */
  get expiresAt(): Date | undefined {
    return this.#core.describeHeld().expiresAt;
  }

  /** `grants.identity` (or `sub`) of the current token. */
  get identity(): string | undefined {
    return this.#core.describeHeld().identity;
  }

  /** `grants` of the current token (`{}` when there is none). */
  get grants(): Record<string, unknown> {
    return this.#core.heldToken()?.decoded.grants ?? {};
  }

  /** True when there is no token or it is expired, judged on the skew-corrected clock. */
  get isExpired(): boolean {
    return this.#core.expiredNow();
  }

  /**
   * `idle` (no token yet), `valid`, `aboutToExpire`, `refreshing` (an attempt is in flight), `expired`, `failed`
   * (the token endpoint said 401/403: stays until `refresh()` or `updateToken()`), `disposed`.
   * While waiting out a retry backoff the state is the token's own (`aboutToExpire`, `expired` or `idle`).
   */
  get state(): AccessManagerState {
    return this.#core.stateNow();
  }

  /**
   * An immutable `{ state, token, identity, expiresAt, lastError }` that stays the same object until one of them
   * changes: pass it with {@link AccessManager.subscribe} to React's `useSyncExternalStore` (both work unbound).
   *
   * @example
   * ```ts
   * const { state, lastError } = manager.getSnapshot();
   * ```
   */
  readonly getSnapshot = (): AccessManagerSnapshot => this.#core.snapshots.current;

  /**
   * Calls `listener` with the new snapshot whenever it changes (not at once: React's contract); returns the
   * function that unsubscribes. For a store that wants the current value at once (Svelte), use
   * {@link AccessManager.store}.
   *
   * @example
   * ```ts
   * const unsubscribe = manager.subscribe((snapshot) => render(snapshot.state));
   * ```
   */
  readonly subscribe = (listener: (snapshot: AccessManagerSnapshot) => void): (() => void) =>
    this.#core.snapshots.subscribe(listener);

  /**
   * The snapshot as a Svelte store (and any store with the same contract): its `subscribe` calls the listener at
   * once with the current snapshot, then on every change.
   *
   * @example
   * ```ts
   * const status = manager.store; // in a Svelte component: {$status.state}
   * ```
   */
  readonly store: { subscribe(run: (snapshot: AccessManagerSnapshot) => void): () => void } = {
    subscribe: (run) => {
      const unsubscribe = this.subscribe(run);
      run(this.#core.snapshots.current);
      return unsubscribe;
    },
  };

  // --- public methods

  /**
   * Adopts a token your app obtained itself and pushes it to every client. Rejects, changing nothing, with the
   * first that applies of `TOKEN_MALFORMED`, `TOKEN_EXPIRED`, `IDENTITY_MISMATCH`, `TOKEN_STALE` (its `exp` is
   * earlier than the current one's). The same token again is a no-op. Resolves when every client has settled.
   *
   * @example
   * ```ts
   * manager.on('tokenAboutToExpire', async () => manager.updateToken(await myLogin.getToken()));
   * ```
   */
  updateToken(token: string): Promise<void> {
    return this.#core.adoptManual(token);
  }

  /**
   * Fetches a new token now. Concurrent calls share one fetch. Resolves with the manager's token once the fetched
   * one is adopted, without waiting for the clients. Rejects with the final {@link AccessManagerError} when
   * retries are off or the failure is final (`FETCH_UNAUTHORIZED`, `IDENTITY_MISMATCH`); `NO_FETCHER` without
   * `fetchToken`.
   *
   * @example
   * ```ts
   * button.onclick = () => manager.refresh().catch((err) => showError(err.code));
   * ```
   */
  refresh(): Promise<string> {
    return this.#core.refreshNow();
  }

  /**
   * The current token when it is not expired (skew-corrected), else the result of a refresh. Waits for the first
   * token when there is none yet. Never resolves with an expired token.
   *
   * @example
   * ```ts
   * const room = await Video.connect(await manager.getToken(), { name: 'standup' });
   * ```
   */
  getToken(): Promise<string> {
    return this.#core.validOrFetch();
  }

  /**
   * Registers anything with `updateToken(token)`; every adopted token is pushed to it (not the current one: pass
   * that when you create the client). With `grants`, a token lacking one yields `error` `GRANT_MISSING`.
   * Returns the function that removes the client again.
   *
   * @example
   * ```ts
   * const stop = manager.addClient(syncClient, { name: 'sync', grants: ['data_sync'] });
   * ```
   */
  addClient(client: TokenClient, options?: ClientOptions): () => void {
    return this.#core.attachClient(client, options);
  }

  /** Unregisters a client; true when it was registered. */
  removeClient(client: TokenClient): boolean {
    return this.#core.detachClient(client);
  }

  /**
   * Hands the manager an SDK's or HTTP layer's error. When it means "token expired or invalid" (a refreshable
   * Twilio code: 20101, 20104, 31204, 31205 or 51207 in `code`, `twilioCode` or `errorCode`, also inside
   * `cause`/`originalError`; or HTTP 401, unless a Twilio code that a new token does not fix is beside it), a
   * refresh starts (shared with any in flight) and it returns `true`; otherwise `false`. Never throws, whatever
   * it is given.
   *
   * Refreshes caused this way are guarded: at most one per held token, and when a token fetched because of a
   * client error is rejected again, `error` reports `CLIENT_TOKEN_REJECTED` and the next refresh waits for the
   * retry backoff, so a server that refuses every token cannot make the manager fetch in a loop.
   *
   * @param clientName - Named in `CLIENT_TOKEN_REJECTED` errors (`connectTwilioClient` passes the client's name).
   *
   * @example
   * ```ts
   * device.on('error', (err) => manager.handleClientError(err, 'voice'));
   * ```
   */
  handleClientError(error: unknown, clientName?: string): boolean {
    return this.#core.reportClientError(error, clientName);
  }

  /**
   * Cancels timers, aborts an in-flight fetch, removes window listeners, closes the cross-tab channel and removes
   * every listener. Afterwards each method throws or rejects with `DISPOSED`. A second call does nothing.
   */
  dispose(): void {
    this.#core.disposeCore();
  }

  /**
   * @internal How `token-warden/twilio` (bundled apart, without this class) reports an SDK's own token event: a
   * refresh with the reason `'client'`, under the client guard. Keyed by a symbol and left out of the declarations:
   * not public API. `warning`: an about-to-expire warning rather than "expired".
   */
  [CLIENT_EVENT](warning?: boolean): void {
    this.#core.onClientEvent(warning);
  }

  /** Same as {@link AccessManager.dispose}, for `using manager = new AccessManager(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
