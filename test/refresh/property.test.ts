// Random timelines against the refresh engine. A fake token server (its clock offset from the local one can change)
// answers the manager's fetches in one of several modes; the app updates tokens by hand, SDKs report token errors
// (some hostile, some not token errors at all), the laptop sleeps, window events arrive. After every step the
// invariants listed in docs/refresh.md are checked, among them: no unhandled rejection; every promise the manager
// hands out settles (updateToken() within 2 x clientTimeoutMs of awake time, refresh() and getToken() once the
// server works, all of them by dispose()); clients end on the manager's token; no retry starts before the
// `retryInMs` its failure announced, and a client-caused fetch that closely follows another waits for a reported
// CLIENT_TOKEN_REJECTED backoff; tokenAboutToExpire comes exactly once per token, before its tokenExpired, and both
// have come by the time the state says so. Jitter comes from a seeded `clock.random`, so a counterexample replays.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccessManager,
  type AccessManagerError,
  type AccessManagerErrorCode,
  type FetchContext,
  type FetchResult,
  decodeToken,
} from '../../src/index.js';
import { backoffCap } from '../../src/retry.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { HOUR, MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { seeded } from '../helpers/random.js';

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

/** What an SDK reports to handleClientError: token errors (one with a getter that throws) and one that is not. */
type ClientReport = 'expired' | 'http401' | 'final' | 'hostile';

type Command =
  | { c: 'advance'; ms: number }
  | { c: 'sleep'; ms: number; wake: WakeType | undefined }
  | { c: 'skew'; delta: number }
  | { c: 'mode'; mode: Mode }
  | { c: 'manual'; newer: boolean; seconds: number }
  | { c: 'clientError'; what: ClientReport }
  | { c: 'rejecting'; on: boolean }
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
  {
    weight: 1,
    arbitrary: fc.record({ c: fc.constant('clientError' as const), what: fc.constantFrom<ClientReport>('expired', 'expired', 'http401', 'final', 'hostile') }),
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('rejecting' as const), on: fc.boolean() }) },
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
  /** Seeds `clock.random` (retry jitter). */
  seed: fc.integer(),
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
  seed: number;
}

const CLIENT_REPORTS: Record<ClientReport, { error: () => unknown; tokenError: boolean }> = {
  expired: { error: () => ({ code: 20104 }), tokenError: true },
  http401: { error: () => ({ response: { status: 401 } }), tokenError: true },
  // Twilio answers a bad signature with 401 too: no new token fixes it.
  final: { error: () => ({ httpStatusCode: 401, errorCode: 20107 }), tokenError: false },
  hostile: {
    error: () =>
      Object.defineProperty({ errorCode: 31205 }, 'cause', {
        get: () => {
          throw new Error('cause getter');
        },
      }),
    tokenError: true,
  },
};


