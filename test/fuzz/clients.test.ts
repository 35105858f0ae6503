// addClient and the fan-out through the public API, with hostile clients, hostile options and re-entrant updates:
// - addClient either throws a TypeError (and the client never gets a token) or registers the client;
// - clients whose updateToken throws, rejects, hangs, answers with a thenable whose `then` throws or is a getter
//   that throws, or whose updateToken getter throws later, never keep the others from any token;
// - every updateToken() promise settles within 2 x clientTimeoutMs on the manual clock (a client may be busy with
//   an older token, given up on after clientTimeoutMs, before the newest gets its own clientTimeoutMs);
// - every well-behaved client is handed strictly newer tokens and ends on manager.token, also when tokenUpdated
//   listeners (throwing or not) and synchronous clients call updateToken(newer) from inside a push;
// - only CLIENT_UPDATE_FAILED / CLIENT_UPDATE_TIMEOUT / GRANT_MISSING errors, each naming its client; no unhandled
//   rejection; nothing left on the clock after dispose().
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessManager, type AccessManagerError, decodeToken } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { Boom, type HostileSpec, build, hostileSpec, watchUnhandled } from './hostile.js';
import { catchReRaised } from '../helpers/re-raised.js';

const CLIENT_TIMEOUT_MS = 1000;
/** Tokens for alice, each expiring one second after the one before. */
const POOL = Array.from({ length: 48 }, (_, i) => mintToken({ at: L, ttl: 3600 + i }));
const expOf = (token: string) => decodeToken(token).expiresAt.getTime();

let unhandled: ReturnType<typeof watchUnhandled>;
beforeAll(() => {
  unhandled = watchUnhandled();
});
afterAll(() => unhandled.stop());
afterEach(() => vi.restoreAllMocks());


const GOOD = ['sync', 'async', 'slow'] as const;
const BAD = ['throws', 'rejects', 'hangs', 'thenThrows', 'thenGetterThrows', 'getterThrowsLater', 'settlesTwice', 'revokedLater'] as const;
type Behaviour = (typeof GOOD)[number] | (typeof BAD)[number] | 'reentrant';

