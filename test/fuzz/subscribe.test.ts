// subscribe, store.subscribe and getSnapshot with hostile and re-entrant subscribers: listeners that throw,
// unsubscribe themselves or another during a notification, subscribe new ones, or call refresh(), getToken(),
// updateToken() (newer, older, hostile values) and dispose() from inside. Meanwhile the clock runs, fetches succeed,
// fail or are refused, and the app calls the manager too. Checked on a manual clock, after every step:
// - subscribe, an unsubscribe function and getSnapshot never throw (store.subscribe rethrows only its own run's
//   throw, as a Svelte store does); refresh(), getToken() and updateToken() return promises, never throw;
// - the snapshot is frozen, matches `state` and `token`, and is a new object exactly when state, token or
//   lastError changed;
// - a listener is only ever called with the snapshot that is current at that moment, never twice with the same
//   one; once unsubscribed it hears nothing newer; every subscriber still subscribed ends on the current snapshot;
// - only the listeners' own throws are re-raised; no unhandled rejection; no token or signature segment in an
//   error message or log entry;
// - at the end (after dispose), every promise the manager returned has settled and no timer is left.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessManager, type AccessManagerSnapshot, type LogEntry } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { catchReRaised } from '../helpers/re-raised.js';
import { MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { Boom, type HostileSpec, build, hostileSpec, seeded, watchUnhandled } from './hostile.js';
import { leaked } from './secrets.js';

const BEHAVIOURS = [
  'record',
  'throws',
  'unsubscribeSelf',
  'unsubscribeOther',
  'subscribeNew',
  'refresh',
  'getToken',
  'updateNewer',
  'updateOlder',
  'updateHostile',
  'dispose',
] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

const subscriberArb = fc.record({
  behaviour: fc.constantFrom<Behaviour>(...BEHAVIOURS),
  /** Through `store.subscribe` (called at once) instead of `subscribe`. */
  store: fc.boolean(),
  /** Acts on this call (0 = the first it hears) and, for the re-entrant ones, on at most `times` calls. */
  from: fc.integer({ min: 0, max: 3 }),
  times: fc.integer({ min: 1, max: 3 }),
  other: fc.nat(),
  hostile: hostileSpec,
});
type SubscriberSpec = typeof subscriberArb extends fc.Arbitrary<infer T> ? T : never;

type Step =
  | { s: 'advance'; ms: number }
  | { s: 'answer'; how: 'token' | 'fail' | 'refuse' }
  | { s: 'refresh' }
  | { s: 'getToken' }
  | { s: 'updateNewer' }
  | { s: 'updateOlder' }
  | { s: 'updateHostile'; spec: HostileSpec }
  | { s: 'subscribe'; subscriber: SubscriberSpec }
  | { s: 'unsubscribe'; index: number }
  | { s: 'dispose' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ s: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3 * SEC }), fc.integer({ min: 0, max: 40 * MIN })) }) },
  { weight: 4, arbitrary: fc.record({ s: fc.constant('answer' as const), how: fc.constantFrom('token' as const, 'token' as const, 'fail' as const, 'refuse' as const) }) },
  { weight: 2, arbitrary: fc.constant({ s: 'refresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ s: 'getToken' as const }) },
  { weight: 2, arbitrary: fc.constant({ s: 'updateNewer' as const }) },
  { weight: 1, arbitrary: fc.constant({ s: 'updateOlder' as const }) },
  { weight: 1, arbitrary: fc.record({ s: fc.constant('updateHostile' as const), spec: hostileSpec }) },
  { weight: 2, arbitrary: fc.record({ s: fc.constant('subscribe' as const), subscriber: subscriberArb }) },
  { weight: 1, arbitrary: fc.record({ s: fc.constant('unsubscribe' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ s: 'dispose' as const }) },
);

const scenarioArb = fc.record({
  withToken: fc.boolean(),
  autoRefresh: fc.boolean(),
  subscribers: fc.array(subscriberArb, { minLength: 1, maxLength: 6 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }),
  seed: fc.integer(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

let unhandled: ReturnType<typeof watchUnhandled>;
beforeAll(() => {
  unhandled = watchUnhandled();
});
afterAll(() => unhandled.stop());
afterEach(() => vi.restoreAllMocks());

interface Subscriber {
  label: string;
  /** The snapshot current when it subscribed: what it "has" before it hears anything. */
  start: AccessManagerSnapshot;
  heard: AccessManagerSnapshot[];
  /** The snapshot current when it was unsubscribed (it may still hear that one, from the round under way). */
  goneAt?: AccessManagerSnapshot;
  unsubscribe?: () => void;
}

async function run(scenario: Scenario): Promise<void> {
  const raised = catchReRaised();
  const clock = Object.assign(new ManualClock(L), { random: seeded(scenario.seed) });
  const tokens: string[] = [];
  let ttl = 3600;
  /** A token issued now, expiring after every earlier one. */
  const newer = () => {
    const token = mintToken({ at: clock.now(), ttl: ttl++ });
    tokens.push(token);
    return token;
  };
  const oldest = mintToken({ at: L - 30 * MIN, ttl: 3000 });
  tokens.push(oldest);

  const fetches: Array<{ resolve(token: string): void; reject(error: unknown): void }> = [];
  const entries: LogEntry[] = [];
  const manager = new AccessManager({
    token: scenario.withToken ? newer() : undefined,
    fetchToken: () => new Promise<string>((resolve, reject) => fetches.push({ resolve, reject })),
    clock,
    autoRefresh: scenario.autoRefresh,
    fetchTimeoutMs: 5 * SEC,
    retry: { minDelayMs: 100, maxDelayMs: SEC },
    logger: (entry) => void entries.push(entry),
  });

  const violations: string[] = [];
  const promises: Array<{ what: string; settled: boolean; error?: unknown }> = [];
  const track = (what: string, call: () => unknown) => {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      violations.push(`${what} threw ${String(error)}`);
      return;
    }
    if (!(result instanceof Promise)) {
      violations.push(`${what} returned ${typeof result}, not a promise`);
      return;
    }
    const entry: { what: string; settled: boolean; error?: unknown } = { what, settled: false };
    promises.push(entry);
    result.then(
      () => void (entry.settled = true),
      (error: unknown) => void Object.assign(entry, { settled: true, error }),
    );
  };
  const updateHostile = (spec: HostileSpec) => track('updateToken(hostile)', () => manager.updateToken(build(spec) as string));

  const subscribers: Subscriber[] = [];
  let reentries = 12;
  const subscribe = (spec: SubscriberSpec, where: string) => {
    const label = `${spec.behaviour}${spec.store ? ' (store)' : ''} #${subscribers.length} ${where}`;
    const me: Subscriber = { label, start: manager.getSnapshot(), heard: [] };
    subscribers.push(me);
    let calls = 0;
    let acted = 0;
    const listener = (snapshot: AccessManagerSnapshot) => {
      const current = manager.getSnapshot();
      if (snapshot !== current) violations.push(`${label} heard a snapshot that is no longer current`);
      if (me.heard.at(-1) === snapshot) violations.push(`${label} heard the same snapshot twice`);
      if (me.goneAt && snapshot !== me.goneAt) violations.push(`${label} heard a newer snapshot after unsubscribing`);
      me.heard.push(snapshot);
      if (calls++ < spec.from || acted >= spec.times || reentries <= 0) return;
      acted++;
      if (spec.behaviour !== 'record' && spec.behaviour !== 'throws') reentries--;
      switch (spec.behaviour) {
        case 'record':
          return;
        case 'throws':
          throw new Boom(label);
        case 'unsubscribeSelf':
          return unsubscribe(me);
        case 'unsubscribeOther':
          return unsubscribe(subscribers[spec.other % subscribers.length]!);
        case 'subscribeNew':
          return subscribe({ ...spec, behaviour: 'record' }, `(added by #${subscribers.indexOf(me)})`);
        case 'refresh':
          return track('refresh() in a listener', () => manager.refresh());
        case 'getToken':
          return track('getToken() in a listener', () => manager.getToken());
        case 'updateNewer': {
          const token = newer();
          return track('updateToken(newer) in a listener', () => manager.updateToken(token));
        }
        case 'updateOlder':
          return track('updateToken(older) in a listener', () => manager.updateToken(oldest));
        case 'updateHostile':
          return updateHostile(spec.hostile);
        case 'dispose':
          try {
            manager.dispose();
          } catch (error) {
            violations.push(`dispose() in a listener threw ${String(error)}`);
          }
      }
    };
    try {
      me.unsubscribe = spec.store ? manager.store.subscribe(listener) : manager.subscribe(listener);
      if (typeof me.unsubscribe !== 'function') violations.push(`${label}: subscribe returned ${typeof me.unsubscribe}`);
    } catch (error) {
      // A Svelte store calls `run` at once, inside subscribe, and so rethrows what it throws.
      if (!(spec.store && error instanceof Boom && String(error.message).includes(label))) {
        violations.push(`${label}: subscribe threw ${String(error)}`);
      }
      // Its unsubscribe function is lost with the throw: it stays subscribed, like in a Svelte store.
    }
  };
  const unsubscribe = (target: Subscriber) => {
    if (!target.unsubscribe || target.goneAt) return;
    target.goneAt = manager.getSnapshot();
    try {
      target.unsubscribe();
      target.unsubscribe();
    } catch (error) {
      violations.push(`${target.label}: unsubscribe threw ${String(error)}`);
    }
  };

  scenario.subscribers.forEach((spec) => subscribe(spec, '(initial)'));

  let previous = manager.getSnapshot();
  const check = (where: string) => {
    let snapshot: AccessManagerSnapshot;
    try {
      snapshot = manager.getSnapshot();
    } catch (error) {
      violations.push(`getSnapshot threw ${String(error)}`);
      return;
    }
    expect(violations, where).toEqual([]);
    expect(Object.isFrozen(snapshot), where).toBe(true);
    expect({ state: snapshot.state, token: snapshot.token }, where).toEqual({ state: manager.state, token: manager.token });
    const changed = snapshot.state !== previous.state || snapshot.token !== previous.token || snapshot.lastError !== previous.lastError;
    expect(snapshot !== previous, `${where}: a new snapshot exactly when something in it changed`).toBe(changed);
    if (snapshot.token === previous.token) expect(snapshot.expiresAt, where).toBe(previous.expiresAt);
    previous = snapshot;
    for (const s of subscribers) {
      // Subscribed (or its unsubscribe lost to a throw): it must be on the current snapshot.
      if (!s.goneAt) expect(s.heard.at(-1) ?? s.start, `${where}: ${s.label} is not on the current snapshot`).toBe(snapshot);
    }
  };
  check('after the constructor');

  for (const [i, step] of scenario.steps.entries()) {
    switch (step.s) {
      case 'advance':
        await clock.advance(step.ms);
        break;
      case 'answer': {
        const fetch = fetches.shift();
        if (step.how === 'token') fetch?.resolve(newer());
        else if (step.how === 'fail') fetch?.reject(Object.assign(new Error('token endpoint down'), { status: 503 }));
        else fetch?.reject(Object.assign(new Error('no session'), { status: 401 }));
        break;
      }
      case 'refresh':
        track('refresh()', () => manager.refresh());
        break;
      case 'getToken':
        track('getToken()', () => manager.getToken());
        break;
      case 'updateNewer': {
        const token = newer();
        track('updateToken(newer)', () => manager.updateToken(token));
        break;
      }
      case 'updateOlder':
        track('updateToken(older)', () => manager.updateToken(oldest));
        break;
      case 'updateHostile':
        updateHostile(step.spec);
        break;
      case 'subscribe':
        subscribe(step.subscriber, `(step ${i})`);
        break;
      case 'unsubscribe':
        unsubscribe(subscribers[step.index % subscribers.length]!);
        break;
      case 'dispose':
        manager.dispose();
        break;
    }
    await flush();
    check(`after step ${i} (${step.s})`);
  }

  manager.dispose();
  await clock.advance(10 * MIN);
  await flush();
  check('after dispose');
  expect(clock.pending).toBe(0);
  for (const p of promises) expect(p.settled, `${p.what} never settled`).toBe(true);
  const errors = promises.map((p) => p.error).filter((error) => error !== undefined);
  expect(leaked(errors, tokens), 'an error message quotes a token').toEqual([]);
  expect(leaked(entries, tokens), 'a log entry quotes a token').toEqual([]);
  expect(leaked(subscribers.flatMap((s) => s.heard.map((snapshot) => snapshot.lastError)), tokens)).toEqual([]);
  expect(raised.filter((error) => !(error instanceof Boom))).toEqual([]);
  await unhandled.settle();
  expect(unhandled.reasons).toEqual([]);
  vi.restoreAllMocks();
}

describe('subscribe, store and getSnapshot with hostile, re-entrant subscribers', () => {
  it('listeners hear only the current snapshot, once, and end on it; nothing throws out; every promise settles', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: 100,
      examples: [
        [
          {
            withToken: true,
            autoRefresh: true,
            subscribers: [
              { behaviour: 'unsubscribeOther', store: false, from: 0, times: 1, other: 1, hostile: { k: 'revoked' } },
              { behaviour: 'record', store: true, from: 0, times: 1, other: 0, hostile: { k: 'revoked' } },
              { behaviour: 'updateNewer', store: false, from: 0, times: 2, other: 0, hostile: { k: 'revoked' } },
              { behaviour: 'throws', store: false, from: 1, times: 3, other: 0, hostile: { k: 'revoked' } },
              { behaviour: 'dispose', store: false, from: 3, times: 1, other: 0, hostile: { k: 'revoked' } },
            ],
            steps: [{ s: 'refresh' }, { s: 'answer', how: 'token' }, { s: 'advance', ms: 40 * MIN }, { s: 'answer', how: 'fail' }, { s: 'updateNewer' }],
            seed: 1,
          },
        ],
      ],
    });
  });
});