/** Unhandled rejections seen while the properties run (Node reports them between macrotasks). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(scenario: Scenario) {
  const clock = Object.assign(new ManualClock(L), { random: seeded(scenario.seed) });
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

  // --- the fetcher, with the in-flight invariant; fetches, failures and what might legitimately hurry a retry
  // (refresh(), an `online` event), in one order
  let seq = 0;
  const holder: { manager?: AccessManager } = {};
  const fetchLog: Array<{ at: number; reason: string; attempt: number; held: string | undefined; seq: number }> = [];
  const failures: Array<{ at: number; error: AccessManagerError; seq: number }> = [];
  const hurries: number[] = [];
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
    // The first fetch may come from inside the constructor, before `manager` is assigned.
    fetchLog.push({ at: clock.now(), reason: ctx.reason, attempt: ctx.attempt, held: holder.manager?.token, seq: seq++ });
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
  // A run that fails stops before its own dispose(): the manager is disposed with the test then.
  const manager = createManager({
    token: initial,
    fetchToken,
    clock,
    retry: RETRY,
    fetchTimeoutMs: FETCH_TIMEOUT_MS,
    clientTimeoutMs: CLIENT_TIMEOUT_MS,
  });
  holder.manager = manager;

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
    failures.push({ at: clock.now(), error, seq: seq++ });
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

  // --- every promise handed out, with the awake time it was asked at
  let awake = 0;
  type Tracked = { kind: 'updateToken' | 'refresh' | 'getToken'; at: number; awakeAt: number; settled: boolean };
  const promises: Tracked[] = [];
  const trackPromise = (kind: Tracked['kind'], promise: Promise<unknown>) => {
    const tracked: Tracked = { kind, at: clock.now(), awakeAt: awake, settled: false };
    promises.push(tracked);
    promise.then(
      () => (tracked.settled = true),
      () => (tracked.settled = true),
    );
  };

  // An SDK that, while `rejecting` is on, reports every token it is handed as expired (a server that refuses them).
  let rejecting = false;
  manager.addClient(
    {
      updateToken: () => {
        if (rejecting) queueMicrotask(() => manager.handleClientError({ httpStatusCode: 401, errorCode: 20104 }, 'rejecting'));
      },
    },
    { name: 'rejecting' },
  );

  // --- liveness bookkeeping
  let guaranteeSince: number | undefined;
  let expiredSince: number | undefined;
  let lastWake = clock.now();
  const check = (afterAdvance = false) => {
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
    for (const p of promises) {
      if (p.settled) continue;
      // updateToken() waits for the clients only: the slow one, or clientTimeoutMs twice (one older call ahead).
      if (p.kind === 'updateToken') {
        expect(awake - p.awakeAt, `updateToken() asked at +${p.at - L} ms still pending`).toBeLessThanOrEqual(2 * CLIENT_TIMEOUT_MS + STEP_MS);
      } else if (guaranteeSince !== undefined) {
        // refresh() and getToken() end once the server works: like an expired token, within the same bound.
        const from = Math.max(guaranteeSince, p.at, lastWake);
        expect(now - from, `${p.kind}() asked at +${p.at - L} ms still pending while the server works`).toBeLessThanOrEqual(EXPIRED_BOUND_MS);
      }
    }
    // Both once-per-token events have come by the time the state says so (after due timers ran).
    const token = manager.token;
    if (afterAdvance && token !== undefined) {
      const state = manager.state;
      if (state === 'aboutToExpire' || state === 'expired' || manager.isExpired) {
        expect(about.get(token), `state ${state} without tokenAboutToExpire`).toBe(1);
      }
      if (manager.isExpired) expect(expired.get(token), 'expired without tokenExpired').toBe(1);
    }
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
          awake += Math.min(STEP_MS, left);
          check(true);
        }
        continue;
      case 'sleep':
        clock.jump(command.ms);
        lastWake = clock.now();
        if (command.wake === 'online') hurries.push(seq++);
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
        trackPromise('updateToken', ignore(manager.updateToken(token)));
        break;
      }
      case 'clientError': {
        const report = CLIENT_REPORTS[command.what];
        expect(manager.handleClientError(report.error(), 'sdk')).toBe(report.tokenError);
        break;
      }
      case 'rejecting':
        rejecting = command.on;
        break;
      case 'refresh':
        hurries.push(seq++);
        trackPromise('refresh', ignore(manager.refresh()));
        break;
      case 'getToken':
        trackPromise('getToken', ignore(manager.getToken()));
        break;
      case 'wake':
        if (command.type === 'online') hurries.push(seq++);
        dispatchWake(command.type);
        break;
    }
    await flush();
    check();
  }

  // --- no retry before its announced time, unless refresh() or `online` asked for one at once
  for (const fetch of fetchLog) {
    if (fetch.attempt === 1) continue;
    const failure = [...failures]
      .reverse()
      .find((f) => f.seq < fetch.seq && f.error.code !== 'CLIENT_TOKEN_REJECTED' && f.error.attempt === fetch.attempt - 1 && f.error.retryInMs !== undefined);
    if (!failure || hurries.some((h) => h > failure.seq && h < fetch.seq)) continue;
    expect(fetch.at - failure.at, `attempt ${fetch.attempt} came before its retryInMs ${failure.error.retryInMs}`).toBeGreaterThanOrEqual(failure.error.retryInMs!);
  }
  // --- whatever clients report: a client-caused fetch within 60 s of the previous one, or for the same held token,
  // waits for a CLIENT_TOKEN_REJECTED backoff that was reported after the previous one
  const caused = fetchLog.filter((fetch) => fetch.reason === 'clientError' && fetch.attempt === 1);
  for (let i = 1; i < caused.length; i++) {
    const previous = caused[i - 1]!;
    const current = caused[i]!;
    if (current.at - previous.at >= MIN && current.held !== previous.held) continue;
    const waited = failures.some(
      ({ at, error, seq: s }) => error.code === 'CLIENT_TOKEN_REJECTED' && s > previous.seq && s < current.seq && at + error.retryInMs! <= current.at,
    );
    expect(waited, `client-caused fetch at +${current.at - L} ms, ${current.at - previous.at} ms after the previous one, without a backoff`).toBe(true);
  }

  // --- clients end on the manager's token: with the server quiet, the slow client catches up
  mode = { type: 'hang' };
  await clock.advance(MAX_OK_DELAY_MS + 2 * CLIENT_TIMEOUT_MS);
  awake += MAX_OK_DELAY_MS + 2 * CLIENT_TIMEOUT_MS;
  check(true);
  if (adoptedExps.length > 0) {
    const current = expOf(manager.token!);
    expect(syncSeen.at(-1), 'the sync client does not end on the manager token').toBe(current);
    expect(slowSeen.at(-1), 'the slow client does not end on the manager token').toBe(current);
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
  // Every promise handed out has settled by now, and none was left rejected without a handler.
  expect(promises.filter((p) => !p.settled).map((p) => `${p.kind}() at +${p.at - L} ms`)).toEqual([]);
  await macrotask();
  expect(unhandled).toEqual([]);
}

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
              seed: 1,
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
          [
            {
              // No token to be had (the endpoint refuses): two client reports a minute apart once caused two
              // fetches, as if holding no token were not a held state.
              startAgo: undefined,
              offset: 0,
              seed: 0,
              mode: { type: 'fatal' },
              commands: [
                { c: 'advance', ms: 1 },
                { c: 'clientError', what: 'expired' },
                { c: 'advance', ms: MIN },
                { c: 'clientError', what: 'expired' },
                { c: 'mode', mode: { type: 'fail', delay: 0 } },
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
          seed: fc.integer(),
        }),
        async (scenario) => {
          await run(scenario);
        },
      ),
      { numRuns: 60 },
    );
  });
});
