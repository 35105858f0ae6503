// token-warden/twilio against hostile SDK objects and payloads:
// - isTwilioTokenError / getTwilioTokenErrorCode never throw, whatever they are given;
// - connectTwilioClient either connects or throws, and when it throws the client is not left registered (a later
//   token does not reach it);
// - the SDK's events, with any payload, never throw into the SDK's emitter, before or after the manager is disposed;
// - disconnect() removes every listener it added and the client gets no token after it, even when the emitter
//   misbehaves.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessManager } from '../../src/index.js';
import { connectTwilioClient, getTwilioTokenErrorCode, isTwilioTokenError } from '../../src/twilio/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { Boom, build, hostileSpec, watchUnhandled } from './hostile.js';

const POOL = Array.from({ length: 8 }, (_, i) => mintToken({ at: L, ttl: 3600 + i }));
const EVENTS = ['tokenAboutToExpire', 'tokenWillExpire', 'tokenExpired', 'error', 'connectionError', 'connectionStateChanged', 'destroyed'];

let unhandled: ReturnType<typeof watchUnhandled>;
beforeAll(() => {
  unhandled = watchUnhandled();
});
afterAll(() => unhandled.stop());

describe('Twilio error helpers against anything', () => {
  it('isTwilioTokenError and getTwilioTokenErrorCode never throw', () => {
    fc.assert(
      fc.property(hostileSpec, (spec) => {
        const value = build(spec);
        expect(typeof isTwilioTokenError(value)).toBe('boolean');
        const code = getTwilioTokenErrorCode(value);
        expect(code === undefined || typeof code === 'number').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

type Hook = 'ok' | 'throws' | 'missing' | 'getterThrows' | 'throwsLater';
const hookArb = fc.constantFrom<Hook>('ok', 'ok', 'ok', 'throws', 'missing', 'getterThrows', 'throwsLater');

const emitterArb = fc.record({
  on: hookArb,
  off: hookArb,
  /** Node-style names instead of on/off. */
  nodeStyle: fc.boolean(),
  connectionState: fc.constantFrom(undefined, 'connected', 'disconnecting', 'getterThrows' as const),
  /** Methods the SDK sniffing looks at, as getters that throw. */
  sniffThrows: fc.boolean(),
  constructorThrows: fc.boolean(),
  options: fc.constantFrom('none', 'name', 'nameGetterThrows', 'grantsGetterThrows', 'grantsIterableThrows', 'grantsNotArray'),
});
type EmitterSpec = typeof emitterArb extends fc.Arbitrary<infer T> ? T : never;

/** A fake SDK emitter whose hooks misbehave as the spec says; it counts the listeners it holds. */
function makeEmitter(spec: EmitterSpec) {
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  const received: string[] = [];
  let adds = 0;
  const hook = (kind: Hook, real: (event: string, listener: (...args: unknown[]) => void) => void) => {
    if (kind === 'missing') return undefined;
    return (event: string, listener: (...args: unknown[]) => void) => {
      if (kind === 'throws') throw new Boom('hook');
      if (kind === 'throwsLater' && ++adds > 3) throw new Boom('hook later');
      real(event, listener);
    };
  };
  const add = hook(spec.on, (event, listener) => {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event)!.add(listener);
  });
  const remove = hook(spec.off, (event, listener) => void listeners.get(event)?.delete(listener));
  const client: Record<string, unknown> = { updateToken: (token: string) => void received.push(token) };
  const define = (key: string, kind: Hook, fn: unknown) => {
    if (kind === 'getterThrows') {
      Object.defineProperty(client, key, {
        get: () => {
          throw new Boom(`${key} getter`);
        },
      });
    } else if (fn !== undefined) {
      client[key] = fn;
    }
  };
  define(spec.nodeStyle ? 'addListener' : 'on', spec.on, add);
  define(spec.nodeStyle ? 'removeListener' : 'off', spec.off, remove);
  if (spec.connectionState === 'getterThrows') {
    Object.defineProperty(client, 'connectionState', {
      get: () => {
        throw new Boom('connectionState');
      },
    });
  } else if (spec.connectionState !== undefined) {
    client.connectionState = spec.connectionState;
  }
  if (spec.sniffThrows) {
    for (const key of ['register', 'getSubscribedConversations', 'document']) {
      Object.defineProperty(client, key, {
        get: () => {
          throw new Boom(key);
        },
      });
    }
  }
  if (spec.constructorThrows) {
    Object.defineProperty(client, 'constructor', {
      get: () => {
        throw new Boom('constructor');
      },
    });
  }
  const count = () => [...listeners.values()].reduce((n, set) => n + set.size, 0);
  /** Emits like an SDK would; returns what the listeners threw into the emitter. */
  const emit = (event: string, payload: unknown): unknown[] => {
    const thrown: unknown[] = [];
    for (const listener of [...(listeners.get(event) ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        thrown.push(error);
      }
    }
    return thrown;
  };
  return { client, received, count, emit };
}

function optionsFor(kind: EmitterSpec['options']): unknown {
  const throwing = (key: string) =>
    Object.defineProperty({}, key, {
      get: () => {
        throw new Boom(key);
      },
    });
  switch (kind) {
    case 'none':
      return undefined;
    case 'name':
      return { name: 'sdk' };
    case 'nameGetterThrows':
      return throwing('name');
    case 'grantsGetterThrows':
      return throwing('grants');
    case 'grantsIterableThrows':
      return {
        grants: {
          [Symbol.iterator]() {
            throw new Boom('grants iterator');
          },
        },
      };
    case 'grantsNotArray':
      return { grants: 42 };
  }
}

describe('connectTwilioClient against hostile emitters and payloads', () => {
  it('connects or throws without leaving the client registered; events never throw into the SDK; disconnect cleans up', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        emitterArb,
        fc.array(fc.record({ event: fc.constantFrom(...EVENTS), payload: hostileSpec }), { maxLength: 8 }),
        fc.constantFrom('dispose first', 'disconnect first', 'keep'),
        async (spec, events, ending) => {
          const clock = new ManualClock(L);
          let next = 1;
          const manager = new AccessManager({ token: POOL[0], clock, fetchToken: async () => POOL[Math.min(next++, POOL.length - 1)]!, clientTimeoutMs: 500 });
          manager.on('error', () => {});
          const sdk = makeEmitter(spec);
          let disconnect: (() => void) | undefined;
          try {
            disconnect = connectTwilioClient(manager, sdk.client as never, optionsFor(spec.options) as never);
          } catch {
            // Refused: the client must not be registered. (An emitter whose off() also fails is the known case below.)
            await manager.updateToken(POOL[7]!);
            await clock.advance(1000);
            if (spec.off === 'ok') expect(sdk.received, 'a client whose connectTwilioClient threw was handed a token').toEqual([]);
            manager.dispose();
            return;
          }
          expect(typeof disconnect).toBe('function');
          // `destroyed` disconnects and `connectionStateChanged` may unsubscribe, both through the SDK's own off():
          // when that throws, the throw reaches the SDK (part of the known bug below).
          const offWorks = spec.off === 'ok';
          const quiet = (event: string) => offWorks || (event !== 'destroyed' && event !== 'connectionStateChanged');
          for (const { event, payload } of events) {
            const thrown = sdk.emit(event, build(payload));
            if (quiet(event)) expect(thrown, `${event} threw into the SDK`).toEqual([]);
            await clock.advance(100);
          }
          if (ending === 'dispose first') {
            manager.dispose();
            for (const event of EVENTS.filter(quiet)) expect(sdk.emit(event, { code: 20104 }), `${event} threw into the SDK after dispose`).toEqual([]);
          }
          if (ending !== 'keep') {
            try {
              disconnect();
            } catch {
              // An emitter whose off() throws may make disconnect throw; the client must be gone all the same.
            }
            if (spec.off === 'ok') expect(sdk.count(), 'listeners left on the SDK after disconnect').toBe(0);
            if (ending === 'disconnect first' && offWorks) {
              const before = sdk.received.length;
              await manager.updateToken(POOL[7]!);
              await clock.advance(1000);
              expect(sdk.received.length, 'a disconnected client was handed a token').toBe(before);
            }
          }
          manager.dispose();
          await flush();
          await unhandled.settle();
          expect(unhandled.reasons).toEqual([]);
        },
      ),
      { numRuns: 250 },
    );
  });

  // Known bug: disconnect() calls the emitter's off()/removeListener() before removing the client from the manager,
  // without containing a throw. An object without on/off (or whose off throws) is refused by connectTwilioClient
  // with a TypeError, yet stays registered and keeps receiving every token; disconnect() on an emitter whose off()
  // throws leaves the client registered too, and a `destroyed` event then throws into the SDK's own emit().
  it('a client refused by connectTwilioClient (no on/off) is not left registered', async () => {
    const clock = new ManualClock(L);
    const manager = new AccessManager({ token: POOL[0], clock });
    const received: string[] = [];
    expect(() => connectTwilioClient(manager, { updateToken: (token: string) => void received.push(token) } as never)).toThrow(TypeError);
    await manager.updateToken(POOL[1]!);
    manager.dispose();
    expect(received).toEqual([]);
  });

  it('disconnect() with an off() that throws still unregisters the client', async () => {
    const clock = new ManualClock(L);
    const manager = new AccessManager({ token: POOL[0], clock });
    const received: string[] = [];
    const client = {
      updateToken: (token: string) => void received.push(token),
      on: () => {},
      off: () => {
        throw new Error('off');
      },
    };
    const disconnect = connectTwilioClient(manager, client as never);
    try {
      disconnect();
    } catch {
      // whether disconnect throws is secondary; the client must be gone
    }
    await manager.updateToken(POOL[1]!);
    manager.dispose();
    expect(received).toEqual([]);
  });
});
