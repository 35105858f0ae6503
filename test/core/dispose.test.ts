import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessManager, type AccessManagerError } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { mintToken } from '../helpers/tokens.mjs';

afterEach(() => vi.restoreAllMocks());

async function code(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
  } catch (error) {
    return (error as AccessManagerError).code;
  }
  return undefined;
}

describe('dispose', () => {
  it('cancels timers, removes window listeners and every event listener', async () => {
    const added = new Map<string, number>();
    const add = vi.spyOn(window, 'addEventListener');
    const remove = vi.spyOn(window, 'removeEventListener');
    const docAdd = vi.spyOn(document, 'addEventListener');
    const docRemove = vi.spyOn(document, 'removeEventListener');
    const clock = new ManualClock();
    const manager = new AccessManager({ token: mintToken({ at: clock.now() }), clock });
    for (const [type] of add.mock.calls) added.set(type, (added.get(type) ?? 0) + 1);
    expect([...added.keys()].sort()).toEqual(['focus', 'online', 'pageshow']);
    expect(docAdd.mock.calls.map(([type]) => type)).toEqual(['visibilitychange']);
    const listener = vi.fn();
    manager.on('tokenExpired', listener);
    manager.on('error', listener);
    expect(clock.pending).toBe(1);

    manager.dispose();
    expect(clock.pending).toBe(0);
    expect(remove.mock.calls.map(([type, fn]) => [type, fn])).toEqual(add.mock.calls.map(([type, fn]) => [type, fn]));
    expect(docRemove.mock.calls.map(([type, fn]) => [type, fn])).toEqual(docAdd.mock.calls.map(([type, fn]) => [type, fn]));
    expect(manager.eventNames()).toEqual([]);
    expect(manager.state).toBe('disposed');

    await clock.advance(10 * 3600_000);
    window.dispatchEvent(new Event('focus'));
    expect(listener).not.toHaveBeenCalled();
  });

  it('makes every method reject or throw DISPOSED; a second dispose does nothing', async () => {
    const clock = new ManualClock();
    const manager = new AccessManager({ token: mintToken({ at: clock.now() }), clock, fetchToken: async () => 'x' });
    manager.dispose();
    manager.dispose();
    const client = { updateToken: () => {} };
    expect(await code(() => manager.updateToken(mintToken()))).toBe('DISPOSED');
    expect(await code(() => manager.refresh())).toBe('DISPOSED');
    expect(await code(() => manager.getToken())).toBe('DISPOSED');
    expect(await code(() => manager.addClient(client))).toBe('DISPOSED');
    expect(await code(() => manager.removeClient(client))).toBe('DISPOSED');
    expect(await code(() => manager.handleClientError({ status: 401 }))).toBe('DISPOSED');
  });

  it('aborts an in-flight fetch and rejects pending refresh() calls with DISPOSED', async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const manager = new AccessManager({
      clock,
      fetchToken: (ctx) => {
        signal = ctx.signal;
        return new Promise<string>(() => {});
      },
    });
    const pending = manager.getToken();
    expect(signal?.aborted).toBe(false);
    manager.dispose();
    expect(signal?.aborted).toBe(true);
    expect(await code(() => pending)).toBe('DISPOSED');
    expect(clock.pending).toBe(0);
  });

  it('supports Symbol.dispose', () => {
    const clock = new ManualClock();
    const manager = new AccessManager({ token: mintToken({ at: clock.now() }), clock });
    manager[Symbol.dispose]();
    expect(manager.state).toBe('disposed');
    expect(clock.pending).toBe(0);
  });

  it('does not throw when error fires with no listener', async () => {
    const clock = new ManualClock();
    const manager = new AccessManager({ token: mintToken({ at: clock.now() - 7200_000, ttl: 60 }), clock });
    await expect(clock.advance(0)).resolves.toBeUndefined();
    expect(manager.state).toBe('expired');
    manager.dispose();
  });
});
