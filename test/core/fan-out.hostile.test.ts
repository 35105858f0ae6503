// The fan-out on its own, against clients, options and grants that fight back: throwing getters, revoked proxies,
// thenables that throw or call back twice, and clients or listeners that push again while a push is under way.
import { describe, expect, it } from 'vitest';
import { MAX_TIMEOUT_MS } from '../../src/clock.js';
import type { AccessManagerError } from '../../src/errors.js';
import { FanOut } from '../../src/fan-out.js';
import type { TokenClient } from '../../src/types.js';
import { ManualClock, flush } from '../helpers/clock.mjs';

function setup(timeoutMs = 1000) {
  const clock = new ManualClock();
  const errors: AccessManagerError[] = [];
  let onError: ((error: AccessManagerError) => void) | undefined;
  const fanOut = new FanOut(clock, timeoutMs, (error) => {
    errors.push(error);
    onError?.(error);
  });
  return { clock, fanOut, errors, onError: (listener: (error: AccessManagerError) => void) => (onError = listener) };
}

const recorders = new WeakSet<object>();

/** A client that records every token it is handed and answers with `answer` (default: nothing). */
function recorder(answer: (token: string) => unknown = () => undefined) {
  const got: string[] = [];
  const client = {
    got,
    updateToken(token: string) {
      got.push(token);
      return answer(token);
    },
  };
  recorders.add(client);
  return client as typeof client & TokenClient;
}

const boom = new Error('boom');
const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};
const settled = (promise: Promise<unknown>) => {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
};

describe('fan-out: hostile values from clients', () => {
  const hostile: [string, () => unknown][] = [
    ['a then that throws', () => ({ then: () => { throw boom; } })],
    ['a then getter that throws', () => ({ get then() { throw boom; } })],
    ['a revoked proxy', revoked],
    ['a promise whose own then getter throws', () => Object.defineProperty(Promise.resolve(), 'then', { get() { throw boom; } })],
    ['a promise whose constructor getter throws', () => Object.defineProperty(Promise.resolve(), 'constructor', { get() { throw boom; } })],
  ];
  for (const [what, answer] of hostile) {
    it(`isolates a client that returns ${what}: CLIENT_UPDATE_FAILED, the others get the token, later pushes settle`, async () => {
      const { fanOut, errors } = setup();
      const before = recorder();
      const bad = recorder(answer);
      const after = recorder(() => Promise.resolve());
      fanOut.add(before, { name: 'before' });
      fanOut.add(bad, { name: 'bad' });
      fanOut.add(after, { name: 'after' });
      await fanOut.push('tok-1');
      await fanOut.push('tok-2');
      expect(before.got).toEqual(['tok-1', 'tok-2']);
      expect(bad.got).toEqual(['tok-1', 'tok-2']);
      expect(after.got).toEqual(['tok-1', 'tok-2']);
      expect(errors.map((e) => [e.code, e.clientName])).toEqual([
        ['CLIENT_UPDATE_FAILED', 'bad'],
        ['CLIENT_UPDATE_FAILED', 'bad'],
      ]);
      expect(errors[0]!.cause).toBeInstanceOf(Error);
      for (const error of errors) expect(error.message).not.toContain('tok-');
    });
  }

  it('reports a client whose updateToken getter throws at push time, and still serves the others', async () => {
    const { fanOut, errors } = setup();
    let armed = false;
    const bad = {
      get updateToken() {
        if (armed) throw boom;
        return () => {};
      },
    };
    const good = recorder();
    fanOut.add(bad, { name: 'bad' });
    fanOut.add(good);
    armed = true;
    await fanOut.push('tok-1');
    expect(good.got).toEqual(['tok-1']);
    expect(errors.map((e) => [e.code, e.clientName, e.cause])).toEqual([['CLIENT_UPDATE_FAILED', 'bad', boom]]);
  });

  it('calls a thenable back at most once per token: one that settles twice, synchronously, cannot end the next call early', async () => {
    const { clock, fanOut, errors } = setup(1000);
    let pushed: Promise<void> | undefined;
    const client = recorder((token) => {
      if (token !== 'tok-1') return new Promise(() => {});
      pushed = fanOut.push('tok-2'); // queued behind tok-1
      return {
        then(ok: () => void, fail: (e: unknown) => void) {
          ok();
          ok();
          fail(boom);
        },
      };
    });
    fanOut.add(client, { name: 'twice' });
    const first = settled(fanOut.push('tok-1'));
    await flush();
    expect(client.got).toEqual(['tok-1', 'tok-2']);
    expect(first.done).toBe(true);
    const second = settled(pushed!);
    await clock.advance(999);
    expect(second.done).toBe(false); // tok-2 hangs: its push waits for the timeout, not for tok-1's extra calls
    await clock.advance(1);
    expect(second.done).toBe(true);
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_UPDATE_TIMEOUT']);
  });
});

