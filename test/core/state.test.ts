// State you can subscribe to: `stateChange` exactly when the `state` getter's value changes (also at the
// time-driven moments), after the change is committed; `getSnapshot`/`subscribe` for useSyncExternalStore; `store`
// for Svelte-style stores.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AccessManagerOptions, AccessManagerSnapshot, StateChangeInfo } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager, restoreMocksAfterManagers } from '../helpers/manager.js';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { catchReRaised } from '../helpers/re-raised.js';

beforeEach(restoreMocksAfterManagers);

function setup(options: Partial<AccessManagerOptions> = {}) {
  const clock = new ManualClock();
  const manager = createManager({ token: mintToken({ at: clock.now() }), clock, refreshSpreadMs: 0, ...options });
  const changes: string[] = [];
  manager.on('stateChange', ({ state, previousState }: StateChangeInfo) => {
    // Committed before anyone hears of it.
    expect(manager.state).toBe(state);
    expect(manager.getSnapshot().state).toBe(state);
    changes.push(`${previousState}->${state}`);
  });
  return { clock, manager, changes };
}

describe('stateChange', () => {
  it('fires at the time-driven moments: valid -> aboutToExpire -> expired, at their deadlines', async () => {
    const { clock, manager, changes } = setup();
    const start = clock.now();
    const at: number[] = [];
    manager.on('stateChange', () => at.push(clock.now() - start));
    await clock.advance(2 * 60 * MIN);
    expect(changes).toEqual(['valid->aboutToExpire', 'aboutToExpire->expired']);
    expect(at).toEqual([57 * MIN, 60 * MIN]);
  });

  it('through a refresh, a failure and recovery; never twice for one value', async () => {
    let answer: ((value: string) => void) | undefined;
    let fail: ((error: unknown) => void) | undefined;
    const fetchToken = vi.fn(
      () =>
        new Promise<string>((resolve, reject) => {
          answer = resolve;
          fail = reject;
        }),
    );
    const { clock, manager, changes } = setup({ fetchToken });
    const refreshed = manager.refresh();
    expect(changes).toEqual(['valid->refreshing']);
    answer!(mintToken({ at: clock.now(), ttl: 3601 }));
    await refreshed;
    expect(changes).toEqual(['valid->refreshing', 'refreshing->valid']);
    const failed = manager.refresh().catch(() => {});
    fail!(Object.assign(new Error('no'), { status: 401 }));
    await failed;
    expect(changes).toEqual(['valid->refreshing', 'refreshing->valid', 'valid->refreshing', 'refreshing->failed']);
    await manager.updateToken(mintToken({ at: clock.now(), ttl: 3602 }));
    expect(changes.at(-1)).toBe('failed->valid');
    for (let i = 1; i < changes.length; i++) expect(changes[i]).not.toBe(changes[i - 1]);
  });

  it('with a fetcher, every moment is announced before the refresh it starts (spread 0)', async () => {
    const { clock, manager, changes } = setup({ fetchToken: async () => mintToken({ at: Date.UTC(2026, 10, 23, 12, 57), ttl: 3600 }) });
    const states: string[] = [];
    manager.on('tokenAboutToExpire', () => states.push(`about event, state ${manager.getSnapshot().state}`));
    await clock.advance(57 * MIN);
    expect(changes).toEqual(['valid->aboutToExpire', 'aboutToExpire->refreshing', 'refreshing->valid']);
    expect(states).toEqual(['about event, state aboutToExpire']);
  });

  it('after a sleep past expiry: valid -> expired, then the refresh', async () => {
    const { clock, manager, changes } = setup({ fetchToken: async () => mintToken({ at: Date.UTC(2026, 10, 23, 15), ttl: 3600 }) });
    clock.jump(3 * 60 * MIN);
    window.dispatchEvent(new Event('focus'));
    await flush();
    expect(changes).toEqual(['valid->expired', 'expired->refreshing', 'refreshing->valid']);
    expect(manager.state).toBe('valid');
  });

  it('a first fetch: idle -> refreshing -> valid', async () => {
    const clock = new ManualClock();
    const manager = createManager({ fetchToken: async () => mintToken({ at: clock.now() }), clock });
    const changes: string[] = [];
    manager.on('stateChange', ({ state, previousState }) => changes.push(`${previousState}->${state}`));
    // The first fetch started in the constructor, before anyone could listen: the snapshot says so.
    expect(manager.getSnapshot().state).toBe('refreshing');
    await flush();
    expect(changes).toEqual(['refreshing->valid']);
  });

  it('dispose: -> disposed, then nothing more', async () => {
    const { clock, manager, changes } = setup();
    manager.dispose();
    expect(changes).toEqual(['valid->disposed']);
    await clock.advance(2 * 60 * MIN);
    expect(changes).toEqual(['valid->disposed']);
  });

  it('a listener that changes the state again is heard in order, and each value once', async () => {
    const fetchToken = vi.fn(async () => {
      throw Object.assign(new Error('no'), { status: 403 });
    });
    const { manager, changes } = setup({ fetchToken });
    manager.on('stateChange', ({ state }) => {
      if (state === 'failed') void manager.updateToken(mintToken({ at: Date.UTC(2026, 10, 23, 12), ttl: 7200 }));
    });
    await manager.refresh().catch(() => {});
    await flush();
    expect(changes).toEqual(['valid->refreshing', 'refreshing->failed', 'failed->valid']);
    expect(manager.state).toBe('valid');
  });
});

