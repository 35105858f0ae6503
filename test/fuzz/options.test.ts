// The constructor against arbitrary option objects: wrong types, values out of range, getters that throw, proxies
// (revoked, or whose traps throw). It either builds a working manager or throws a TypeError/RangeError naming an
// option, or AccessManagerError TOKEN_MALFORMED / IDENTITY_MISMATCH for the initial token; never anything else, and
// a constructor that throws leaves no timer, window listener or channel behind (neither does dispose()).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessManager, AccessManagerError, type AccessManagerOptions } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { type TabEnv, installTabEnv } from '../helpers/tab-env.mjs';
import { START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { Boom } from './hostile.js';

const ALICE = mintToken({ at: L - 10 * 60_000, identity: 'alice' });
const BOB = mintToken({ at: L, identity: 'bob' });
const EXPIRED = mintToken({ at: L - 2 * 3600_000, identity: 'alice' });

/** How a value relates to the rules: fine, a wrong type or range, or a getter that throws on reading it. */
type Verdict = 'ok' | 'bad';
interface Choice {
  /** A label for the value, so a counterexample reads well. */
  label: string;
  verdict: Verdict;
  make: (clock: ManualClock) => unknown;
}

const c = (label: string, verdict: Verdict, value: unknown): Choice => ({ label, verdict, make: () => value });
const getterThrows: Choice = { label: 'getter throws', verdict: 'bad', make: () => undefined };
const fetcher = () => new Promise<string>(() => {});

const retryObject = (fields: Record<string, unknown>, throwing?: string): Record<string, unknown> => {
  const retry = { ...fields };
  if (throwing) Object.defineProperty(retry, throwing, { get: () => { throw new Boom(`retry.${throwing}`); }, enumerable: true });
  return retry;
};

/** For each option: values the rules accept and values they refuse (undefined is "not given"). */
const CHOICES: Record<string, Choice[]> = {
  token: [
    c('alice', 'ok', ALICE),
    c('expired', 'ok', EXPIRED),
    c('bob', 'ok', BOB),
    c('undefined', 'ok', undefined),
    c('malformed', 'ok', 'eyJhbGciOiJIUzI1NiJ9.bm90LWpzb24.c2ln'),
    c('number', 'bad', 42),
    c('String object', 'bad', new String(ALICE)),
    c('null', 'bad', null),
    getterThrows,
  ],
  fetchToken: [
    c('function', 'ok', fetcher),
    c('undefined', 'ok', undefined),
    c('string', 'bad', '/token'),
    c('null', 'bad', null),
    c('object', 'bad', { fetchToken: fetcher }),
    getterThrows,
  ],
  aboutToExpireMs: [
    c('0', 'ok', 0),
    c('180000', 'ok', 180_000),
    c('1e300', 'ok', 1e300),
    c('-1', 'bad', -1),
    c('NaN', 'bad', NaN),
    c('Infinity', 'bad', Infinity),
    c("'1'", 'bad', '1'),
    c('null', 'bad', null),
    getterThrows,
  ],
  autoRefresh: [c('true', 'ok', true), c('false', 'ok', false), c("'yes'", 'bad', 'yes'), c('1', 'bad', 1), getterThrows],
  fetchTimeoutMs: [
    c('1', 'ok', 1),
    c('5000', 'ok', 5000),
    c('3e9', 'ok', 3e9),
    c('0', 'bad', 0),
    c('-1', 'bad', -1),
    c('Infinity', 'bad', Infinity),
    c('NaN', 'bad', NaN),
    c("'1'", 'bad', '1'),
    getterThrows,
  ],
  retry: [
    c('false', 'ok', false),
    c('{}', 'ok', {}),
    c('{ min 0, max 10, factor 1 }', 'ok', { minDelayMs: 0, maxDelayMs: 10, factor: 1 }),
    c('{ min 5000 }', 'ok', { minDelayMs: 5000 }),
    c('{ max 100 } (below the default min)', 'bad', { maxDelayMs: 100 }),
    c('{ factor 0.5 }', 'bad', { factor: 0.5 }),
    c("{ factor '2' }", 'bad', { factor: '2' }),
    c('{ min -1 }', 'bad', { minDelayMs: -1 }),
    c('true', 'bad', true),
    c('3', 'bad', 3),
    c('null', 'bad', null),
    { label: 'retry.factor getter throws', verdict: 'bad', make: () => retryObject({}, 'factor') },
    { label: 'retry.minDelayMs getter throws', verdict: 'bad', make: () => retryObject({ factor: 2 }, 'minDelayMs') },
    {
      label: 'revoked proxy',
      verdict: 'bad',
      make: () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
    },
    getterThrows,
  ],
  clientTimeoutMs: [
    c('1', 'ok', 1),
    c('1e12 (past the timer limit)', 'ok', 1e12),
    c('0', 'bad', 0),
    c('-5', 'bad', -5),
    c('NaN', 'bad', NaN),
    c('null', 'bad', null),
    getterThrows,
  ],
  clockSkew: [
    c("'auto'", 'ok', 'auto'),
    c('0', 'ok', 0),
    c('-2500', 'ok', -2500),
    c('1e12', 'ok', 1e12),
    c('NaN', 'bad', NaN),
    c('Infinity', 'bad', Infinity),
    c("'manual'", 'bad', 'manual'),
    c('null', 'bad', null),
    getterThrows,
  ],
  allowIdentityChange: [c('true', 'ok', true), c('false', 'ok', false), c('1', 'bad', 1), getterThrows],
  identity: [c("'alice'", 'ok', 'alice'), c("'bob'", 'ok', 'bob'), c('42', 'bad', 42), c('null', 'bad', null), getterThrows],
  crossTab: [
    c('true', 'ok', true),
    c('false', 'ok', false),
    c("{ name: 'x' }", 'ok', { name: 'x' }),
    c("{ name: '' }", 'bad', { name: '' }),
    c('{ name: 1 }', 'bad', { name: 1 }),
    c('{}', 'bad', {}),
    c("'yes'", 'bad', 'yes'),
    c('null', 'bad', null),
    {
      label: 'crossTab.name getter throws',
      verdict: 'bad',
      make: () => Object.defineProperty({}, 'name', { get: () => { throw new Boom('crossTab.name'); } }),
    },
    getterThrows,
  ],
  clock: [
    { label: 'ManualClock', verdict: 'ok', make: (clock) => clock },
    { label: 'ManualClock with random', verdict: 'ok', make: (clock) => Object.assign(Object.create(clock) as object, { random: () => 0.5 }) },
    { label: '{ now } only', verdict: 'bad', make: (clock) => ({ now: clock.now }) },
    { label: 'random: 0.5', verdict: 'bad', make: (clock) => ({ now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, random: 0.5 }) },
    {
      label: 'clock.now getter throws',
      verdict: 'bad',
      make: (clock) =>
        Object.defineProperty({ setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }, 'now', {
          get: () => {
            throw new Boom('clock.now');
          },
        }),
    },
    c('null', 'bad', null),
    c("'clock'", 'bad', 'clock'),
    getterThrows,
  ],
};

/** Every name an error message may use for an option. */
const OPTION_NAMES = [...Object.keys(CHOICES), 'options'];

type Wrapper = 'plain' | 'proxy' | 'getTrapThrows' | 'revoked' | 'inherited';
interface Spec {
  picks: Record<string, number>;
  wrapper: Wrapper;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  picks: fc.record(
    Object.fromEntries(
      Object.entries(CHOICES).map(([key, choices]) => [
        key,
        // Valid choices are more likely, so that one bad option at a time is common.
        fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: choices.filter((x) => x.verdict === 'ok').length - 1 }) }, fc.integer({ min: 0, max: choices.length - 1 })),
      ]),
    ),
    { requiredKeys: ['clock'] },
  ),
  wrapper: fc.constantFrom<Wrapper>('plain', 'plain', 'plain', 'proxy', 'inherited', 'getTrapThrows', 'revoked'),
});

