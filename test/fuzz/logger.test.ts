// The `logger` option, hostile. As a value: functions, console-likes with methods missing, not functions, behind
// getters that throw, revoked proxies and whatever hostile.ts builds: the constructor either takes it or throws a
// TypeError naming `logger`, nothing else, and leaves nothing behind. At work: a logger that throws (always, or on
// some entries), a console-like whose methods throw, and one that re-enters the manager from inside an entry
// (refresh(), getToken(), updateToken() with newer, older or hostile values, handleClientError(), dispose()),
// while fetches succeed, fail or hang and the clock runs. Checked on a manual clock:
// - no public method throws where the README says it does not (refresh/getToken/updateToken return promises,
//   handleClientError and dispose return), and the manager keeps working: a fetched token is adopted;
// - every entry is `{ level, event, message, ...details }` with a known level, a console-like gets
//   `token-warden <message>` and the entry through the method of its level, bound to it;
// - no token or signature segment in any entry or error message;
// - only the logger's own throws are re-raised, no unhandled rejection, every promise settles, no timer is left.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessManager, type LogEntry, type LogLevel } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { catchReRaised } from '../helpers/re-raised.js';
import { MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { Boom, type HostileSpec, aroundFuzzFile, build, hostileSpec, seeded } from './hostile.js';
import { leaked } from './secrets.js';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

const around = aroundFuzzFile();
afterEach(() => vi.restoreAllMocks());

// --- the logger as a value

type Method = 'fn' | 'missing' | 'string' | 'null' | 'getterThrows' | 'hostile';
type LoggerValue =
  | { k: 'consoleLike'; methods: Method[]; hostile: HostileSpec; proto: boolean }
  | { k: 'hostile'; spec: HostileSpec }
  | { k: 'function' }
  | { k: 'revokedConsole' };

const loggerValueArb: fc.Arbitrary<LoggerValue> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('consoleLike' as const),
      methods: fc.array(fc.constantFrom<Method>('fn', 'fn', 'fn', 'missing', 'string', 'null', 'getterThrows', 'hostile'), { minLength: 4, maxLength: 4 }),
      hostile: hostileSpec,
      /** The methods on the prototype rather than own (a class instance, `console` in some runtimes). */
      proto: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('hostile' as const), spec: hostileSpec }) },
  { weight: 1, arbitrary: fc.constant({ k: 'function' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'revokedConsole' as const }) },
);

/** The value, and whether the rules accept it: a function, or an object whose four level methods are functions. */
function makeLogger(value: LoggerValue): { logger: unknown; ok: boolean } {
  switch (value.k) {
    case 'function':
      return { logger: () => {}, ok: true };
    case 'revokedConsole': {
      const { proxy, revoke } = Proxy.revocable({ debug() {}, info() {}, warn() {}, error() {} }, {});
      revoke();
      return { logger: proxy, ok: false };
    }
    case 'hostile': {
      const logger = build(value.spec);
      return { logger, ok: acceptable(logger) };
    }
    case 'consoleLike': {
      const target: Record<string, unknown> = {};
      let ok = true;
      value.methods.forEach((method, i) => {
        const level = LEVELS[i]!;
        switch (method) {
          case 'fn':
            target[level] = () => {};
            break;
          case 'missing':
            ok = false;
            break;
          case 'string':
            target[level] = `console.${level}`;
            ok = false;
            break;
          case 'null':
            target[level] = null;
            ok = false;
            break;
          case 'getterThrows':
            Object.defineProperty(target, level, { get: () => { throw new Boom(`logger.${level}`); }, enumerable: true });
            ok = false;
            break;
          case 'hostile': {
            const built = build(value.hostile);
            target[level] = built;
            if (typeof built !== 'function') ok = false;
            break;
          }
        }
      });
      return { logger: value.proto ? Object.create(target) : target, ok };
    }
  }
}