describe('getSnapshot and subscribe', () => {
  it('the snapshot is frozen and the same object until something in it changes; both work unbound', async () => {
    const { clock, manager } = setup();
    const { getSnapshot, subscribe } = manager;
    const first = getSnapshot();
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toEqual({
      state: 'valid',
      token: manager.token,
      identity: 'alice',
      expiresAt: manager.expiresAt,
      lastError: undefined,
    });
    await clock.advance(MIN);
    expect(getSnapshot()).toBe(first);
    const seen: AccessManagerSnapshot[] = [];
    const unsubscribe = subscribe((snapshot) => seen.push(snapshot));
    await clock.advance(56 * MIN);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(getSnapshot());
    expect(seen[0]!.state).toBe('aboutToExpire');
    expect(seen[0]!.expiresAt).toBe(first.expiresAt);
    unsubscribe();
    await clock.advance(5 * MIN);
    expect(seen).toHaveLength(1);
    expect(getSnapshot().state).toBe('expired');
  });

  it('lastError is the last error reported, until a new token arrives', async () => {
    const { clock, manager } = setup({ fetchToken: async () => Promise.reject(new Error('down')), retry: false });
    const seen: Array<string | undefined> = [];
    manager.subscribe((snapshot) => seen.push(snapshot.lastError?.code));
    await manager.refresh().catch(() => {});
    expect(manager.getSnapshot().lastError).toMatchObject({ code: 'FETCH_FAILED' });
    await manager.updateToken(mintToken({ at: clock.now(), ttl: 3601 }));
    expect(manager.getSnapshot().lastError).toBe(undefined);
    // refreshing; failed attempt reported (back to valid, with the error); a new token clears it.
    expect(seen).toEqual([undefined, 'FETCH_FAILED', undefined]);
  });

  it('a throwing subscriber does not keep the others from the change', async () => {
    const raised = catchReRaised();
    const { clock, manager } = setup();
    const boom = new Error('subscriber bug');
    const states: string[] = [];
    manager.subscribe(() => {
      throw boom;
    });
    manager.subscribe((snapshot) => states.push(snapshot.state));
    await clock.advance(57 * MIN);
    expect(states).toEqual(['aboutToExpire']);
    expect(raised).toEqual([boom]);
  });

  it('dispose tells subscribers, then forgets them', async () => {
    const { manager } = setup();
    const states: string[] = [];
    manager.subscribe((snapshot) => states.push(snapshot.state));
    manager.dispose();
    expect(states).toEqual(['disposed']);
  });
});

describe('store (the Svelte store contract)', () => {
  it('calls the subscriber at once with the current snapshot, then on every change', async () => {
    const { clock, manager } = setup();
    const states: string[] = [];
    const unsubscribe = manager.store.subscribe((snapshot) => states.push(snapshot.state));
    expect(states).toEqual(['valid']);
    await clock.advance(57 * MIN);
    expect(states).toEqual(['valid', 'aboutToExpire']);
    unsubscribe();
    await clock.advance(10 * MIN);
    expect(states).toEqual(['valid', 'aboutToExpire']);
  });
});
