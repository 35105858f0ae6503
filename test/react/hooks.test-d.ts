// The hooks' types: an AccessManager is a SnapshotSource, useAccessManager returns its AccessManagerSnapshot,
// useToken a `string | undefined`, and what lacks `subscribe`/`getSnapshot` (or a `token`) is refused.
import { describe, expectTypeOf, it } from 'vitest';
import type { AccessManager, AccessManagerSnapshot, AccessManagerState, AnyAccessManagerError } from '../../src/index.js';
import { type SnapshotSource, useAccessManager, useToken } from '../../src/react/index.js';

declare const manager: AccessManager;

describe('react hooks types', () => {
  it('takes an AccessManager and returns its snapshot', () => {
    expectTypeOf<AccessManager>().toExtend<SnapshotSource<AccessManagerSnapshot>>();
    const snapshot = useAccessManager(manager);
    expectTypeOf(snapshot).toEqualTypeOf<AccessManagerSnapshot>();
    expectTypeOf(snapshot.state).toEqualTypeOf<AccessManagerState>();
    expectTypeOf(snapshot.token).toEqualTypeOf<string | undefined>();
    expectTypeOf(snapshot.expiresAt).toEqualTypeOf<Date | undefined>();
    expectTypeOf(snapshot.lastError).toEqualTypeOf<AnyAccessManagerError | undefined>();
  });

  it('useToken returns the token or undefined, never a promise', () => {
    expectTypeOf(useToken(manager)).toEqualTypeOf<string | undefined>();
  });

  it('accepts any snapshot source, and infers its snapshot', () => {
    const fixed = { state: 'idle', token: undefined } as const;
    const source: SnapshotSource<typeof fixed> = { subscribe: () => () => {}, getSnapshot: () => fixed };
    expectTypeOf(useAccessManager(source)).toEqualTypeOf<typeof fixed>();
    expectTypeOf(useToken(source)).toEqualTypeOf<string | undefined>();
  });

  it('refuses what is not a snapshot source', () => {
    // @ts-expect-error: no subscribe
    useAccessManager({ getSnapshot: () => manager.getSnapshot() });
    // @ts-expect-error: no getSnapshot
    useToken({ subscribe: manager.subscribe });
    // @ts-expect-error: a snapshot without a string token
    useToken({ subscribe: manager.subscribe, getSnapshot: () => ({ token: 42 }) });
    // @ts-expect-error: the manager itself, not its token
    useToken(manager.token);
  });
});
