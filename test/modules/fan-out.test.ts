// @vitest-environment node
// FanOut alone, on the manual clock: option checks and their exact TypeErrors, default client names, the grant
// check's bookkeeping, clear(), and the settle rules that keep a late result of a given-up call from finishing a
// newer one. The manager-level behaviour (order, isolation, re-entrancy) is test/core/fan-out*.test.ts.
import { describe, expect, it } from 'vitest';
import type { AccessManagerError } from '../../src/errors.js';
import { FanOut } from '../../src/fan-out.js';
import type { TokenClient } from '../../src/types.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { deferred } from '../helpers/deferred.js';

function setup(timeoutMs = 10_000) {
  const clock = new ManualClock();
  const errors: AccessManagerError[] = [];
  const fan = new FanOut(clock, timeoutMs, (error) => errors.push(error));
  return { clock, errors, fan };
}


/** A client whose calls wait for the test: `calls[i]` settles the i-th. */
function waitingClient() {
  const calls: Array<{ token: string } & ReturnType<typeof deferred>> = [];
  const client: TokenClient = {
    updateToken: (token: string) => {
      const call = { token, ...deferred() };
      calls.push(call);
      return call.promise;
    },
  };
  return { client, calls };
}

function track(promise: Promise<void>) {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

function thrown(run: () => unknown): TypeError {
  try {
    run();
  } catch (error) {
    return error as TypeError;
  }
  throw new Error('did not throw');
}

describe('FanOut.add: checks, with the option named', () => {
  const client = { updateToken() {} };

  it.each([
    ['a client without updateToken', () => setup().fan.add({} as TokenClient), 'client must be an object with updateToken(token).'],
    ['options that are not an object', () => setup().fan.add(client, 5 as never), 'options must be an object.'],
    ['a name that is not a string', () => setup().fan.add(client, { name: 5 as never }), 'name must be a string.'],
    ['grants that are not strings', () => setup().fan.add(client, { grants: [5] as never }), 'grants must be an array of strings.'],
  ])('%s', (_label, run, message) => {
    const error = thrown(run);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
    expect(error.cause).toBeUndefined();
  });

  it('a getter that throws: the same TypeError, with the throw as its cause', () => {
    const boom = new Error('getter');
    const hostile = {
      get updateToken(): never {
        throw boom;
      },
    };
    const error = thrown(() => setup().fan.add(hostile as TokenClient));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('client must be an object with updateToken(token).');
    expect(error.cause).toBe(boom);
  });
});

describe('FanOut.add: default names', () => {
  const anonymous = /^client#\d+$/;

  it("a class instance is named after its class; a plain object, or one whose constructor is named '' or 'Object', gets client#n", () => {
    const { fan } = setup();
    class ChatClient {
      updateToken() {}
    }
    expect(fan.add(new ChatClient()).name).toBe('ChatClient');
    expect(fan.add({ updateToken() {} }).name).toMatch(anonymous);
    expect(fan.add({ updateToken() {}, constructor: { name: '' } } as TokenClient).name).toMatch(anonymous);
    expect(fan.add({ updateToken() {}, constructor: { name: 'Object' } } as TokenClient).name).toMatch(anonymous);
    expect(fan.add({ updateToken() {}, constructor: { name: 7 } } as TokenClient).name).toMatch(anonymous);
    expect(fan.add(Object.assign(Object.create(null) as object, { updateToken() {} }) as TokenClient).name).toMatch(anonymous);
  });

  it('each anonymous client gets its own number', () => {
    const { fan } = setup();
    const a = fan.add({ updateToken() {} }).name;
    const b = fan.add({ updateToken() {} }).name;
    expect(a).not.toBe(b);
  });

  it('registering a client again keeps its entry and replaces its name', () => {
    const { fan } = setup();
    const client = { updateToken() {} };
    const entry = fan.add(client, { name: 'a' });
    expect(fan.add(client, { name: 'b' })).toBe(entry);
    expect(entry.name).toBe('b');
  });
});

describe('FanOut.checkGrants', () => {
  it('removing a client without grants does not silence the check for one that has them', () => {
    const { fan, errors } = setup();
    fan.add({ updateToken() {} }, { name: 'chat', grants: ['chat'] });
    const plain = { updateToken() {} };
    fan.add(plain, { name: 'plain' });
    fan.remove(plain);
    fan.checkGrants({});
    expect(errors.map((e) => [e.code, e.clientName, e.message])).toEqual([
      ['GRANT_MISSING', 'chat', 'Client "chat" needs the "chat" grant, which the token lacks.'],
    ]);
  });
});

describe('FanOut.clear', () => {
  it('removes every client: a push under way resolves, a later push reaches nobody', async () => {
    const { fan } = setup();
    const { client, calls } = waitingClient();
    fan.add(client);
    const first = track(fan.push('t1'));
    await flush();
    expect(first.done).toBe(false);
    fan.clear();
    await flush();
    expect(first.done).toBe(true);
    await fan.push('t2');
    expect(calls.map((c) => c.token)).toEqual(['t1']);
  });
});

describe('FanOut: what a client failing or hanging reports', () => {
  it('CLIENT_UPDATE_FAILED names the client and keeps the cause', async () => {
    const { fan, errors } = setup();
    const boom = new Error('boom');
    fan.add(
      {
        updateToken: () => {
          throw boom;
        },
      },
      { name: 'chat' },
    );
    await fan.push('t1');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('CLIENT_UPDATE_FAILED');
    expect(errors[0]!.message).toBe('Client "chat" failed to update its token.');
    expect(errors[0]!.clientName).toBe('chat');
    expect(errors[0]!.cause).toBe(boom);
  });

  it('CLIENT_UPDATE_TIMEOUT names the client, without a cause', async () => {
    const { fan, errors, clock } = setup(5000);
    fan.add({ updateToken: () => new Promise(() => {}) }, { name: 'video' });
    const push = track(fan.push('t1'));
    await clock.advance(5000);
    expect(push.done).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('CLIENT_UPDATE_TIMEOUT');
    expect(errors[0]!.message).toBe('Client "video" updateToken exceeded clientTimeoutMs.');
    expect('cause' in errors[0]!).toBe(false);
  });

  it("a push's timeout gives up only on the clients still busy with that push, not on those busy with a newer one", async () => {
    const { fan, errors, clock } = setup(10_000);
    const slow = waitingClient();
    fan.add(slow.client, { name: 'slow' });
    void fan.push('t1');
    await clock.advance(5000);
    const late = waitingClient();
    fan.add(late.client, { name: 'late' });
    void fan.push('t2');
    await clock.advance(5000);
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([['CLIENT_UPDATE_TIMEOUT', 'slow']]);
    await clock.advance(5000);
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([
      ['CLIENT_UPDATE_TIMEOUT', 'slow'],
      ['CLIENT_UPDATE_TIMEOUT', 'late'],
    ]);
  });
});

describe('FanOut: late results', () => {
  it('a given-up call that resolves late does not finish the newer token the client is busy with', async () => {
    const { fan, clock } = setup(1000);
    const { client, calls } = waitingClient();
    fan.add(client);
    void fan.push('t1');
    const second = track(fan.push('t2'));
    await clock.advance(1000);
    expect(calls.map((c) => c.token)).toEqual(['t1', 't2']);
    calls[0]!.resolve();
    await flush();
    expect(second.done).toBe(false);
    calls[1]!.resolve();
    await flush();
    expect(second.done).toBe(true);
  });

  it('a given-up call that rejects late reports nothing and does not finish the newer token', async () => {
    const { fan, clock, errors } = setup(1000);
    const { client, calls } = waitingClient();
    fan.add(client, { name: 'c' });
    void fan.push('t1');
    const second = track(fan.push('t2'));
    await clock.advance(1000);
    calls[0]!.reject(new Error('late'));
    await flush();
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_UPDATE_TIMEOUT']);
    expect(second.done).toBe(false);
  });

  it('a removed client that rejects afterwards reports nothing', async () => {
    const { fan, errors } = setup();
    const { client, calls } = waitingClient();
    fan.add(client);
    const push = track(fan.push('t1'));
    fan.remove(client);
    await flush();
    expect(push.done).toBe(true);
    calls[0]!.reject(new Error('after removal'));
    await flush();
    expect(errors).toEqual([]);
  });

  it('a synchronous call followed at once by a pending one: the pending one is still timed', async () => {
    const { fan, clock } = setup(1000);
    let n = 0;
    const pending = deferred();
    fan.add({ updateToken: () => (++n === 1 ? undefined : pending.promise) });
    void fan.push('t1');
    const second = track(fan.push('t2'));
    await flush();
    expect(second.done).toBe(false);
    await clock.advance(1000);
    expect(second.done).toBe(true);
  });
});

describe('FanOut: a push made from inside a push (a client pushing re-entrantly)', () => {
  /** A synchronous client that pushes `inner` from inside its call with `trigger`. */
  function pusher(fan: FanOut, trigger: string, inner: string) {
    return { updateToken: (token: string) => void (token === trigger && fan.push(inner)) };
  }

  it('the outer push waits for a later client busy with the inner token', async () => {
    const { fan } = setup();
    fan.add(pusher(fan, 't1', 't2'));
    const slow = waitingClient();
    fan.add(slow.client);
    const outer = track(fan.push('t1'));
    await flush();
    expect(slow.calls.map((c) => c.token)).toEqual(['t2']);
    expect(outer.done).toBe(false);
    slow.calls[0]!.resolve();
    await flush();
    expect(outer.done).toBe(true);
  });

  it('the outer push waits for the inner token a busy later client has waiting, not just its current call', async () => {
    const { fan } = setup();
    fan.add(pusher(fan, 't1', 't2'));
    const slow = waitingClient();
    fan.add(slow.client);
    void fan.push('t0');
    const outer = track(fan.push('t1'));
    await flush();
    slow.calls[0]!.resolve();
    await flush();
    expect(slow.calls.map((c) => c.token)).toEqual(['t0', 't2']);
    expect(outer.done).toBe(false);
    slow.calls[1]!.resolve();
    await flush();
    expect(outer.done).toBe(true);
  });
});