/** Net window/document listeners added (and not removed) while a function runs. */
function listenerLedger() {
  const live = new Map<string, number>();
  const targets = [window, document] as const;
  const originals = targets.map((target) => ({ target, add: target.addEventListener, remove: target.removeEventListener }));
  for (const { target, add, remove } of originals) {
    target.addEventListener = function (this: EventTarget, type: string, listener: unknown, options?: unknown) {
      live.set(type, (live.get(type) ?? 0) + 1);
      return (add as (...args: unknown[]) => void).call(this, type, listener, options);
    } as typeof target.addEventListener;
    target.removeEventListener = function (this: EventTarget, type: string, listener: unknown, options?: unknown) {
      live.set(type, (live.get(type) ?? 0) - 1);
      return (remove as (...args: unknown[]) => void).call(this, type, listener, options);
    } as typeof target.removeEventListener;
  }
  return {
    count: () => [...live.values()].reduce((a, b) => a + b, 0),
    restore: () => {
      for (const { target, add, remove } of originals) {
        target.addEventListener = add;
        target.removeEventListener = remove;
      }
    },
  };
}

let env: TabEnv;
let ledger: ReturnType<typeof listenerLedger>;
beforeAll(() => {
  env = installTabEnv();
  ledger = listenerLedger();
});
afterAll(() => {
  ledger.restore();
  env.uninstall();
});