describe('fan-out: order under re-entrancy', () => {
  it('never hands a later client the older token when a sync client pushes a newer one mid-loop', async () => {
    const { fanOut } = setup();
    const a = recorder((token) => (token === 'tok-1' ? void fanOut.push('tok-2') : undefined));
    const b = recorder();
    const c = recorder(() => Promise.resolve());
    fanOut.add(a);
    fanOut.add(b);
    fanOut.add(c);
    await fanOut.push('tok-1');
    await flush();
    expect(a.got).toEqual(['tok-1', 'tok-2']);
    expect(b.got).toEqual(['tok-2']);
    expect(c.got).toEqual(['tok-2']);
  });

  it('never hands a client an older waiting token after an error listener pushed a newer one', async () => {
    const { fanOut, onError } = setup();
    let fail!: (e: unknown) => void;
    const client = recorder((token) => (token === 'tok-1' ? new Promise((_, reject) => (fail = reject)) : Promise.resolve()));
    fanOut.add(client, { name: 'x' });
    const p1 = fanOut.push('tok-1');
    const p2 = fanOut.push('tok-2'); // waits behind tok-1
    let p3: Promise<void> | undefined;
    onError(() => (p3 ??= fanOut.push('tok-3')));
    fail(boom);
    await Promise.all([p1, p2, p3]);
    // tok-2 was waiting: it goes out before listeners hear of tok-1's failure, and tok-3 queues behind it.
    expect(client.got).toEqual(['tok-1', 'tok-2', 'tok-3']);
  });

  it('does not hand a client added during a push that push token, and settles when a client is removed mid-loop', async () => {
    const { fanOut } = setup();
    const late = recorder();
    const gone = recorder();
    const first = recorder((token) => {
      if (token === 'tok-1') {
        fanOut.add(late);
        fanOut.remove(gone);
      }
    });
    fanOut.add(first);
    fanOut.add(gone);
    await fanOut.push('tok-1');
    expect(late.got).toEqual([]);
    expect(gone.got).toEqual([]);
    await fanOut.push('tok-2');
    expect(late.got).toEqual(['tok-2']);
  });
});