type Step =
  | { s: 'update'; ahead: number }
  | { s: 'older' }
  | { s: 'same' }
  | { s: 'advance'; ms: number }
  | { s: 'hostileAdd'; client: HostileSpec; options: HostileSpec | undefined }
  | { s: 'badOptionsAdd'; options: 'nameNumber' | 'grantsString' | 'grantsGetter' | 'grantsNumbers' | 'nameGetter' | 'revoked' | 'primitive' }
  | { s: 'remove'; index: number }
  | { s: 'grants'; grants: string[] };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ s: fc.constant('update' as const), ahead: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ s: 'older' as const }) },
  { weight: 1, arbitrary: fc.constant({ s: 'same' as const }) },
  { weight: 4, arbitrary: fc.record({ s: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * CLIENT_TIMEOUT_MS }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ s: fc.constant('hostileAdd' as const), client: hostileSpec, options: fc.option(hostileSpec, { nil: undefined }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      s: fc.constant('badOptionsAdd' as const),
      options: fc.constantFrom('nameNumber' as const, 'grantsString' as const, 'grantsGetter' as const, 'grantsNumbers' as const, 'nameGetter' as const, 'revoked' as const, 'primitive' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ s: fc.constant('remove' as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ s: fc.constant('grants' as const), grants: fc.array(fc.constantFrom('chat', 'data_sync', 'voice', 'video', 'constructor', 'identity'), { maxLength: 2 }) }),
  },
);

const scenarioArb = fc.record({
  clients: fc.array(
    fc.record({
      behaviour: fc.constantFrom<Behaviour>(...GOOD, ...GOOD, ...BAD, 'reentrant'),
      delay: fc.integer({ min: 0, max: 2 * CLIENT_TIMEOUT_MS }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  /** tokenUpdated listeners: one adopting a newer token (a few times), one that throws. */
  reentrantListener: fc.boolean(),
  throwingListener: fc.boolean(),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 16 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

async function run(scenario: Scenario): Promise<void> {
  const raised = catchReRaised();
  const clock = new ManualClock(L);
  let next = 1;
  /** A token newer than every one handed out so far. */
  const newer = (ahead = 1): string | undefined => {
    next += ahead;
    return POOL[Math.min(next, POOL.length - 1)];
  };
  const manager = new AccessManager({ token: POOL[0], clock, clientTimeoutMs: CLIENT_TIMEOUT_MS });
  const violations: string[] = [];
  const errors: AccessManagerError[] = [];
  manager.on('error', (error) => {
    errors.push(error);
    if (!['CLIENT_UPDATE_FAILED', 'CLIENT_UPDATE_TIMEOUT', 'GRANT_MISSING'].includes(error.code)) violations.push(`error ${error.code}`);
    if (typeof error.clientName !== 'string') violations.push(`${error.code} without clientName`);
  });
  const ownTimers = new Set<unknown>();
  const later = (fn: () => void, ms: number) => {
    const handle = clock.setTimeout(() => {
      ownTimers.delete(handle);
      fn();
    }, ms);
    ownTimers.add(handle);
  };

  // Every updateToken() call: when it was made, and whether it settled.
  const calls: Array<{ at: number; settledAt?: number; outcome?: string }> = [];
  const update = (token: string | undefined) => {
    const call: { at: number; settledAt?: number; outcome?: string } = { at: clock.now() };
    calls.push(call);
    manager.updateToken(token as string).then(
      () => Object.assign(call, { settledAt: clock.now(), outcome: 'ok' }),
      (error: AccessManagerError) => Object.assign(call, { settledAt: clock.now(), outcome: error.code }),
    );
  };

  let reentrantBudget = 3;
  if (scenario.reentrantListener) {
    manager.on('tokenUpdated', () => {
      if (reentrantBudget-- > 0) update(newer());
    });
  }
  if (scenario.throwingListener) {
    manager.on('tokenUpdated', () => {
      throw new Boom('listener');
    });
  }

  // --- the registered clients
  const good: Array<{ name: string; seen: number[]; client: object }> = [];
  const registered: object[] = [];
  scenario.clients.forEach(({ behaviour, delay }, i) => {
    const name = `${behaviour}#${i}`;
    const seen: number[] = [];
    let reads = 0;
    let revoke: (() => void) | undefined;
    const handler = (token: string): unknown => {
      seen.push(expOf(token));
      switch (behaviour) {
        case 'sync':
          return undefined;
        case 'async':
          return Promise.resolve();
        case 'slow':
          return new Promise<void>((resolve) => later(resolve, delay));
        case 'reentrant':
          if (reentrantBudget-- > 0) update(newer());
          return undefined;
        case 'throws':
          throw new Boom(name);
        case 'rejects':
          return Promise.reject(new Boom(name));
        case 'hangs':
          return new Promise(() => {});
        case 'thenThrows':
          return build({ k: 'thenThrows' });
        case 'thenGetterThrows':
          return build({ k: 'thenGetterThrows' });
        case 'settlesTwice':
          return {
            then(ok: () => void, fail: (e: unknown) => void) {
              ok();
              fail(new Boom('twice'));
              ok();
            },
          };
        default:
          return undefined;
      }
    };
    let client: object;
    if (behaviour === 'getterThrowsLater') {
      // Readable while being registered, throws once pushes begin.
      client = Object.defineProperty({}, 'updateToken', {
        get: () => {
          if (reads++ < 2) return handler;
          throw new Boom(`${name} updateToken getter`);
        },
      });
    } else if (behaviour === 'revokedLater') {
      const revocable = Proxy.revocable({ updateToken: handler }, {});
      revoke = revocable.revoke;
      client = revocable.proxy;
    } else {
      client = { updateToken: handler };
    }
    manager.addClient(client as never, { name });
    revoke?.();
    registered.push(client);
    if ((GOOD as readonly string[]).includes(behaviour) || behaviour === 'reentrant') good.push({ name, seen, client });
  });

  /** Clients whose add threw: they must never be handed a token. */
  const refusedSeen: string[] = [];
  const hostileAdd = (client: unknown, options: unknown) => {
    let error: unknown;
    try {
      manager.addClient(client as never, options as never);
    } catch (caught) {
      error = caught;
    }
    if (error !== undefined && !(error instanceof TypeError)) violations.push(`addClient threw ${String(error)}`);
    return error === undefined;
  };

  for (const step of scenario.steps) {
    switch (step.s) {
      case 'update':
        update(newer(step.ahead));
        break;
      case 'older':
        update(POOL[0]);
        break;
      case 'same':
        update(manager.token);
        break;
      case 'advance':
        await clock.advance(step.ms);
        break;
      case 'hostileAdd': {
        // A hostile value as the client, or a recording client with hostile options.
        const recorder = { updateToken: () => void refusedSeen.push('hostile options') };
        const client = build(step.client);
        if (hostileAdd(client, step.options === undefined ? undefined : build(step.options))) {
          // Registered: remove it again if possible, its behaviour is whatever it is.
          try {
            manager.removeClient(client as never);
          } catch (error) {
            violations.push(`removeClient threw ${String(error)}`);
          }
        }
        if (step.options !== undefined && !hostileAdd(recorder, build(step.options))) {
          // Refused: it must never get a token (checked below through refusedSeen).
        } else {
          manager.removeClient(recorder);
        }
        break;
      }
      case 'badOptionsAdd': {
        const recorder = { updateToken: () => void refusedSeen.push(step.options) };
        const revoked = Proxy.revocable({}, {});
        revoked.revoke();
        const options = {
          nameNumber: { name: 42 },
          grantsString: { grants: 'chat' },
          grantsGetter: Object.defineProperty({}, 'grants', { get: () => { throw new Boom('grants'); } }),
          grantsNumbers: { grants: [1, 2] },
          nameGetter: Object.defineProperty({}, 'name', { get: () => { throw new Boom('name'); } }),
          revoked: revoked.proxy,
          primitive: 'chat',
        }[step.options];
        if (hostileAdd(recorder, options)) violations.push(`addClient accepted options ${step.options}`);
        break;
      }
      case 'remove': {
        const client = registered[step.index % registered.length]!;
        const index = good.findIndex((g) => g.client === client);
        if (manager.removeClient(client as never) && index >= 0) good.splice(index, 1);
        break;
      }
      case 'grants': {
        const recorder = { updateToken: () => {} };
        manager.addClient(recorder, { name: 'grants', grants: step.grants });
        manager.removeClient(recorder);
        break;
      }
    }
    await flush();
    expect(violations).toEqual([]);
    // Every updateToken() call settles within 2 x clientTimeoutMs.
    for (const call of calls) {
      if (call.settledAt === undefined) {
        expect(clock.now() - call.at, `an updateToken() call made at +${call.at - L} ms is still pending`).toBeLessThanOrEqual(2 * CLIENT_TIMEOUT_MS);
      } else {
        expect(call.settledAt - call.at).toBeLessThanOrEqual(2 * CLIENT_TIMEOUT_MS);
      }
    }
  }

  // Let every pending call end (each is given up on after clientTimeoutMs, at most twice in a row).
  await clock.advance(2 * CLIENT_TIMEOUT_MS + 1);
  expect(violations).toEqual([]);
  for (const call of calls) expect(call.settledAt, 'an updateToken() call never settled').toBeDefined();
  expect(refusedSeen, 'a client whose addClient threw was handed a token').toEqual([]);

  const current = expOf(manager.token!);
  for (const { name, seen } of good) {
    expect(
      seen.every((exp, i) => i === 0 || exp > seen[i - 1]!),
      `${name} was handed an older token after a newer one: ${seen.map((e) => (e - expOf(POOL[0]!)) / 1000)}`,
    ).toBe(true);
    // Registered from the start: once the token changed, it must have been handed the current one last.
    if (manager.token !== POOL[0]) expect(seen.at(-1), `${name} does not end on manager.token`).toBe(current);
  }
  expect(raised.every((error) => error instanceof Boom)).toBe(true);

  for (const handle of ownTimers) clock.clearTimeout(handle);
  manager.dispose();
  await flush();
  expect(clock.pending).toBe(0);
  await unhandled.settle();
  expect(unhandled.reasons).toEqual([]);
  vi.restoreAllMocks();
}

describe('clients and addClient, hostile and re-entrant', () => {
  it('others get every token, calls settle in time, good clients end on manager.token in order', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: 150,
      examples: [
        [
          {
            clients: [
              { behaviour: 'thenGetterThrows', delay: 0 },
              { behaviour: 'reentrant', delay: 0 },
              { behaviour: 'slow', delay: 1500 },
              { behaviour: 'sync', delay: 0 },
            ],
            reentrantListener: true,
            throwingListener: true,
            steps: [{ s: 'update', ahead: 1 }, { s: 'update', ahead: 1 }, { s: 'advance', ms: 500 }],
          },
        ],
      ],
    });
  });

  it('updateToken(anything) and removeClient(anything): a promise that rejects with a token code, or a boolean; nothing changes on refusal', async () => {
    const clock = new ManualClock(L);
    const manager = new AccessManager({ token: POOL[10], clock, clientTimeoutMs: CLIENT_TIMEOUT_MS });
    const seen: string[] = [];
    manager.addClient({ updateToken: (token) => void seen.push(token) }, { name: 'recorder' });
    const candidates: Array<{ label: string; value: () => unknown }> = [
      { label: 'older', value: () => POOL[1] },
      { label: 'newer', value: () => POOL[Math.min(POOL.length - 1, POOL.indexOf(manager.token!) + 1)] },
      { label: 'same', value: () => manager.token },
      { label: 'expired', value: () => mintToken({ at: L - 3 * 3600_000, ttl: 3600 }) },
      { label: 'bob', value: () => mintToken({ at: L, identity: 'bob', ttl: 9000 }) },
      { label: 'String object', value: () => new String(POOL[20]) },
      { label: 'toString token', value: () => ({ toString: () => POOL[20] }) },
    ];
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileSpec.map((spec) => ({ spec })), fc.integer({ min: 0, max: candidates.length - 1 }).map((i) => ({ i }))), async (input) => {
        const value = 'spec' in input ? build(input.spec) : candidates[input.i]!.value();
        const before = manager.token;
        let promise: Promise<void> | undefined;
        expect(() => (promise = manager.updateToken(value as string))).not.toThrow();
        expect(promise).toBeInstanceOf(Promise);
        let outcome: { ok: true } | { ok: false; error: AccessManagerError } | undefined;
        promise!.then(
          () => (outcome = { ok: true }),
          (error: AccessManagerError) => (outcome = { ok: false, error }),
        );
        await clock.advance(0);
        expect(outcome).toBeDefined();
        if (outcome!.ok) {
          expect(typeof value).toBe('string');
          expect(manager.token).toBe(value);
          if (value !== before) expect(seen.at(-1)).toBe(value);
        } else {
          expect(['TOKEN_MALFORMED', 'TOKEN_EXPIRED', 'IDENTITY_MISMATCH', 'TOKEN_STALE']).toContain(outcome!.error.code);
          expect(manager.token).toBe(before);
          if (typeof value !== 'string') expect(outcome!.error.code).toBe('TOKEN_MALFORMED');
        }
        let removed: unknown;
        expect(() => (removed = manager.removeClient(value as never))).not.toThrow();
        expect(removed).toBe(false);
      }),
      { numRuns: 300 },
    );
    manager.dispose();
    await flush();
    expect(clock.pending).toBe(0);
    await unhandled.settle();
    expect(unhandled.reasons).toEqual([]);
  });
});
