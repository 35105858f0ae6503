// fetchToken answering with hostile values: rejections whose getters throw, revoked proxies, lookalike errors,
// thenables that throw or never call back, odd `serverTime`s, tokens quoted in messages. Then the endpoint
// recovers. Checked on a manual clock:
// - every `error` event has a known code, and no message (events, rejections) contains a token;
// - an attempt ends within fetchTimeoutMs; the next one starts exactly `retryInMs` after its error; a refresh that
//   gives up (retryInMs undefined) rejects at once; so refresh() always settles;
// - once the endpoint works, refresh() resolves with the manager's token, which is valid, and a `serverTime` that is
//   not a finite number or a valid Date never makes it look valid past its exp;
// - no unhandled rejection, one fetch at a time, and nothing left behind after dispose().
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AccessManager,
  type AccessManagerError,
  type AccessManagerErrorCode,
  type FetchContext,
  decodeToken,
  isAccessManagerError,
} from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { type HostileSpec, aroundFuzzFile, build, hostileSpec, seeded } from './hostile.js';

const FETCH_TIMEOUT_MS = 2 * SEC;
const RETRY = { minDelayMs: 100, maxDelayMs: SEC, factor: 2 };
/** A failure's `retryAfterMs` may hold the next attempt back this long at most. */
const RETRY_AFTER_CAP_MS = 10 * MIN;
const PEER_WAIT_MS = 200;

const FETCH_CODES: AccessManagerErrorCode[] = [
  'FETCH_FAILED',
  'FETCH_TIMEOUT',
  'FETCH_UNAUTHORIZED',
  'TOKEN_MALFORMED',
  'TOKEN_EXPIRED',
  'IDENTITY_MISMATCH',
];

type TokenKind = 'fresh' | 'expired' | 'other' | 'malformed' | 'same' | 'older';

/** serverTime values: the odd ones must be ignored, the real ones (now, or off by minutes) are fine. */
const SERVER_TIMES = ['absent', 'now', 'now+5min', 'now-5min', 'null', 'true', "'1970'", '0', 'NaN', 'invalid Date', '-1e20', 'Infinity', 'fake Date', 'getter throws', 'revoked', 'epoch Date'] as const;
type ServerTime = (typeof SERVER_TIMES)[number];

type Answer =
  | { k: 'reject'; spec: HostileSpec }
  | { k: 'throw'; spec: HostileSpec }
  | { k: 'return'; spec: HostileSpec; withToken: boolean }
  | { k: 'rejectQuotingToken'; how: 'string' | 'Error' | 'message' | 'cause' }
  | { k: 'token'; kind: TokenKind; serverTime: ServerTime; wrap: 'string' | 'object' | 'thenable' }
  | { k: 'hang' };

const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('reject' as const), spec: hostileSpec }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('throw' as const), spec: hostileSpec }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('return' as const), spec: hostileSpec, withToken: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('rejectQuotingToken' as const), how: fc.constantFrom('string' as const, 'Error' as const, 'message' as const, 'cause' as const) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('token' as const),
      kind: fc.constantFrom<TokenKind>('fresh', 'expired', 'other', 'malformed', 'same', 'older'),
      serverTime: fc.constantFrom(...SERVER_TIMES),
      wrap: fc.constantFrom('string' as const, 'object' as const, 'thenable' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'hang' as const }) },
);

