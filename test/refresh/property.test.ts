// Random timelines against the refresh engine. A fake token server (its clock offset from the local one can change)
// answers the manager's fetches in one of several modes; the app updates tokens by hand, SDKs report token errors,
// the laptop sleeps, window events arrive. After every step the invariants listed in docs/refresh.md are checked.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AccessManager,
  type AccessManagerError,
  type AccessManagerErrorCode,
  type FetchContext,
  type FetchResult,
  decodeToken,
} from '../../src/index.js';
import { backoffCap } from '../../src/retry.js';
import { ManualClock, flush } from '../helpers/clock.js';
import { mintToken } from '../helpers/tokens.js';

const L = Date.UTC(2026, 10, 23, 12);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

const RETRY = { minDelayMs: 500, maxDelayMs: 8 * SEC, factor: 2 };
const FETCH_TIMEOUT_MS = 5 * SEC;
const CLIENT_TIMEOUT_MS = 3 * SEC;
/** Longest answer time of a working token server. */
const MAX_OK_DELAY_MS = 2 * SEC;
/** Time moves in steps of at most this much, with the invariants checked after each. */
const STEP_MS = 2 * SEC;
/**
 * While the server works, an expired token is replaced within: an attempt started before it recovered timing out,
 * one backoff step, and the working server's answer (plus the checking granularity).
 */
const EXPIRED_BOUND_MS = FETCH_TIMEOUT_MS + RETRY.maxDelayMs + MAX_OK_DELAY_MS + STEP_MS;

type WakeType = 'focus' | 'online' | 'pageshow' | 'visibilitychange';

type Mode =
  | { type: 'ok'; delay: number; ttl: number; serverTime: boolean }
  | { type: 'fail'; delay: number }
  | { type: 'hang' }
  | { type: 'fatal' }
  | { type: 'malformed' }
  | { type: 'mismatch' }
  | { type: 'cached' };

type Command =
  | { c: 'advance'; ms: number }
  | { c: 'sleep'; ms: number; wake: WakeType | undefined }
  | { c: 'skew'; delta: number }
  | { c: 'mode'; mode: Mode }
  | { c: 'manual'; newer: boolean; seconds: number }
  | { c: 'clientError' }
  | { c: 'refresh' }
  | { c: 'getToken' }
  | { c: 'wake'; type: WakeType };

const wakeArb = fc.constantFrom<WakeType>('focus', 'online', 'pageshow', 'visibilitychange');