/** What the rules say of any value: undefined, a function, or an object with four readable level functions. */
function acceptable(value: unknown): boolean {
  if (value === undefined || typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  try {
    return LEVELS.every((level) => typeof (value as Record<string, unknown>)[level] === 'function');
  } catch {
    return false;
  }
}

describe('the logger option as a value', () => {
  it('is taken, or refused with a TypeError naming logger; nothing else, nothing left behind', async () => {
    await fc.assert(
      fc.asyncProperty(loggerValueArb, fc.boolean(), async (value, withFetcher) => {
        const raised = catchReRaised();
        const clock = new ManualClock(L);
        const { logger, ok } = makeLogger(value);
        let manager: AccessManager | undefined;
        let error: unknown;
        try {
          manager = new AccessManager({
            token: mintToken({ at: L }),
            clock,
            logger: logger as never,
            ...(withFetcher ? { fetchToken: () => new Promise<string>(() => {}) } : {}),
          });
        } catch (caught) {
          error = caught;
        }
        if (ok) {
          expect(error).toBeUndefined();
          // A working manager that logs: the logger (a do-nothing, or a hostile function) never breaks it.
          await clock.advance(58 * MIN);
          expect(['valid', 'aboutToExpire', 'refreshing', 'expired']).toContain(manager!.state);
          expect(() => manager!.handleClientError({ status: 401 })).not.toThrow();
          manager!.dispose();
        } else {
          expect(error).toBeInstanceOf(TypeError);
          expect((error as Error).message).toMatch(/^logger(\.(debug|info|warn|error))? must be /);
        }
        await flush();
        expect(clock.pending).toBe(0);
        expect(raised.filter((e) => !(e instanceof Boom))).toEqual([]);
        vi.restoreAllMocks();
      }),
      { numRuns: 300 },
    );
    await around.unhandled.settle();
    expect(around.unhandled.reasons).toEqual([]);
  });
});

// --- the logger at work

type Act = 'nothing' | 'throw' | 'refresh' | 'getToken' | 'updateNewer' | 'updateOlder' | 'updateHostile' | 'clientError' | 'dispose';
const ACTS: Act[] = ['nothing', 'throw', 'refresh', 'getToken', 'updateNewer', 'updateOlder', 'updateHostile', 'clientError', 'dispose'];

type Step =
  | { s: 'advance'; ms: number }
  | { s: 'answer'; how: 'token' | 'tokenWithServerTime' | 'fail' | 'refuse' | 'malformed' | 'otherIdentity' }
  | { s: 'refresh' }
  | { s: 'getToken' }
  | { s: 'updateNewer' }
  | { s: 'clientError'; spec: HostileSpec }
  | { s: 'online' };

const scenarioArb = fc.record({
  shape: fc.constantFrom('function' as const, 'consoleLike' as const, 'consoleClass' as const),
  /** What the logger does on an entry: by entry number, cycling; each re-entrant act at most `budget` times. */
  acts: fc.array(fc.constantFrom(...ACTS), { minLength: 1, maxLength: 6 }),
  /** Only on entries of these events' first word (`fetch`, `state`, ...), or on all. */
  on: fc.option(fc.constantFrom('fetch', 'state', 'token', 'refresh', 'client', 'skew'), { nil: undefined }),
  budget: fc.integer({ min: 1, max: 4 }),
  withToken: fc.boolean(),
  crossTab: fc.boolean(),
  hostile: hostileSpec,
  steps: fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ s: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3 * SEC }), fc.integer({ min: 0, max: 12 * MIN })) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          s: fc.constant('answer' as const),
          how: fc.constantFrom('token' as const, 'tokenWithServerTime' as const, 'fail' as const, 'refuse' as const, 'malformed' as const, 'otherIdentity' as const),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ s: 'refresh' as const }) },
      { weight: 1, arbitrary: fc.constant({ s: 'getToken' as const }) },
      { weight: 1, arbitrary: fc.constant({ s: 'updateNewer' as const }) },
      { weight: 1, arbitrary: fc.record({ s: fc.constant('clientError' as const), spec: hostileSpec }) },
      { weight: 1, arbitrary: fc.constant({ s: 'online' as const }) },
    ),
    { minLength: 1, maxLength: 12 },
  ),
  seed: fc.integer(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

let channels = 0;

async function run(scenario: Scenario): Promise<void> {
  const raised = catchReRaised();
  const clock = Object.assign(new ManualClock(L), { random: seeded(scenario.seed) });
  const tokens: string[] = [];
  // Ten-minute tokens: a few steps of the clock reach their about-to-expire and expiry moments.
  let ttl = 600;
  const newer = (identity = 'alice') => {
    const token = mintToken({ at: clock.now(), ttl: ttl++, identity });
    tokens.push(token);
    return token;
  };
  const oldest = mintToken({ at: L - 5 * MIN, ttl: 500 });
  tokens.push(oldest);

  const violations: string[] = [];
  const promises: Array<{ what: string; settled: boolean; error?: unknown }> = [];
  let manager: AccessManager | undefined;
  const track = (what: string, call: () => unknown) => {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      violations.push(`${what} threw ${String(error)}`);
      return;
    }
    if (!(result instanceof Promise)) return void violations.push(`${what} returned ${typeof result}`);
    const entry: { what: string; settled: boolean; error?: unknown } = { what, settled: false };
    promises.push(entry);
    result.then(
      () => void (entry.settled = true),
      (error: unknown) => void Object.assign(entry, { settled: true, error }),
    );
  };
  const returns = (what: string, call: () => unknown) => {
    try {
      call();
    } catch (error) {
      // After dispose() (a logger's, say) every method throws DISPOSED, as the README says.
      if (!(manager?.state === 'disposed' && (error as { code?: unknown }).code === 'DISPOSED')) {
        violations.push(`${what} threw ${String(error)}`);
      }
    }
  };

  // --- the logger
  const entries: LogEntry[] = [];
  let count = 0;
  let budget = scenario.budget;
  const onEntry = (entry: LogEntry) => {
    entries.push(entry);
    if (!LEVELS.includes(entry.level) || typeof entry.event !== 'string' || typeof entry.message !== 'string') {
      violations.push(`a malformed entry: ${JSON.stringify(entry)}`);
    }
    if (scenario.on !== undefined && entry.event.split('.')[0] !== scenario.on) return;
    const act = scenario.acts[count++ % scenario.acts.length]!;
    if (act === 'nothing') return;
    if (act === 'throw') throw new Boom(`logger on ${entry.event}`);
    // The manager is not there yet while its constructor logs.
    if (!manager || budget <= 0) return;
    budget--;
    const m = manager;
    switch (act) {
      case 'refresh':
        return track('refresh() in the logger', () => m.refresh());
      case 'getToken':
        return track('getToken() in the logger', () => m.getToken());
      case 'updateNewer': {
        const token = newer();
        return track('updateToken(newer) in the logger', () => m.updateToken(token));
      }
      case 'updateOlder':
        return track('updateToken(older) in the logger', () => m.updateToken(oldest));
      case 'updateHostile':
        return track('updateToken(hostile) in the logger', () => m.updateToken(build(scenario.hostile) as string));
      case 'clientError':
        return returns('handleClientError() in the logger', () => m.handleClientError(build(scenario.hostile), 'sdk'));
      case 'dispose':
        return returns('dispose() in the logger', () => m.dispose());
    }
  };
  let logger: unknown;
  if (scenario.shape === 'function') {
    logger = onEntry;
  } else {
    const methods = Object.fromEntries(
      LEVELS.map((level) => [
        level,
        function (this: unknown, text: unknown, entry: LogEntry, ...more: unknown[]) {
          if (this !== logger) violations.push(`logger.${level} called on another object`);
          if (more.length > 0 || entry?.level !== level || text !== `token-warden ${entry.message}`) {
            violations.push(`logger.${level} called with (${String(text)}, ${JSON.stringify(entry)})`);
          }
          onEntry(entry);
        },
      ]),
    );
    // A class instance: the methods are on its prototype, and need their `this`.
    logger = scenario.shape === 'consoleLike' ? methods : Object.create(methods);
  }

  // --- the manager
  const fetches: Array<{ resolve(value: unknown): void; reject(error: unknown): void }> = [];
  manager = new AccessManager({
    token: scenario.withToken ? newer() : undefined,
    fetchToken: () => new Promise((resolve, reject) => fetches.push({ resolve, reject })),
    clock,
    fetchTimeoutMs: 5 * SEC,
    retry: { minDelayMs: 100, maxDelayMs: SEC },
    logger: logger as never,
    ...(scenario.crossTab ? { crossTab: { name: `logger-fuzz-${++channels}` } } : {}),
  });
  manager.on('error', () => {});
  manager.addClient({ updateToken: () => {} }, { name: 'sdk' });

  for (const [i, step] of scenario.steps.entries()) {
    switch (step.s) {
      case 'advance':
        await clock.advance(step.ms);
        break;
      case 'answer': {
        const fetch = fetches.shift();
        if (step.how === 'token') fetch?.resolve(newer());
        else if (step.how === 'tokenWithServerTime') fetch?.resolve({ token: newer(), serverTime: clock.now() + 2 * MIN });
        else if (step.how === 'otherIdentity') fetch?.resolve(newer('mallory'));
        else if (step.how === 'malformed') fetch?.resolve(`${newer().slice(0, -4)}.extra`);
        else if (step.how === 'fail') fetch?.reject(Object.assign(new Error('token endpoint down'), { status: 503 }));
        else fetch?.reject(Object.assign(new Error('no session'), { status: 401 }));
        break;
      }
      case 'refresh':
        track('refresh()', () => manager!.refresh());
        break;
      case 'getToken':
        track('getToken()', () => manager!.getToken());
        break;
      case 'updateNewer': {
        const token = newer();
        track('updateToken(newer)', () => manager!.updateToken(token));
        break;
      }
      case 'clientError':
        returns('handleClientError()', () => manager!.handleClientError(build(step.spec)));
        break;
      case 'online':
        window.dispatchEvent(new Event('online'));
        break;
    }
    await flush();
    expect(violations, `after step ${i} (${step.s})`).toEqual([]);
  }

  // Still working (unless a logger disposed it): a refresh answered with a token adopts it. The logger may still
  // throw, but re-enters no more.
  budget = 0;
  if (manager.state !== 'disposed') {
    const pending = Symbol('pending');
    let outcome: unknown = pending;
    manager.refresh().then(
      (token) => void (outcome = token),
      (error: unknown) => void (outcome = error),
    );
    for (let n = 0; n < 20 && outcome === pending; n++) {
      // The first token fetched may have been another identity's: the manager then holds to that one.
      for (const fetch of fetches.splice(0)) fetch.resolve(newer(manager.identity ?? 'alice'));
      await clock.advance(100);
    }
    expect(outcome, 'a logger broke the manager: refresh() did not adopt a fetched token').toBe(manager.token);
  }

  manager.dispose();
  await clock.advance(10 * MIN);
  await flush();
  expect(violations).toEqual([]);
  expect(clock.pending).toBe(0);
  for (const p of promises) expect(p.settled, `${p.what} never settled`).toBe(true);
  expect(leaked(entries, tokens), 'a log entry quotes a token').toEqual([]);
  expect(leaked(promises.map((p) => p.error).filter(Boolean), tokens), 'an error message quotes a token').toEqual([]);
  expect(raised.filter((error) => !(error instanceof Boom))).toEqual([]);
  await around.unhandled.settle();
  expect(around.unhandled.reasons).toEqual([]);
  vi.restoreAllMocks();
}

describe('the logger at work: throwing, re-entrant', () => {
  it('never breaks the manager, gets well-formed entries without tokens, every promise settles', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: 60,
      examples: [
        [
          {
            shape: 'consoleClass',
            acts: ['throw', 'refresh', 'updateNewer', 'dispose'],
            on: undefined,
            budget: 4,
            withToken: false,
            crossTab: true,
            hostile: { k: 'revoked' },
            steps: [{ s: 'answer', how: 'token' }, { s: 'advance', ms: 12 * MIN }, { s: 'answer', how: 'fail' }],
            seed: 7,
          },
        ],
      ],
    });
  });
});