const scenarioArb = fc.record({
  /** Start with a token (issued this many minutes ago) or none. */
  startAgo: fc.option(fc.integer({ min: 0, max: 55 }), { nil: undefined }),
  answers: fc.array(answerArb, { maxLength: 6 }),
  /** How the endpoint answers once it works. */
  recovery: fc.record({ serverTime: fc.constantFrom(...SERVER_TIMES), wrap: fc.constantFrom('string' as const, 'object' as const) }),
  seed: fc.integer(),
  /** Through the cross-tab lock (alone on the channel): attempts then also wait for peers' answers. */
  crossTab: fc.boolean(),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const around = aroundFuzzFile();

async function run(scenario: Scenario): Promise<void> {
  const clock = Object.assign(new ManualClock(L), { random: seeded(scenario.seed) });
  const tokens: string[] = [];
  let exp = Math.floor(L / SEC) + 3600;
  /** A token of `identity`, issued `agoMs` ago, its exp unique and later than every earlier one's. */
  const mint = (identity = 'alice', agoMs = 0, ttl = 3600): string => {
    const at = clock.now() - agoMs;
    exp = Math.max(exp + 1, Math.floor(at / SEC) + ttl);
    const token = mintToken({ identity, at, ttl: exp - Math.floor(at / SEC) });
    tokens.push(token);
    return token;
  };
  const initial = scenario.startAgo === undefined ? undefined : mint('alice', scenario.startAgo * MIN);

  const serverTime = (kind: ServerTime): unknown => {
    switch (kind) {
      case 'now':
        return clock.now();
      case 'now+5min':
        return clock.now() + 5 * MIN;
      case 'now-5min':
        return new Date(clock.now() - 5 * MIN);
      case 'null':
        return null;
      case 'true':
        return true;
      case "'1970'":
        return '1970';
      case '0':
        return 0;
      case 'NaN':
        return NaN;
      case 'invalid Date':
        return new Date('x');
      case '-1e20':
        return -1e20;
      case 'Infinity':
        return Infinity;
      case 'fake Date':
        return build({ k: 'fakeDate' });
      case 'revoked':
        return build({ k: 'revoked' });
      case 'epoch Date':
        return new Date(0);
      default:
        return undefined;
    }
  };
  const withServerTime = (token: string, kind: ServerTime): Record<string, unknown> => {
    if (kind === 'absent') return { token };
    if (kind === 'getter throws') {
      return Object.defineProperty({ token }, 'serverTime', {
        get: () => {
          throw new Error('serverTime getter');
        },
        enumerable: true,
      });
    }
    return { token, serverTime: serverTime(kind) };
  };

  // --- the endpoint
  let attempt = 0;
  let recovered = false;
  /** The previous attempt's signal, while its answer may still be on the way. */
  let open: AbortSignal | undefined;
  /** Attempt starts and fetch failures, in order. */
  const timeline: Array<{ at: number; error?: AccessManagerError }> = [];
  const violations: string[] = [];
  const ensure = (ok: boolean, what: string) => {
    if (!ok) violations.push(`${what} (at +${clock.now() - L} ms)`);
  };
  const fetchToken = (ctx: FetchContext): unknown => {
    ensure(!open || open.aborted, 'a second fetch while one is in flight');
    ensure(!ctx.signal.aborted, 'a new attempt with an aborted signal');
    timeline.push({ at: clock.now() });
    const answer = scenario.answers[attempt++];
    // Answers that never come keep the attempt open until the manager aborts it.
    open = answer?.k === 'hang' || (answer?.k === 'return' && answer.spec.k === 'thenNever') ? ctx.signal : undefined;
    if (!answer) {
      recovered = true;
      const token = mint();
      return Promise.resolve(scenario.recovery.wrap === 'string' ? token : withServerTime(token, scenario.recovery.serverTime));
    }
    switch (answer.k) {
      case 'reject':
        return Promise.reject(build(answer.spec));
      case 'throw':
        throw build(answer.spec);
      case 'return':
        return build(answer.spec, answer.withToken ? { token: mint() } : {});
      case 'rejectQuotingToken': {
        const token = mint();
        const reason =
          answer.how === 'string'
            ? `bad token ${token}`
            : answer.how === 'Error'
              ? new Error(`server refused ${token} (status 500)`)
              : answer.how === 'message'
                ? { message: token, status: 500 }
                : new Error('wrapped', { cause: new Error(token) });
        return Promise.reject(reason);
      }
      case 'hang':
        return new Promise(() => {});
      case 'token': {
        const current = manager.token;
        const token =
          answer.kind === 'fresh'
            ? mint()
            : answer.kind === 'expired'
              ? mint('alice', 3 * 3600 * SEC, 3600)
              : answer.kind === 'other'
                ? mint('mallory')
                : answer.kind === 'malformed'
                  ? `${mint().slice(0, -3)}.x`
                  : answer.kind === 'same' && current
                    ? current
                    : older(current);
        const value = answer.wrap === 'string' ? token : withServerTime(token, answer.serverTime);
        if (answer.wrap === 'thenable') return { then: (resolve: (v: unknown) => void) => resolve(value) };
        return Promise.resolve(value);
      }
    }
  };
  /** A token that expires before `current` (or a fresh one when there is none). */
  const older = (current: string | undefined): string => {
    if (!current) return mint();
    const currentExp = decodeToken(current).expiresAt.getTime() / SEC;
    const at = clock.now() - 10 * MIN;
    const token = mintToken({ identity: 'alice', at, ttl: Math.max(60, Math.floor(currentExp - at / SEC) - 60) });
    tokens.push(token);
    return token;
  };

  const channelsBefore = around.env.channels.length;
  const manager = new AccessManager({
    token: initial,
    fetchToken: fetchToken as never,
    clock,
    identity: 'alice',
    crossTab: scenario.crossTab,
    retry: RETRY,
    fetchTimeoutMs: FETCH_TIMEOUT_MS,
  });

  // --- what the manager reports
  const errors: Array<{ error: AccessManagerError; at: number }> = [];
  manager.on('error', (error) => {
    errors.push({ error, at: clock.now() });
    if (error.attempt !== undefined) timeline.push({ at: clock.now(), error });
    ensure(FETCH_CODES.includes(error.code), `error code ${String(error.code)}`);
    ensure(isAccessManagerError(error), 'error is no AccessManagerError');
  });
  const expired: string[] = [];
  manager.on('tokenExpired', ({ token }) => expired.push(token));

  const settled = <T>(promise: Promise<T>) => {
    const state: { done: boolean; value?: T; error?: unknown } = { done: false };
    promise.then(
      (value) => Object.assign(state, { done: true, value }),
      (error: unknown) => Object.assign(state, { done: true, error }),
    );
    return state;
  };

  /** Moves time from timer to timer until `until()` holds, at most `maxMs`. */
  const drive = async (until: () => boolean, maxMs: number) => {
    const end = clock.now() + maxMs;
    for (let i = 0; i < 2000 && !until(); i++) {
      let next = clock.delays[0];
      if (next === undefined) {
        // Nothing armed: let long promise chains (the lock's hand-over) run out before calling it stuck.
        await flush(500);
        next = clock.delays[0];
        if (until()) break;
      }
      if (next === undefined || clock.now() + next > end) break;
      await clock.advance(next);
    }
  };

  const getToken = settled(manager.getToken());
  const perAttempt = FETCH_TIMEOUT_MS + RETRY_AFTER_CAP_MS + SEC;
  let final: { done: boolean; value?: string; error?: unknown } | undefined;
  for (let calls = 0; calls < scenario.answers.length + 3; calls++) {
    const refresh = settled(manager.refresh());
    const attemptsBefore = attempt;
    await drive(() => refresh.done, (scenario.answers.length - attemptsBefore + 2) * perAttempt);
    await flush();
    expect(refresh.done, `refresh() did not settle (attempts ${attempt}, answers ${scenario.answers.length})`).toBe(true);
    if (refresh.error !== undefined) {
      const error = refresh.error as AccessManagerError;
      expect(isAccessManagerError(error)).toBe(true);
      // Only a final failure ends a refresh with retries on.
      expect(['FETCH_UNAUTHORIZED', 'IDENTITY_MISMATCH']).toContain(error.code);
      errors.push({ error, at: clock.now() });
    }
    if (recovered && refresh.error === undefined) {
      final = refresh;
      break;
    }
  }
  expect(violations).toEqual([]);

  // --- per attempt: ends within the timeout, the next starts exactly retryInMs after the failure
  timeline.forEach(({ at, error }, i) => {
    if (!error) return;
    const start = timeline.slice(0, i).reverse().find((entry) => !entry.error);
    expect(start, `${error.code} without an attempt`).toBeDefined();
    expect(at - start!.at, `${error.code} came ${at - start!.at} ms after its attempt started`).toBeLessThanOrEqual(FETCH_TIMEOUT_MS);
    if (error.retryInMs === undefined) return;
    expect(error.retryInMs).toBeGreaterThanOrEqual(0);
    expect(error.retryInMs).toBeLessThanOrEqual(RETRY_AFTER_CAP_MS);
    const next = timeline.slice(i + 1).find((entry) => !entry.error);
    if (!next) return;
    // Alone on the channel, an attempt within 200 ms of the tab's last ask first waits out its peers' answers.
    const late = next.at - at - error.retryInMs;
    expect(late, `next attempt after ${error.code} (retryInMs ${error.retryInMs}) came ${late} ms off`).toBeGreaterThanOrEqual(0);
    expect(late, `next attempt after ${error.code} (retryInMs ${error.retryInMs}) came ${late} ms late`).toBeLessThanOrEqual(scenario.crossTab ? PEER_WAIT_MS : 0);
  });

  // --- no message carries a token, nor a long segment of one
  const secrets = tokens.flatMap((token) => [token, ...token.split('.').filter((part) => part.length >= 16)]);
  for (const { error } of errors) {
    for (const secret of secrets) expect(error.message, `${error.code} message quotes a token`).not.toContain(secret);
  }

  // --- recovered: refresh() resolved with the manager's valid token; so did getToken()
  expect(final, 'refresh() never resolved after the endpoint recovered').toBeDefined();
  const token = final!.value!;
  expect(token).toBe(manager.token);
  const expiresAt = decodeToken(token).expiresAt.getTime();
  expect(expiresAt).toBeGreaterThan(clock.now());
  expect(manager.isExpired).toBe(false);
  await drive(() => getToken.done, perAttempt);
  expect(getToken.done).toBe(true);
  if (getToken.error === undefined) expect(decodeToken(getToken.value!).expiresAt.getTime()).toBeGreaterThan(L);

  // --- an odd serverTime did not stretch the token's life: one second past exp (on this clock, plus the worst
  // plausible skew of 5 minutes, which an earlier answer may have taught and an ignored serverTime leaves as is) it
  // is expired
  clock.jump(expiresAt - clock.now() + 5 * MIN + SEC);
  expect(manager.isExpired, `valid past exp with serverTime ${scenario.recovery.serverTime}`).toBe(true);

  manager.dispose();
  await flush();
  expect(clock.pending).toBe(0);
  expect(around.env.lockState().held).toEqual([]);
  expect(around.env.channels.slice(channelsBefore).filter((channel) => !channel.closed), 'channel left open').toEqual([]);
  await around.unhandled.settle();
  expect(around.unhandled.reasons).toEqual([]);
}

describe('fetchToken answering with hostile values', () => {
  it('errors are known and token-free, refresh() settles on schedule, and recovers with a valid token', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), {
      numRuns: 150,
      examples: [
        // Each hostile rejection the issue names, then recovery with an epoch serverTime.
        [
          {
            startAgo: 5,
            answers: [
              { k: 'reject', spec: { k: 'throwingGetters', keys: ['status', 'response', 'code', 'cause', 'fatal', 'message'], base: {} } },
              { k: 'reject', spec: { k: 'revoked' } },
              { k: 'reject', spec: { k: 'lookalike', code: undefined, message: false } },
              { k: 'return', spec: { k: 'thenThrows' }, withToken: false },
              { k: 'return', spec: { k: 'thenNever' }, withToken: false },
              { k: 'reject', spec: { k: 'trapsThrow' } },
            ],
            recovery: { serverTime: 'null', wrap: 'object' },
            seed: 1,
            crossTab: false,
          },
        ],
        [{ startAgo: undefined, answers: [], recovery: { serverTime: '0', wrap: 'object' }, seed: 2, crossTab: false }],
        // Through the lock: a refused identity ends one refresh, the next one's retry waits for the lock's hand-over.
        [
          {
            startAgo: undefined,
            answers: [
              { k: 'token', kind: 'other', serverTime: 'absent', wrap: 'string' },
              { k: 'reject', spec: { k: 'plain', value: 0 } },
            ],
            recovery: { serverTime: 'absent', wrap: 'string' },
            seed: 0,
            crossTab: true,
          },
        ],
        [{ startAgo: 50, answers: [{ k: 'reject', spec: { k: 'lookalike', code: 'FETCH_UNAUTHORIZED', message: false } }], recovery: { serverTime: 'true', wrap: 'object' }, seed: 3, crossTab: true }],
      ],
    });
  });
});