describe('fan-out: add() validates everything before it registers', () => {
  const throwing = (key: string) => Object.defineProperty({}, key, { enumerable: true, get: () => { throw boom; } });
  const cases: [string, unknown, unknown, RegExp][] = [
    ['grants with a non-string name', recorder(), { grants: ['chat', 7] }, /grants/],
    ['grants with a hole', recorder(), { grants: ['chat', , 'voice'] }, /grants/],
    ['grants that are not an array', recorder(), { grants: 'chat' }, /grants/],
    ['a grants getter that throws', recorder(), throwing('grants'), /grants/],
    ['grants as a revoked proxy', recorder(), { grants: revoked() }, /grants/],
    ['a name getter that throws', recorder(), throwing('name'), /name/],
    ['a name that is not a string', recorder(), { name: 42 }, /name/],
    ['options that are a revoked proxy', recorder(), revoked(), /options|name|grants/],
    ['options that are not an object', recorder(), 'chat', /options/],
    ['options that are null', recorder(), null, /options/],
    ['a client without updateToken', {}, {}, /client/],
    ['a null client', null, {}, /client/],
    ['a client whose updateToken getter throws', throwing('updateToken'), {}, /client/],
    ['a revoked proxy as client', revoked(), {}, /client/],
  ];
  for (const [what, client, options, name] of cases) {
    it(`throws a TypeError naming the option for ${what}, and registers nothing`, async () => {
      const { fanOut } = setup();
      expect(() => fanOut.add(client as TokenClient, options as never)).toThrow(TypeError);
      expect(() => fanOut.add(client as TokenClient, options as never)).toThrow(name);
      expect(fanOut.remove(client as TokenClient)).toBe(false);
      await fanOut.push('tok-1');
      if (recorders.has(client as object)) expect((client as { got: string[] }).got).toEqual([]);
    });
  }

  it('keeps the earlier options of a registered client when registering it again fails', () => {
    const { fanOut, errors } = setup();
    const client = recorder();
    fanOut.add(client, { name: 'chat', grants: ['chat'] });
    expect(() => fanOut.add(client, { name: 'other', grants: ['voice', 1 as never] })).toThrow(/grants/);
    fanOut.checkGrants({});
    expect(errors.map((e) => [e.code, e.clientName])).toEqual([['GRANT_MISSING', 'chat']]);
    expect(errors[0]!.message).toContain('"chat"');
  });

  it('names a client whose constructor getter throws after its position instead of failing', async () => {
    const { fanOut, errors } = setup();
    const client = Object.defineProperty(recorder(() => Promise.reject(boom)), 'constructor', {
      get() {
        throw boom;
      },
    });
    expect(() => fanOut.add(client)).not.toThrow();
    await fanOut.push('tok-1');
    expect(errors.map((e) => e.code)).toEqual(['CLIENT_UPDATE_FAILED']);
    expect(errors[0]!.clientName).toMatch(/^client#\d+$/);
  });

  it('copies grants once: a later change to the caller array changes nothing', () => {
    const { fanOut, errors } = setup();
    const grants = ['voice'];
    fanOut.add(recorder(), { name: 'voice', grants });
    grants[0] = 'chat';
    fanOut.checkGrants({ chat: {} });
    expect(errors.map((e) => e.clientName)).toEqual(['voice']);
  });
});

describe('fan-out: grant checks', () => {
  it('reports names of Object.prototype members as missing unless the grants own them', () => {
    const { fanOut, errors } = setup();
    fanOut.add(recorder(), { name: 'odd', grants: ['constructor', 'hasOwnProperty', 'toString', '__proto__'] });
    fanOut.checkGrants({});
    expect(errors.map((e) => e.message)).toEqual([
      'Client "odd" needs the "constructor" grant, which the token lacks.',
      'Client "odd" needs the "hasOwnProperty" grant, which the token lacks.',
      'Client "odd" needs the "toString" grant, which the token lacks.',
      'Client "odd" needs the "__proto__" grant, which the token lacks.',
    ]);
    errors.length = 0;
    fanOut.checkGrants(JSON.parse('{"constructor":{},"hasOwnProperty":1,"toString":"","__proto__":{}}'));
    expect(errors).toEqual([]);
  });

  it('accepts grants with a null prototype, and treats unreadable grants as missing without throwing', () => {
    const { fanOut, errors } = setup();
    fanOut.add(recorder(), { name: 'voice', grants: ['voice'] });
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { voice: {} });
    fanOut.checkGrants(bare);
    expect(errors).toEqual([]);
    const trap = () => {
      throw boom;
    };
    const hostile = new Proxy({}, { getOwnPropertyDescriptor: trap, get: trap, has: trap });
    for (const grants of [hostile, revoked(), null, undefined, 'voice']) {
      expect(() => fanOut.checkGrants(grants as never)).not.toThrow();
    }
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('GRANT_MISSING'));
  });
});

describe('fan-out: timeout', () => {
  it(`clamps clientTimeoutMs to ${MAX_TIMEOUT_MS} ms, past which browsers fire a timer at once`, async () => {
    for (const timeoutMs of [2 ** 31, 2 ** 53, Number.MAX_VALUE]) {
      const { clock, fanOut, errors } = setup(timeoutMs);
      fanOut.add(recorder(() => new Promise(() => {})), { name: 'hang' });
      void fanOut.push('tok-1');
      await flush();
      expect(clock.armed).toEqual([MAX_TIMEOUT_MS]);
      await clock.advance(MAX_TIMEOUT_MS - 1);
      expect(errors).toEqual([]);
      await clock.advance(1);
      expect(errors.map((e) => e.code)).toEqual(['CLIENT_UPDATE_TIMEOUT']);
    }
  });
});
