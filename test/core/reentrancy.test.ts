// What listeners and clients do from inside the manager's own calls cannot break it: every listener hears every
// event, and clients never go back to an older token.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccessManagerError } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { mintToken } from '../helpers/tokens.mjs';
import { catchReRaised } from '../helpers/re-raised.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function setup() {
  const clock = new ManualClock();
  const manager = createManager({ token: mintToken({ at: clock.now() }), clock });
  return { clock, manager, mint: (secondsLater: number) => mintToken({ at: clock.now(), ttl: 3600 + secondsLater }) };
}


describe('a throwing listener', () => {
  it('does not keep the listeners after it from the event; its throw is re-raised apart', async () => {
    const raised = catchReRaised();
    const { manager, mint } = setup();
    const heard: string[] = [];
    const boom = new Error('listener bug');
    manager.on('tokenUpdated', () => heard.push('first'));
    manager.on('tokenUpdated', () => {
      heard.push('second');
      throw boom;
    });
    manager.once('tokenUpdated', () => heard.push('third, once'));
    manager.on('tokenUpdated', () => heard.push('fourth'));
    await manager.updateToken(mint(1));
    await manager.updateToken(mint(2));
    expect(heard).toEqual(['first', 'second', 'third, once', 'fourth', 'first', 'second', 'fourth']);
    await Promise.resolve();
    expect(raised).toEqual([boom, boom]);
  });

  it('a listener removing the next one during the event does not skip or repeat anyone', async () => {
    const { manager, mint } = setup();
    const heard: string[] = [];
    const b = () => heard.push('b');
    manager.on('tokenUpdated', () => {
      heard.push('a');
      manager.off('tokenUpdated', b);
    });
    manager.on('tokenUpdated', b);
    await manager.updateToken(mint(1));
    await manager.updateToken(mint(2));
    // Like eventemitter3: the listeners of an event are fixed when it starts.
    expect(heard).toEqual(['a', 'b', 'a']);
  });
});

describe('re-entrant updates', () => {
  it('a tokenUpdated listener adopting a newer token: clients get the newer one only, and end on it', async () => {
    const { manager, mint } = setup();
    const older = mint(1);
    const newer = mint(2);
    const seen: string[] = [];
    const asyncSeen: string[] = [];
    manager.addClient({ updateToken: (token) => void seen.push(token) });
    manager.addClient({ updateToken: async (token) => void asyncSeen.push(token) });
    manager.once('tokenUpdated', () => void manager.updateToken(newer));
    const done = manager.updateToken(older);
    await done;
    expect(manager.token).toBe(newer);
    expect(seen).toEqual([newer]);
    expect(asyncSeen).toEqual([newer]);
  });

  it('a synchronous client adopting a newer token from inside updateToken: nobody gets the older one after it', async () => {
    const { manager, mint } = setup();
    const older = mint(1);
    const newer = mint(2);
    const logs: string[][] = [[], [], []];
    manager.addClient({ updateToken: (token) => void logs[0]!.push(token) });
    manager.addClient({
      updateToken: (token) => {
        logs[1]!.push(token);
        if (token === older) void manager.updateToken(newer);
      },
    });
    manager.addClient({ updateToken: async (token) => void logs[2]!.push(token) });
    await manager.updateToken(older);
    await Promise.resolve();
    expect(manager.token).toBe(newer);
    for (const log of logs) {
      expect(log.at(-1)).toBe(newer);
      expect(log.indexOf(older) === -1 || log.indexOf(older) < log.indexOf(newer)).toBe(true);
    }
  });

  it('an error listener calling refresh() while the failed attempt is on the stack starts exactly one new attempt', async () => {
    const clock = new ManualClock();
    const fetchToken = vi.fn(async () => {
      throw new Error('down');
    });
    const manager = createManager({ token: mintToken({ at: clock.now() }), fetchToken, clock, retry: false });
    const codes: string[] = [];
    let again = true;
    manager.on('error', (error: AccessManagerError) => {
      codes.push(error.code);
      if (again) {
        again = false;
        manager.refresh().catch(() => {});
      }
    });
    await manager.refresh().catch(() => {});
    await clock.advance(0);
    expect(fetchToken).toHaveBeenCalledTimes(2);
    expect(codes).toEqual(['FETCH_FAILED', 'FETCH_FAILED']);
  });
});

describe('updateToken input', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
  ])('%s on a manager without a token rejects TOKEN_MALFORMED', async (_label, value) => {
    const clock = new ManualClock();
    const manager = createManager({ fetchToken: () => new Promise<string>(() => {}), clock });
    await expect(manager.updateToken(value as unknown as string)).rejects.toMatchObject({ code: 'TOKEN_MALFORMED' });
    expect(manager.token).toBe(undefined);
  });
});
