// React bindings: thin wrappers over `useSyncExternalStore`. This file must not import the AccessManager class,
// not even as a type: the subpath is bundled on its own, and a class with private members declared twice (once per
// bundle) is not assignable to itself. The structural type below also keeps the core's types out of this entry's
// declarations: the snapshot's type is inferred from the manager that is passed in.
import { useSyncExternalStore } from 'react';

/**
 * What the hooks need from a manager: `subscribe` (calls its listener after each change, returns the function
 * that unsubscribes) and `getSnapshot` (returns the same object until something changed). An `AccessManager` from
 * `token-warden` fits; both members must work when called unbound, as the manager's do.
 *
 * @example
 * ```ts
 * import type { SnapshotSource } from 'token-warden/react';
 *
 * // A fixed snapshot for a test or a component story: nothing ever changes, so nothing is called back.
 * const signedOut = { state: 'idle', token: undefined } as const;
 * const source: SnapshotSource<typeof signedOut> = { subscribe: () => () => {}, getSnapshot: () => signedOut };
 * ```
 */
export interface SnapshotSource<Snapshot> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): Snapshot;
}

/**
 * The manager's snapshot, `{ state, token, identity, expiresAt, lastError }`, kept current: the component renders
 * again exactly when the snapshot changes (a new token, a state change such as `valid` -> `aboutToExpire` ->
 * `refreshing`, a new `lastError`), and the hook unsubscribes on unmount. Works with React 18 and later, also in
 * concurrent rendering (no tearing) and on the server (the snapshot then is the manager's current one).
 *
 * @param manager - An `AccessManager`, or any {@link SnapshotSource}. Create it once, outside the component or
 *   in a `useState` initializer, not on every render.
 * @returns What `manager.getSnapshot()` returns: an `AccessManagerSnapshot` for an `AccessManager`.
 *
 * @example
 * ```tsx
 * import { useAccessManager } from 'token-warden/react';
 *
 * function TokenStatus({ manager }: { manager: AccessManager }) {
 *   const { state, identity, lastError } = useAccessManager(manager);
 *   return <span title={lastError?.message}>{identity}: {state}</span>;
 * }
 * ```
 */
export function useAccessManager<Snapshot>(manager: SnapshotSource<Snapshot>): Snapshot {
  return useSyncExternalStore(manager.subscribe, manager.getSnapshot, manager.getSnapshot);
}

/**
 * The manager's current token, or `undefined` while it has none (it never suspends: render a fallback and let the
 * component render again when the first token arrives). The component renders again only when the token changes,
 * not on state changes alone; for those use {@link useAccessManager}. An expired token is still returned until a
 * new one replaces it: for a request, prefer `await manager.getToken()`.
 *
 * @param manager - An `AccessManager`, or any {@link SnapshotSource} whose snapshot has a `token`.
 *
 * @example
 * ```tsx
 * import { useToken } from 'token-warden/react';
 *
 * function VideoRoom({ manager }: { manager: AccessManager }) {
 *   const token = useToken(manager);
 *   return token === undefined ? <p>Signing in…</p> : <Room token={token} />;
 * }
 * ```
 */
export function useToken(manager: SnapshotSource<{ readonly token: string | undefined }>): string | undefined {
  // A selector: React compares the selected token with `Object.is` and renders only when it differs.
  const selectToken = () => manager.getSnapshot().token;
  return useSyncExternalStore(manager.subscribe, selectToken, selectToken);
}