function buildOptions(spec: Spec, clock: ManualClock): { options: unknown; bad: string[]; labels: Record<string, string> } {
  const fields: Record<string, unknown> = {};
  const bad: string[] = [];
  const labels: Record<string, string> = {};
  const target: Record<string, unknown> = {};
  for (const [key, index] of Object.entries(spec.picks)) {
    const choice = CHOICES[key]![index]!;
    labels[key] = choice.label;
    if (choice.verdict === 'bad') bad.push(key);
    if (choice === getterThrows) {
      Object.defineProperty(target, key, { get: () => { throw new Boom(key); }, enumerable: true });
    } else {
      fields[key] = choice.make(clock);
      target[key] = fields[key];
    }
  }
  switch (spec.wrapper) {
    case 'plain':
      return { options: target, bad, labels };
    case 'inherited':
      return { options: Object.create(target) as object, bad, labels };
    case 'proxy':
      return { options: new Proxy(target, {}), bad, labels };
    case 'getTrapThrows':
      return {
        options: new Proxy(target, { get: () => { throw new Boom('get trap'); } }),
        bad: ['*'],
        labels,
      };
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable(target, {});
      revoke();
      return { options: proxy, bad: ['*'], labels };
    }
  }
}

describe('new AccessManager(arbitrary options)', () => {
  it('builds a manager, or throws TypeError/RangeError naming an option, or TOKEN_MALFORMED / IDENTITY_MISMATCH; leaves nothing behind', async () => {
    let built = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const clock = new ManualClock(L);
        const { options, bad, labels } = buildOptions(spec, clock);
        const listenersBefore = ledger.count();
        const channelsBefore = env.channels.filter((channel) => !channel.closed).length;
        let manager: AccessManager | undefined;
        let error: unknown;
        try {
          manager = new AccessManager(options as AccessManagerOptions);
        } catch (caught) {
          error = caught;
        }
        await flush();
        const token = labels.token;
        const identity = labels.identity;
        const tokenProblem =
          token === 'malformed'
            ? 'TOKEN_MALFORMED'
            : identity !== undefined && identity !== 'undefined' && token !== undefined && token !== 'undefined' &&
                ((identity === "'alice'" && token === 'bob') || (identity === "'bob'" && token !== 'bob'))
              ? 'IDENTITY_MISMATCH'
              : undefined;
        const neither =
          (token === undefined || token === 'undefined') && (labels.fetchToken === undefined || labels.fetchToken === 'undefined');

        if (error === undefined) {
          built++;
          // Nothing refused: every option was fine.
          expect(bad, `built a manager despite ${bad.join(', ')}`).toEqual([]);
          expect(tokenProblem).toBeUndefined();
          expect(neither).toBe(false);
          manager!.dispose();
          await flush();
        } else {
          refused++;
          expect(error).not.toBeInstanceOf(Boom);
          if (error instanceof AccessManagerError) {
            expect(['TOKEN_MALFORMED', 'IDENTITY_MISMATCH']).toContain(error.code);
            expect(bad, `${error.code} although ${bad.join(', ')} should have been named first or instead`).toEqual([]);
          } else {
            expect(error instanceof TypeError || error instanceof RangeError, `${String(error)}`).toBe(true);
            const message = (error as Error).message;
            if (bad.length === 0) {
              // Only "neither token nor fetchToken" is refused by a TypeError when every value is fine.
              expect(neither, message).toBe(true);
              expect(message).toMatch(/token or fetchToken/);
            } else {
              expect(OPTION_NAMES.some((name) => message.includes(name)), message).toBe(true);
            }
          }
        }
        // Whatever happened: no timer, window listener or channel outlives the manager.
        expect(clock.pending, 'timers left behind').toBe(0);
        expect(ledger.count(), 'window/document listeners left behind').toBe(listenersBefore);
        expect(env.channels.filter((channel) => !channel.closed).length, 'channels left open').toBe(channelsBefore);
      }),
      { numRuns: 600 },
    );
    expect(built).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(15);
  });

  it('options that are not an object: TypeError naming options', () => {
    for (const value of [undefined, null, 0, 'token', true, Symbol('x'), 1n]) {
      let error: unknown;
      try {
        new AccessManager(value as unknown as AccessManagerOptions);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('options');
    }
  });
});
