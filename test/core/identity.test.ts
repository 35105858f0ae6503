// The `identity` option: the identity the app expects. A token of any other identity is refused, wherever it
// comes from. (Peer tokens: test/cross-tab/hostile-peer.test.ts.)
import { describe, expect, it, vi } from 'vitest';
import type { AccessManagerError, AccessManagerOptions } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { mintToken } from '../helpers/tokens.mjs';

const clock = new ManualClock();
const create = (options: AccessManagerOptions) => createManager({ clock, ...options });

describe('the identity option', () => {
  it('refuses an initial token of another identity from the constructor', () => {
    let caught: unknown;
    try {
      create({ token: mintToken({ identity: 'mallory', at: clock.now() }), identity: 'alice' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ name: 'AccessManagerError', code: 'IDENTITY_MISMATCH' });
    expect((caught as Error).message).toBe('Token is for another identity than the identity option.');
  });

  it('refuses a manual token of another identity, also with allowIdentityChange', async () => {
    const manager = create({ token: mintToken({ at: clock.now() }), identity: 'alice', allowIdentityChange: true });
    await expect(manager.updateToken(mintToken({ identity: 'bob', at: clock.now() }))).rejects.toMatchObject({
      code: 'IDENTITY_MISMATCH',
    });
    expect(manager.identity).toBe('alice');
  });

  it('refuses a fetched first token of another identity: IDENTITY_MISMATCH, not retried', async () => {
    const fetchToken = vi.fn(async () => mintToken({ identity: 'bob', at: clock.now() }));
    const manager = create({ fetchToken, identity: 'alice' });
    const errors: AccessManagerError[] = [];
    manager.on('error', (error) => errors.push(error));
    await expect(manager.getToken()).rejects.toMatchObject({ code: 'IDENTITY_MISMATCH', retryInMs: undefined });
    await clock.advance(60_000);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(manager.token).toBe(undefined);
    expect(errors.map((e) => e.message)).toEqual([
      'Fetched token is for another identity than the identity option. (attempt 1)',
    ]);
  });

  it('accepts tokens of that identity', async () => {
    const manager = create({ fetchToken: async () => mintToken({ identity: 'alice', at: clock.now() }), identity: 'alice' });
    expect(await manager.getToken()).toBe(manager.token);
    expect(manager.identity).toBe('alice');
  });
});
