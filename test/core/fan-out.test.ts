import { describe, expect, it } from 'vitest';
import type { AccessManager, AccessManagerError } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { mintToken } from '../helpers/tokens.mjs';
import { deferred } from '../helpers/deferred.js';

let manager: AccessManager | undefined;

function setup(clientTimeoutMs = 10_000) {
  const clock = new ManualClock();
  manager = createManager({ token: mintToken({ at: clock.now() }), clock, clientTimeoutMs });
  const errors: AccessManagerError[] = [];
  manager.on('error', (error) => errors.push(error));
  let n = 0;
  const next = () => mintToken({ at: clock.now() + ++n * 1000 });
  return { clock, manager, errors, next };
}


describe('fan-out to clients', () => {
  it('calls every client once per adopted token, without pushing on add', async () => {
    const { manager, next } = setup();
    const a: string[] = [];
    const b: string[] = [];
    manager.addClient({ updateToken: (t: string) => void a.push(t) });
    manager.addClient({ updateToken: async (t: string) => void b.push(t) });
    expect(a).toEqual([]);
    const t1 = next();
    await manager.updateToken(t1);
    expect(a).toEqual([t1]);
    expect(b).toEqual([t1]);
  });

  it('calls clients concurrently: a hanging client does not delay the others', async () => {
    const { manager, next } = setup();
    const calls: string[] = [];
    manager.addClient({ updateToken: () => new Promise(() => calls.push('hang')) }, { name: 'hang' });
    manager.addClient({ updateToken: () => void calls.push('fast') }, { name: 'fast' });
    void manager.updateToken(next());
    expect(calls).toEqual(['hang', 'fast']);
  });

  it('isolates a throwing and a rejecting client: CLIENT_UPDATE_FAILED with clientName and cause', async () => {
    const { manager, errors, next } = setup();
    const boom = new Error('boom');
    const received: string[] = [];
    manager.addClient({ updateToken: () => { throw boom; } }, { name: 'voice' });
    manager.addClient({ updateToken: () => Promise.reject(boom) }, { name: 'chat' });
    manager.addClient({ updateToken: (t: string) => void received.push(t) }, { name: 'sync' });
    const t1 = next();
    await manager.updateToken(t1);
    expect(received).toEqual([t1]);
    expect(errors.map((e) => [e.code, e.clientName, e.cause])).toEqual([
      ['CLIENT_UPDATE_FAILED', 'voice', boom],
      ['CLIENT_UPDATE_FAILED', 'chat', boom],
    ]);
    for (const error of errors) expect(error.message).not.toContain(t1.split('.')[1]);
  });

  it('reports CLIENT_UPDATE_TIMEOUT after clientTimeoutMs and resolves updateToken', async () => {
    const { clock, manager, errors, next } = setup(5000);
    manager.addClient({ updateToken: () => new Promise(() => {}) }, { name: 'video' });
    let done = false;
    void manager.updateToken(next()).then(() => (done = true));
    await clock.advance(4999);
    expect(errors).toEqual([]);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([['CLIENT_UPDATE_TIMEOUT', 'video']]);
    await flush();
    expect(done).toBe(true);
    expect(clock.pending).toBe(1); // only the scheduler's own timer: no client timeout left behind
  });

  it('never hands a slow client an older token after a newer one; only the newest waits', async () => {
    const { clock, manager, next } = setup();
    const calls: string[] = [];
    const pending: ReturnType<typeof deferred>[] = [];
    manager.addClient({
      updateToken: (t: string) => {
        calls.push(t);
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    });
    const [t1, t2, t3] = [next(), next(), next()];
    const u1 = manager.updateToken(t1);
    const u2 = manager.updateToken(t2);
    const u3 = manager.updateToken(t3);
    await flush();
    expect(calls).toEqual([t1]); // busy with t1: t2 and t3 wait, t2 is superseded
    pending[0]!.resolve();
    await u1;
    await flush();
    expect(calls).toEqual([t1, t3]);
    pending[1]!.resolve();
    await Promise.all([u2, u3]);
    expect(calls).toEqual([t1, t3]);
    expect(clock.pending).toBe(1); // only the scheduler's own timer: no client timeout left behind
  });

  it('delivers the newest token after a hung client times out', async () => {
    const { clock, manager, errors, next } = setup(1000);
    const calls: string[] = [];
    manager.addClient({ updateToken: (t: string) => (calls.push(t), calls.length === 1 ? new Promise(() => {}) : undefined) }, { name: 'x' });
    const [t1, t2] = [next(), next()];
    void manager.updateToken(t1);
    void manager.updateToken(t2);
    await flush();
    expect(calls).toEqual([t1]);
    await clock.advance(1000);
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_UPDATE_TIMEOUT']);
    expect(calls).toEqual([t1, t2]);
  });

  it('unsubscribes with the returned function and with removeClient', async () => {
    const { manager, next } = setup();
    const a: string[] = [];
    const b: string[] = [];
    const clientA = { updateToken: (t: string) => void a.push(t) };
    const clientB = { updateToken: (t: string) => void b.push(t) };
    const off = manager.addClient(clientA);
    manager.addClient(clientB);
    off();
    expect(manager.removeClient(clientB)).toBe(true);
    expect(manager.removeClient(clientB)).toBe(false);
    await manager.updateToken(next());
    expect(a).toEqual([]);
    expect(b).toEqual([]);
  });

  it('rejects a client without updateToken with a TypeError', () => {
    const { manager } = setup();
    expect(() => manager.addClient({} as never)).toThrow(TypeError);
    expect(() => manager.addClient(null as never)).toThrow(/updateToken/);
    expect(() => manager.addClient({ updateToken() {} }, { name: 42 as never })).toThrow(TypeError);
    expect(() => manager.addClient({ updateToken() {} }, { grants: 'chat' as never })).toThrow(/grants/);
  });

  it('reports GRANT_MISSING for the current and for later tokens, and still delivers', async () => {
    const clock = new ManualClock();
    manager = createManager({ token: mintToken({ at: clock.now(), grants: ['chat'] }), clock });
    const errors: AccessManagerError[] = [];
    manager.on('error', (error) => errors.push(error));
    const got: string[] = [];
    manager.addClient({ updateToken: (t: string) => void got.push(t) }, { name: 'voice', grants: ['voice'] });
    manager.addClient({ updateToken: () => {} }, { name: 'chat', grants: ['chat'] });
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([['GRANT_MISSING', 'voice']]);
    expect(errors[0]!.message).toContain('voice');
    const next = mintToken({ at: clock.now() + 1000, grants: ['sync'] });
    await manager.updateToken(next);
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([
      ['GRANT_MISSING', 'voice'],
      ['GRANT_MISSING', 'voice'],
      ['GRANT_MISSING', 'chat'],
    ]);
    expect(got).toEqual([next]);
  });

  it('forgets required grants when a client is registered again without them or removed', async () => {
    const clock = new ManualClock();
    manager = createManager({ token: mintToken({ at: clock.now(), grants: ['chat', 'voice'] }), clock });
    const errors: AccessManagerError[] = [];
    manager.on('error', (error) => errors.push(error));
    const a = { updateToken: () => {} };
    const b = { updateToken: () => {} };
    manager.addClient(a, { name: 'a', grants: ['video'] });
    manager.addClient(b, { name: 'b', grants: ['video'] });
    expect(errors.map((e) => e.clientName)).toEqual(['a', 'b']);
    manager.addClient(a, { name: 'a' });
    manager.removeClient(b);
    await manager.updateToken(mintToken({ at: clock.now() + 1000, grants: ['chat'] }));
    expect(errors).toHaveLength(2);
  });

  it('resolves a push when a busy client is removed, and keeps serving the others', async () => {
    const { clock, manager, next } = setup();
    const slow = { updateToken: () => new Promise<void>(() => {}) };
    const fast: string[] = [];
    manager.addClient(slow, { name: 'slow' });
    manager.addClient({ updateToken: (t: string) => void fast.push(t) });
    const t1 = next();
    const t2 = next();
    const first = manager.updateToken(t1);
    const second = manager.updateToken(t2); // waits behind the busy slow client
    manager.removeClient(slow);
    await Promise.all([first, second]);
    expect(fast).toEqual([t1, t2]);
    expect(clock.pending).toBe(1); // the scheduler's timer only: no client timeout left
  });

  it('keeps every client in order when a client adopts a newer token from inside updateToken', async () => {
    const { manager, next } = setup();
    const [t1, t2] = [next(), next()];
    const got: Record<string, string[]> = { first: [], second: [], third: [] };
    let inner: Promise<void> | undefined;
    manager.addClient(
      { updateToken: (t: string) => void (got.first!.push(t), t === t1 && (inner = manager.updateToken(t2))) },
      { name: 'first' },
    );
    manager.addClient({ updateToken: (t: string) => void got.second!.push(t) }, { name: 'second' });
    manager.addClient({ updateToken: async (t: string) => void got.third!.push(t) }, { name: 'third' });
    await manager.updateToken(t1);
    await inner;
    expect(got).toEqual({ first: [t1, t2], second: [t2], third: [t2] });
    expect(manager.token).toBe(t2);
  });

  it('isolates a client that answers with a thenable whose then throws, and keeps serving it', async () => {
    const { manager, errors, next } = setup();
    const boom = new Error('boom');
    const got: string[] = [];
    manager.addClient({ updateToken: () => ({ then: () => { throw boom; } }) as never }, { name: 'odd' });
    manager.addClient({ updateToken: (t: string) => void got.push(t) }, { name: 'fine' });
    const [t1, t2] = [next(), next()];
    await manager.updateToken(t1);
    await manager.updateToken(t2);
    expect(got).toEqual([t1, t2]);
    expect(errors.map((e) => [e.code, e.clientName, e.cause])).toEqual([
      ['CLIENT_UPDATE_FAILED', 'odd', boom],
      ['CLIENT_UPDATE_FAILED', 'odd', boom],
    ]);
  });
});
