import { describe, expect, it } from 'vitest';
import type { AccessManager, AccessManagerError } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { names, record } from '../helpers/record.js';
import { mintToken } from '../helpers/tokens.mjs';

let manager: AccessManager | undefined;

function setup(options: { allowIdentityChange?: boolean } = {}) {
  const clock = new ManualClock();
  const token = mintToken({ at: clock.now(), ttl: 3600, identity: 'alice' });
  manager = createManager({ token, clock, ...options });
  const events = record(manager, clock.now);
  return { clock, token, manager, events };
}

async function rejection(promise: Promise<unknown>): Promise<AccessManagerError> {
  try {
    await promise;
  } catch (error) {
    return error as AccessManagerError;
  }
  throw new Error('did not reject');
}

describe('updateToken', () => {
  it('adopts a newer token and emits tokenUpdated with source manual', async () => {
    const { clock, token, manager, events } = setup();
    const seen: unknown[] = [];
    manager.on('tokenUpdated', (info) => seen.push(info));
    const newer = mintToken({ at: clock.now() + 1000, ttl: 3600, identity: 'alice' });
    await manager.updateToken(newer);
    expect(manager.token).toBe(newer);
    expect(manager.expiresAt).toEqual(new Date(clock.now() + 1000 + 3600_000));
    expect(seen).toEqual([
      { token: newer, previousToken: token, expiresAt: new Date(clock.now() + 1000 + 3600_000), identity: 'alice', source: 'manual' },
    ]);
    expect(names(events)).toEqual(['tokenUpdated']);
  });

  it('treats the same token string as a no-op', async () => {
    const { token, manager, events } = setup();
    await manager.updateToken(token);
    expect(events).toEqual([]);
  });

  it('accepts a token with the same exp (not earlier)', async () => {
    const { clock, manager } = setup();
    const same = mintToken({ at: clock.now(), ttl: 3600, identity: 'alice', grants: ['chat'] });
    await manager.updateToken(same);
    expect(manager.token).toBe(same);
  });

  it.each([
    ['TOKEN_MALFORMED', () => 'bm90LWpzb24tYXQtYWxs.eyJleHAiOjF9X.c2lnbmF0dXJlLXBhcnQ'],
    ['TOKEN_MALFORMED', () => 42 as unknown as string],
    ['TOKEN_EXPIRED', (now: number) => mintToken({ at: now - 7200_000, ttl: 3600, identity: 'alice' })],
    ['IDENTITY_MISMATCH', (now: number) => mintToken({ at: now + 1000, ttl: 3600, identity: 'mallory' })],
    ['TOKEN_STALE', (now: number) => mintToken({ at: now - 1000, ttl: 3600, identity: 'alice' })],
  ])('rejects with %s and changes nothing', async (code, make) => {
    const { clock, token, manager, events } = setup();
    const bad = make(clock.now());
    const error = await rejection(manager.updateToken(bad));
    expect(error.name).toBe('AccessManagerError');
    expect(error.code).toBe(code);
    if (typeof bad === 'string') for (const part of bad.split('.').filter((p) => p.length >= 8)) expect(error.message).not.toContain(part);
    expect(manager.token).toBe(token);
    expect(manager.state).toBe('valid');
    expect(events).toEqual([]);
  });

  it('checks in order: expired before identity, identity before stale', async () => {
    const { clock, manager } = setup();
    const expiredOther = mintToken({ at: clock.now() - 7200_000, ttl: 3600, identity: 'mallory' });
    expect((await rejection(manager.updateToken(expiredOther))).code).toBe('TOKEN_EXPIRED');
    const olderOther = mintToken({ at: clock.now() - 1000, ttl: 3600, identity: 'mallory' });
    expect((await rejection(manager.updateToken(olderOther))).code).toBe('IDENTITY_MISMATCH');
  });

  it('accepts another identity with allowIdentityChange, even with an earlier exp', async () => {
    const { clock, manager } = setup({ allowIdentityChange: true });
    const bob = mintToken({ at: clock.now() - 60_000, ttl: 3600, identity: 'bob' });
    await manager.updateToken(bob);
    expect(manager.identity).toBe('bob');
  });

  it('exposes identity and grants of the current token', () => {
    const { manager } = setup();
    expect(manager.identity).toBe('alice');
    expect(Object.keys(manager.grants).sort()).toEqual(['chat', 'data_sync', 'identity', 'voice']);
  });

  it('resolves once every client has settled', async () => {
    const { clock, manager } = setup();
    let release!: () => void;
    const slow = { updateToken: () => new Promise<void>((resolve) => (release = resolve)) };
    manager.addClient(slow);
    let done = false;
    const update = manager.updateToken(mintToken({ at: clock.now() + 1000, identity: 'alice' })).then(() => (done = true));
    await clock.advance(100);
    expect(done).toBe(false);
    release();
    await update;
    expect(done).toBe(true);
  });
});