const modeArb: fc.Arbitrary<Mode> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('ok' as const),
      delay: fc.constantFrom(0, 300, MAX_OK_DELAY_MS),
      ttl: fc.constantFrom(60, 600, 3600),
      serverTime: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('fail' as const), delay: fc.constantFrom(0, 1000) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'hang' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'fatal' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'malformed' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'mismatch' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'cached' as const }) },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ c: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4 * MIN }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      c: fc.constant('sleep' as const),
      ms: fc.oneof(fc.integer({ min: SEC, max: 10 * MIN }), fc.integer({ min: 10 * MIN, max: 4 * HOUR })),
      wake: fc.option(wakeArb, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('skew' as const), delta: fc.integer({ min: -10 * MIN, max: 10 * MIN }) }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant('mode' as const), mode: modeArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ c: fc.constant('manual' as const), newer: fc.boolean(), seconds: fc.integer({ min: 1, max: 2 * 3600 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ c: 'clientError' as const }) },
  { weight: 1, arbitrary: fc.constant({ c: 'refresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ c: 'getToken' as const }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('wake' as const), type: wakeArb }) },
);

const scenarioArb = fc.record({
  /** Start with a token (issued this many seconds ago) or without one (the first is fetched). */
  startAgo: fc.option(fc.integer({ min: 0, max: 3500 }), { nil: undefined }),
  offset: fc.integer({ min: -10 * MIN, max: 10 * MIN }),
  mode: modeArb,
  commands: fc.array(commandArb, { minLength: 1, maxLength: 25 }),
});

const KNOWN_CODES: AccessManagerErrorCode[] = [
  'TOKEN_MALFORMED',
  'TOKEN_EXPIRED',
  'IDENTITY_MISMATCH',
  'FETCH_FAILED',
  'FETCH_TIMEOUT',
  'FETCH_UNAUTHORIZED',
  'CLIENT_UPDATE_TIMEOUT',
  'CLIENT_TOKEN_REJECTED',
];

const expOf = (token: string): number => decodeToken(token).expiresAt.getTime();

interface Scenario {
  startAgo: number | undefined;
  offset: number;
  mode: Mode;
  commands: Command[];
}

async function run(scenario: Scenario) {
  const clock = new ManualClock(L);
  let offset = scenario.offset;
  let mode = scenario.mode;
  const serverNow = () => clock.now() + offset;

  // --- the token server: unique exp per token, and a working server never hands out an older token than it has
  // issued (a refreshed token is the freshest), so the client-side order of tokens is well defined.
  const usedExp = new Set<number>();
  let latestExp = 0;
  let lastFetched: string | undefined;
  const issue = (options: { identity?: string; ttl: number; freshest?: boolean; exp?: number }): string => {
    const iat = Math.floor(serverNow() / SEC);
    let exp = options.exp ?? iat + options.ttl;
    if (options.freshest) exp = Math.max(exp, latestExp + 1);
    const step = options.exp !== undefined && options.exp < latestExp ? -1 : 1;
    while (usedExp.has(exp)) exp += step;
    usedExp.add(exp);
    latestExp = Math.max(latestExp, exp);
    // An older token was issued long ago: its iat lies an hour before its exp.
    const at = options.exp !== undefined ? Math.min(iat, exp - 3600) : iat;
    return mintToken({ identity: options.identity ?? 'alice', at: at * SEC, ttl: exp - at });
  };

  // Listeners and the fetcher run inside the manager, which would swallow a failed expect(): collect instead.
  const violations: string[] = [];
  const ensure = (ok: boolean, what: string) => {
    if (!ok) violations.push(`${what} (at +${clock.now() - L} ms)`);
  };

  // --- the fetcher, with the in-flight invariant
  let inFlight = 0;
  let fetchCalls = 0;
  let stalled = false;
  const fetchToken = (ctx: FetchContext): Promise<FetchResult> => {
    ensure(inFlight === 0, 'a second fetch while one is in flight');
    ensure(Number.isInteger(ctx.attempt) && ctx.attempt >= 1, `attempt ${ctx.attempt}`);
    ensure(!ctx.signal.aborted, 'the signal of a new attempt is already aborted');
    inFlight++;
    fetchCalls++;
    stalled = false;
    const m = mode;
    return new Promise<FetchResult>((resolve, reject) => {
      let timer: unknown;
      let done = false;
      const finish = () => {
        if (done) return false;
        done = true;
        inFlight--;
        if (timer !== undefined) clock.clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = () => {
        if (finish()) reject(ctx.signal.reason);
      };
      ctx.signal.addEventListener('abort', onAbort);
      if (m.type === 'hang') return;
      const respond = () => {
        timer = undefined;
        if (!finish()) return;
        switch (m.type) {
          case 'ok': {
            // Minted when the server answers, so serverTime is what the Date header would say.
            const token = issue({ ttl: m.ttl, freshest: true });
            lastFetched = token;
            resolve(m.serverTime ? { token, serverTime: serverNow() } : token);
            return;
          }
          case 'fail':
            reject(Object.assign(new Error('503'), { status: 503 }));
            return;
          case 'fatal':
            reject({ status: 401 });
            return;
          case 'malformed':
            resolve('<html>maintenance</html>');
            return;
          case 'mismatch':
            resolve(issue({ identity: 'mallory', ttl: 3600 }));
            return;
          case 'cached':
            resolve(lastFetched ?? issue({ ttl: 600 }));
        }
      };
      timer = clock.setTimeout(respond, 'delay' in m ? m.delay : 0);
    });
  };

  const initial = scenario.startAgo === undefined ? undefined : issue({ ttl: 3600, exp: Math.floor(serverNow() / SEC) - scenario.startAgo + 3600 });
  const manager = new AccessManager({
    token: initial,
    fetchToken,
    clock,
    retry: RETRY,
    fetchTimeoutMs: FETCH_TIMEOUT_MS,
    clientTimeoutMs: CLIENT_TIMEOUT_MS,
  });

  // --- event invariants
  const about = new Map<string, number>();
  const expired = new Map<string, number>();
  const adoptedExps: number[] = [];
  manager.on('tokenAboutToExpire', ({ token, msLeft }) => {
    about.set(token, (about.get(token) ?? 0) + 1);
    // Once per token and before its tokenExpired; after a sleep past the expiry it comes late (msLeft <= 0).
    ensure(!expired.has(token), 'tokenAboutToExpire after tokenExpired');
    ensure(msLeft <= 180_000, `msLeft ${msLeft}`);
    ensure(token === manager.token, 'tokenAboutToExpire for a token that is not the current one');
  });
  manager.on('tokenExpired', ({ token }) => {
    expired.set(token, (expired.get(token) ?? 0) + 1);
    ensure(about.get(token) === 1, 'tokenExpired without one tokenAboutToExpire before it');
    ensure(token === manager.token, 'tokenExpired for a token that was replaced');
  });
  manager.on('tokenUpdated', ({ token, source }) => {
    ensure(source === 'manual' || source === 'fetch', `source ${source}`);
    adoptedExps.push(expOf(token));
    stalled = false;
  });
  manager.on('error', (error: AccessManagerError) => {
    ensure(KNOWN_CODES.includes(error.code), `error code ${error.code}`);
    // Failed attempts carry their number; only the initial token's TOKEN_EXPIRED report has none.
    if (error.code.startsWith('FETCH_') || error.attempt !== undefined) {
      ensure(error.attempt! >= 1, `${error.code} without attempt`);
      if (error.retryInMs === undefined) stalled = true;
      else ensure(error.retryInMs >= 0 && error.retryInMs <= backoffCap(RETRY, error.attempt!), `retryInMs ${error.retryInMs}`);
    }
  });

  // --- clients: one synchronous, one slow (its own timers on the clock); neither may see an older token
  const syncSeen: number[] = [];
  const slowSeen: number[] = [];
  let slowTimers = 0;
  manager.addClient({ updateToken: (token: string) => void syncSeen.push(expOf(token)) }, { name: 'sync' });
  manager.addClient(
    {
      updateToken: (token: string) =>
        new Promise<void>((resolve) => {
          slowSeen.push(expOf(token));
          slowTimers++;
          clock.setTimeout(() => {
            slowTimers--;
            resolve();
          }, 1500);
        }),
    },
    { name: 'slow' },
  );

  // --- liveness bookkeeping
  let guaranteeSince: number | undefined;
  let expiredSince: number | undefined;
  let lastWake = clock.now();
  const check = () => {
    expect(violations).toEqual([]);
    const now = clock.now();
    const works = mode.type === 'ok' && mode.serverTime && !stalled && manager.state !== 'failed';
    guaranteeSince = works ? (guaranteeSince ?? now) : undefined;
    expiredSince = manager.isExpired ? (expiredSince ?? now) : undefined;
    if (guaranteeSince !== undefined && expiredSince !== undefined) {
      const from = Math.max(guaranteeSince, expiredSince, lastWake);
      expect(now - from, 'expired for too long while the server works').toBeLessThanOrEqual(EXPIRED_BOUND_MS);
    }
    expect(inFlight).toBeLessThanOrEqual(1);
    expect(manager.state === 'refreshing').toBe(inFlight === 1);
  };

  const ignore = (promise: Promise<unknown>) => promise.catch(() => {});
  const dispatchWake = (type: WakeType) =>
    type === 'visibilitychange' ? document.dispatchEvent(new Event(type)) : window.dispatchEvent(new Event(type));

  await flush();
  check();
  for (const command of scenario.commands) {
    switch (command.c) {
      case 'advance':
        for (let left = command.ms; left > 0; left -= STEP_MS) {
          await clock.advance(Math.min(STEP_MS, left));
          check();
        }
        continue;
      case 'sleep':
        clock.jump(command.ms);
        lastWake = clock.now();
        if (command.wake) dispatchWake(command.wake);
        await flush();
        // Nothing was running during the sleep: an expiry it hid is counted from the wake.
        expiredSince = undefined;
        break;
      case 'skew':
        offset = Math.max(-15 * MIN, Math.min(15 * MIN, offset + command.delta));
        break;
      case 'mode':
        mode = command.mode;
        break;
      case 'manual': {
        const current = manager.token ? Math.floor(expOf(manager.token) / SEC) : Math.floor(serverNow() / SEC);
        const token = command.newer
          ? issue({ ttl: 0, exp: Math.max(current, latestExp, Math.floor(serverNow() / SEC)) + command.seconds })
          : issue({ ttl: 0, exp: current - command.seconds });
        ignore(manager.updateToken(token));
        break;
      }
      case 'clientError':
        expect(manager.handleClientError({ code: 20104 })).toBe(true);
        break;
      case 'refresh':
        ignore(manager.refresh());
        break;
      case 'getToken':
        ignore(manager.getToken());
        break;
      case 'wake':
        dispatchWake(command.type);
        break;
    }
    await flush();
    check();
  }

  // --- end of the timeline: once-per-token events, token order, then dispose
  for (const count of [...about.values(), ...expired.values()]) expect(count).toBe(1);
  const increasing = (exps: number[]) => exps.every((exp, i) => i === 0 || exp > exps[i - 1]!);
  expect(increasing(adoptedExps), `adopted exps ${adoptedExps}`).toBe(true);
  expect(increasing(syncSeen), `sync client exps ${syncSeen}`).toBe(true);
  expect(increasing(slowSeen), `slow client exps ${slowSeen}`).toBe(true);
  expect(syncSeen).toEqual(adoptedExps);

  manager.dispose();
  await flush();
  expect(manager.state).toBe('disposed');
  expect(inFlight).toBe(0);
  // Only the slow client's own timers may remain: the manager's timer, its fan-out timeouts and fetch are gone.
  expect(clock.pending).toBe(slowTimers);
  const code = async (call: () => unknown) => {
    try {
      await call();
    } catch (error) {
      return (error as AccessManagerError).code;
    }
    return 'no error';
  };
  expect(
    await Promise.all([
      code(() => manager.refresh()),
      code(() => manager.getToken()),
      code(() => manager.updateToken(issue({ ttl: 3600, freshest: true }))),
      code(() => manager.addClient({ updateToken: () => {} })),
      code(() => manager.removeClient({ updateToken: () => {} })),
      code(() => manager.handleClientError({ code: 20104 })),
    ]),
  ).toEqual(Array(6).fill('DISPOSED'));
  expect(() => manager.dispose()).not.toThrow();
  const calls = fetchCalls;
  clock.jump(2 * HOUR);
  dispatchWake('focus');
  await clock.advance(MIN);
  expect(fetchCalls).toBe(calls);
}

let live: AccessManager[] = [];
afterEach(() => {
  for (const manager of live) manager.dispose();
  live = [];
});

describe('refresh engine properties', () => {
  it('holds every invariant on random timelines', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await run(scenario);
      }),
      {
        numRuns: 200,
        examples: [
          [
            {
              // A caching endpoint serves the current token again at expiry, then works again: the manager must
              // keep retrying on the backoff schedule (it once sat on the expired token with no timer left).
              startAgo: undefined,
              offset: 0,
              mode: { type: 'ok', delay: 0, ttl: 3600, serverTime: true },
              commands: [
                { c: 'advance', ms: 1000 },
                { c: 'mode', mode: { type: 'cached' } },
                { c: 'sleep', ms: 2 * HOUR, wake: 'focus' },
                { c: 'advance', ms: 1000 },
                { c: 'mode', mode: { type: 'ok', delay: 300, ttl: 3600, serverTime: true } },
                { c: 'advance', ms: MIN },
              ],
            },
          ],
        ],
      },
    );
  });

  it('a server that always works keeps the token valid through sleeps, skew and manual updates', { timeout: 60_000 }, async () => {
    const working = fc.record({
      type: fc.constant('ok' as const),
      delay: fc.constantFrom(0, 300, MAX_OK_DELAY_MS),
      ttl: fc.constantFrom(60, 600, 3600),
      serverTime: fc.constant(true),
    });
    const calm = commandArb.filter((command) => command.c !== 'mode');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          startAgo: fc.option(fc.integer({ min: 0, max: 3500 }), { nil: undefined }),
          offset: fc.integer({ min: -10 * MIN, max: 10 * MIN }),
          mode: working,
          commands: fc.array(calm, { minLength: 1, maxLength: 25 }),
        }),
        async (scenario) => {
          await run(scenario);
        },
      ),
      { numRuns: 60 },
    );
  });
});
