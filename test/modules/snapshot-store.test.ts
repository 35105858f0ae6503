// @vitest-environment node
// The snapshot store alone: the same object until a field changes, state changes told once and in order.
import { describe, expect, it, vi } from 'vitest';
import { AccessManagerError, type AnyAccessManagerError } from '../../src/errors.js';
import { SnapshotStore } from '../../src/snapshot-store.js';
import type { AccessManagerSnapshot } from '../../src/types.js';

const initial: AccessManagerSnapshot = { state: 'valid', token: 't1', identity: 'alice', expiresAt: new Date(1), lastError: undefined };
const describeT2 = () => ({ identity: 'alice', expiresAt: new Date(2) });

describe('SnapshotStore', () => {
  it('keeps the same frozen object until something changes, and asks describe() only for a new token', () => {
    const store = new SnapshotStore({ ...initial });
    const first = store.current;
    expect(Object.isFrozen(first)).toBe(true);
    const describe = vi.fn(describeT2);
    store.commit('valid', 't1', undefined, describe, () => {});
    expect(store.current).toBe(first);
    store.commit('aboutToExpire', 't1', undefined, describe, () => {});
    expect(describe).not.toHaveBeenCalled();
    expect(store.current).not.toBe(first);
    expect(store.current.expiresAt).toBe(first.expiresAt);
    store.commit('valid', 't2', undefined, describe, () => {});
    expect(describe).toHaveBeenCalledTimes(1);
    expect(store.current).toEqual({ state: 'valid', token: 't2', identity: 'alice', expiresAt: new Date(2), lastError: undefined });
  });

  it('makes a new snapshot for a new lastError alone (same state and token), without a state change', () => {
    const store = new SnapshotStore({ ...initial });
    const first = store.current;
    const stateChanged = vi.fn();
    const subscriber = vi.fn();
    store.subscribe(subscriber);
    const error = new AccessManagerError('CLIENT_UPDATE_FAILED', 'Client "chat" failed to update its token.') as AnyAccessManagerError;
    store.commit('valid', 't1', error, describeT2, stateChanged);
    expect(store.current).not.toBe(first);
    expect(store.current).toEqual({ ...initial, lastError: error });
    expect(subscriber).toHaveBeenCalledExactlyOnceWith(store.current);
    expect(stateChanged).not.toHaveBeenCalled();
  });

  it('tells state changes, then subscribers; a listener changing it again ends the older round', () => {
    const store = new SnapshotStore({ ...initial });
    const heard: string[] = [];
    const stateChanged = (change: { state: string; previousState: string }) => {
      heard.push(`change ${change.previousState}->${change.state}`);
      if (change.state === 'refreshing') store.commit('valid', 't2', undefined, describeT2, stateChanged);
    };
    store.subscribe((snapshot) => heard.push(`sub ${snapshot.state} ${snapshot.token}`));
    store.commit('refreshing', 't1', undefined, describeT2, stateChanged);
    expect(heard).toEqual(['change valid->refreshing', 'change refreshing->valid', 'sub valid t2']);
  });

  it('unsubscribe, clear, and a throwing subscriber re-raised apart', async () => {
    const store = new SnapshotStore({ ...initial });
    const a = vi.fn();
    const b = vi.fn(() => {
      throw new Error('subscriber');
    });
    const c = vi.fn();
    const offA = store.subscribe(a);
    store.subscribe(b);
    store.subscribe(c);
    const raised = new Promise((resolve) => process.once('uncaughtException', resolve));
    store.commit('expired', 't1', undefined, describeT2, () => {});
    expect([a, b, c].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);
    await expect(raised).resolves.toMatchObject({ message: 'subscriber' });
    offA();
    store.clear();
    store.commit('valid', 't1', undefined, describeT2, () => {});
    expect([a, b, c].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);
  });
});
