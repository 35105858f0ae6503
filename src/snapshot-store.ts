// The manager's state as a value: an immutable snapshot that stays the same object until one of its fields
// changes (what useSyncExternalStore needs to avoid extra renders and tearing), and the subscribers to it.
import type { AnyAccessManagerError } from './errors.js';
import type { AccessManagerSnapshot, AccessManagerState, StateChangeInfo } from './types.js';

export type SnapshotListener = (snapshot: AccessManagerSnapshot) => void;

export class SnapshotStore {
  /** The newest snapshot; only commit() replaces it. */
  declare current: AccessManagerSnapshot;
  readonly #subscribers = new Set<SnapshotListener>();

  constructor(initial: AccessManagerSnapshot) {
    this.current = Object.freeze(initial);
  }

  /** Adds a listener for every later change; returns the function that removes it (once, even if added twice). */
  subscribe(listener: SnapshotListener): () => void {
    const entry: SnapshotListener = (snapshot) => listener(snapshot);
    this.#subscribers.add(entry);
    return () => void this.#subscribers.delete(entry);
  }

  clear(): void {
    this.#subscribers.clear();
  }

  /**
   * Takes the manager's current values. When any differs, the snapshot is renewed (`describe` gives `identity`
   * and `expiresAt`, asked only when the token changed, so `expiresAt` stays the same Date for one token), then
   * `stateChanged` runs if the state did, then the subscribers. One of them changing the manager again starts the
   * next round itself, and this one stops: nobody hears an older snapshot after a newer one, nor a state twice.
   */
  commit(
    state: AccessManagerState,
    token: string | undefined,
    lastError: AnyAccessManagerError | undefined,
    describe: () => Pick<AccessManagerSnapshot, 'identity' | 'expiresAt'>,
    stateChanged: (change: StateChangeInfo) => void,
  ): void {
    const previous = this.current;
    if (previous.state === state && previous.token === token && previous.lastError === lastError) return;
    const snapshot = (this.current = Object.freeze({
      state,
      token,
      ...(previous.token === token ? { identity: previous.identity, expiresAt: previous.expiresAt } : describe()),
      lastError,
    }));
    if (state !== previous.state) stateChanged({ state, previousState: previous.state });
    for (const listener of [...this.#subscribers]) {
      if (this.current !== snapshot) return;
      try {
        listener(snapshot);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
