// handleClientError against anything an SDK (or a hostile page) might hand it, and the client-error guard against
// any sequence of reports:
// - it never throws and always returns a boolean, with or without a fetcher, whatever state the manager is in;
// - for plain error objects its answer follows the rule: a refreshable Twilio code anywhere in the cause chain, or
//   an HTTP 401 with no known Twilio token code beside it; isTwilioTokenError is the first half of that rule;
// - with an endpoint that always answers with a fresh token, a client-caused fetch follows the previous one
//   within 60 s, or while the same token is held, only after a CLIENT_TOKEN_REJECTED whose retryInMs has elapsed
//   (and that is within the backoff schedule's cap for its attempt).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessManager, type AccessManagerError, type FetchContext } from '../../src/index.js';
import { backoffCap } from '../../src/retry.js';
import { TWILIO_TOKEN_ERROR_CODES, isTwilioTokenError } from '../../src/twilio/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { build, hostileSpec, seeded, watchUnhandled } from './hostile.js';

const RETRY = { minDelayMs: 500, maxDelayMs: 8 * SEC, factor: 2 };
const WINDOW_MS = 60 * SEC;

const REFRESHABLE = [20101, 20104, 31204, 31205, 51207];

let unhandled: ReturnType<typeof watchUnhandled>;
beforeAll(() => {
  unhandled = watchUnhandled();
});
afterAll(() => unhandled.stop());

// --- the rule, for plain data errors

interface PlainError {
  code?: number;
  twilioCode?: number;
  errorCode?: number;
  status?: number;
  statusCode?: number;
  httpStatusCode?: number;
  response?: { status?: number };
  cause?: PlainError;
  originalError?: PlainError;
}

const codeArb = fc.constantFrom(20101, 20102, 20104, 20105, 20107, 20151, 20157, 31204, 31205, 31207, 51207, 12345, 401, 0);
const statusArb = fc.constantFrom(401, 403, 410, 500, 200);
const plainError: fc.Arbitrary<PlainError> = fc.letrec<{ e: PlainError }>((tie) => ({
  e: fc.record(
    {
      code: codeArb,
      twilioCode: codeArb,
      errorCode: codeArb,
      status: statusArb,
      statusCode: statusArb,
      httpStatusCode: statusArb,
      response: fc.record({ status: statusArb }, { requiredKeys: [] }),
      cause: fc.option(tie('e'), { depthSize: 'small', nil: undefined }),
      originalError: fc.option(tie('e'), { depthSize: 'small', nil: undefined }),
    },
    { requiredKeys: [] },
  ),
})).e;

/** The nodes of the cause/originalError graph, breadth-first. */
function nodes(error: PlainError): PlainError[] {
  const out: PlainError[] = [];
  const queue: Array<PlainError | undefined> = [error];
  while (queue.length > 0) {
    const node = queue.shift();
    if (!node) continue;
    out.push(node);
    queue.push(node.cause, node.originalError);
  }
  return out;
}

const codesOf = (node: PlainError) => [node.code, node.twilioCode, node.errorCode].filter((c): c is number => c !== undefined);
const statusesOf = (node: PlainError) => [node.response?.status, node.status, node.statusCode, node.httpStatusCode].filter((s) => s !== undefined);

function expectedAnswer(error: PlainError): { twilio: boolean; handled: boolean } | undefined {
  const all = nodes(error);
  // The library walks a bounded number of nodes (a cycle or a huge chain must not hang it): judge small ones only.
  if (all.length > 12) return undefined;
  const twilio = all.some((node) => codesOf(node).some((code) => REFRESHABLE.includes(code)));
  const known = all.some((node) => codesOf(node).some((code) => TWILIO_TOKEN_ERROR_CODES.has(code)));
  // The first status found per node: `response.status`, then `status`, `statusCode`, `httpStatusCode`.
  const unauthorized = all.some((node) => statusesOf(node)[0] === 401);
  return { twilio, handled: twilio || (unauthorized && !known) };
}

describe('handleClientError against anything', () => {
  it('never throws, answers a boolean, and follows the rule for plain errors', async () => {
    const clock = Object.assign(new ManualClock(L), { random: seeded(7) });
    const token = mintToken({ at: L });
    const withFetcher = new AccessManager({ token, clock, fetchToken: async () => mintToken({ at: clock.now(), ttl: 7200 }) });
    const without = new AccessManager({ token, clock });
    const errors: AccessManagerError[] = [];
    withFetcher.on('error', (error) => errors.push(error));
    fc.assert(
      fc.property(fc.oneof(hostileSpec.map((spec) => ({ spec })), plainError.map((plain) => ({ plain }))), (input) => {
        const value = 'spec' in input ? build(input.spec) : input.plain;
        const answers = [withFetcher, without].map((manager) => manager.handleClientError(value, 'fuzz'));
        for (const answer of answers) expect(typeof answer).toBe('boolean');
        expect(answers[0]).toBe(answers[1]);
        let twilio: unknown;
        expect(() => (twilio = isTwilioTokenError(value))).not.toThrow();
        expect(typeof twilio).toBe('boolean');
        if ('plain' in input) {
          const expected = expectedAnswer(input.plain);
          if (expected) {
            expect(answers[0], 'handleClientError').toBe(expected.handled);
            expect(twilio, 'isTwilioTokenError').toBe(expected.twilio);
          }
        }
      }),
      { numRuns: 800 },
    );
    await clock.advance(10 * MIN);
    for (const error of errors) expect(['CLIENT_TOKEN_REJECTED', 'FETCH_FAILED']).toContain(error.code);
    withFetcher.dispose();
    without.dispose();
    await unhandled.settle();
    expect(unhandled.reasons).toEqual([]);
  });
});

// --- the guard

type Report = 'refreshable' | 'http401' | 'final' | 'hostile';
type Command =
  | { c: 'report'; what: Report; times: number }
  | { c: 'advance'; ms: number }
  | { c: 'refresh' }
  | { c: 'manual' }
  | { c: 'rejectingClient'; how: 'sync' | 'microtask' | 'later' | 'off' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      c: fc.constant('report' as const),
      what: fc.constantFrom<Report>('refreshable', 'refreshable', 'http401', 'final', 'hostile'),
      times: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ c: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3 * SEC }), fc.integer({ min: 0, max: 90 * SEC })) }) },
  { weight: 1, arbitrary: fc.constant({ c: 'refresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ c: 'manual' as const }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('rejectingClient' as const), how: fc.constantFrom('sync' as const, 'microtask' as const, 'later' as const, 'off' as const) }) },
);

const REPORTS: Record<Report, () => unknown> = {
  refreshable: () => ({ code: 20104, message: 'Access token expired' }),
  http401: () => ({ response: { status: 401 } }),
  final: () => ({ httpStatusCode: 401, errorCode: 20107 }),
  hostile: () =>
    Object.defineProperty({ code: 20104 }, 'cause', {
      get: () => {
        throw new Error('cause getter');
      },
    }),
};

async function guardRun(scenario: { delay: number; seed: number; commands: Command[] }): Promise<void> {
  const clock = Object.assign(new ManualClock(L), { random: seeded(scenario.seed) });
  let ttl = 3600;
  const fresh = () => mintToken({ at: clock.now(), ttl: ttl++ });
  // Reports, fetches and adoptions in one order, for the liveness check.
  let seq = 0;
  const reports: Array<{ seq: number; at: number }> = [];
  const answered: Array<{ seq: number; at: number }> = [];
  const fetches: Array<{ at: number; reason: string; attempt: number; held: string | undefined }> = [];
  const fetchToken = (ctx: FetchContext) => {
    fetches.push({ at: clock.now(), reason: ctx.reason, attempt: ctx.attempt, held: manager.token });
    answered.push({ seq: seq++, at: clock.now() });
    return new Promise<string>((resolve, reject) => {
      if (scenario.delay === 0) return resolve(fresh());
      const handle = clock.setTimeout(() => resolve(fresh()), scenario.delay);
      ctx.signal.addEventListener('abort', () => {
        clock.clearTimeout(handle);
        reject(ctx.signal.reason);
      });
    });
  };
  const manager = new AccessManager({ token: fresh(), fetchToken, clock, retry: RETRY });
  manager.on('tokenUpdated', () => answered.push({ seq: seq++, at: clock.now() }));
  const rejections: Array<{ at: number; error: AccessManagerError }> = [];
  const violations: string[] = [];
  manager.on('error', (error) => {
    if (error.code === 'CLIENT_TOKEN_REJECTED') rejections.push({ at: clock.now(), error });
    else violations.push(`unexpected ${error.code}`);
  });

  // A client that rejects every token it is given, the way an SDK reports a 20104 on a token it cannot use.
  let rejecting: 'sync' | 'microtask' | 'later' | 'off' = 'off';
  const ours = new Set<unknown>();
  const report = () => {
    reports.push({ seq: seq++, at: clock.now() });
    const answer = manager.handleClientError({ httpStatusCode: 401, errorCode: 20104 }, 'chat');
    if (answer !== true) violations.push(`client report answered ${String(answer)}`);
  };
  manager.addClient(
    {
      updateToken: () => {
        if (rejecting === 'sync') report();
        else if (rejecting === 'microtask') queueMicrotask(report);
        else if (rejecting === 'later') {
          const handle = clock.setTimeout(() => {
            ours.delete(handle);
            report();
          }, 700);
          ours.add(handle);
        }
      },
    },
    { name: 'chat' },
  );

  for (const command of scenario.commands) {
    switch (command.c) {
      case 'report':
        for (let i = 0; i < command.times; i++) {
          if (command.what !== 'final') reports.push({ seq: seq++, at: clock.now() });
          const answer = manager.handleClientError(REPORTS[command.what](), 'fuzz');
          expect(typeof answer).toBe('boolean');
          expect(answer).toBe(command.what !== 'final');
        }
        break;
      case 'advance':
        await clock.advance(command.ms);
        break;
      case 'refresh':
        manager.refresh().catch(() => {});
        break;
      case 'manual':
        manager.updateToken(fresh()).catch(() => {});
        break;
      case 'rejectingClient':
        rejecting = command.how;
        break;
    }
    await flush();
  }
  await clock.advance(2 * MIN);
  expect(violations).toEqual([]);

  // Client-caused first attempts, in order; each must wait for its reported backoff when it follows closely.
  const caused = fetches.filter((fetch) => fetch.reason === 'clientError' && fetch.attempt === 1);
  for (let i = 1; i < caused.length; i++) {
    const previous = caused[i - 1]!;
    const current = caused[i]!;
    if (current.at - previous.at >= WINDOW_MS && current.held !== previous.held) continue;
    const waited = rejections.find(({ at, error }) => at >= previous.at && at + error.retryInMs! <= current.at);
    expect(
      waited,
      `client-caused fetch at +${current.at - L} ms, ${current.at - previous.at} ms after the previous one, without a CLIENT_TOKEN_REJECTED backoff`,
    ).toBeDefined();
  }
  // Liveness: a token error is never dropped. After each report a fetch starts, or a token is adopted, within the
  // largest backoff step (plus the endpoint's answer time).
  for (const report of reports) {
    if (report.at + RETRY.maxDelayMs + scenario.delay > clock.now()) continue; // too close to the end to judge
    const followUp = answered.find(({ seq: s }) => s > report.seq);
    expect(
      followUp !== undefined && followUp.at - report.at <= RETRY.maxDelayMs + scenario.delay,
      `a client report at +${report.at - L} ms was followed by no fetch and no new token (next at ${followUp ? `+${followUp.at - L} ms` : 'never'})`,
    ).toBe(true);
  }
  for (const { error } of rejections) {
    expect(error.clientName).toBeDefined();
    expect(error.retryInMs).toBeGreaterThanOrEqual(0);
    expect(error.retryInMs).toBeLessThanOrEqual(backoffCap(RETRY, error.attempt!));
  }

  for (const handle of ours) clock.clearTimeout(handle);
  manager.dispose();
  await flush();
  expect(clock.pending).toBe(0);
  await unhandled.settle();
  expect(unhandled.reasons).toEqual([]);
}

describe('the client-error guard under any sequence of reports', () => {
  it('a client-caused fetch that follows another closely waits for a reported backoff', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          delay: fc.constantFrom(0, 0, 50, 400),
          seed: fc.integer(),
          commands: fc.array(commandArb, { minLength: 1, maxLength: 20 }),
        }),
        guardRun,
      ),
      {
        numRuns: 120,
        examples: [
          [
            {
              delay: 0,
              seed: 1,
              commands: [
                { c: 'rejectingClient', how: 'sync' },
                { c: 'report', what: 'refreshable', times: 1 },
                { c: 'advance', ms: 30 * SEC },
              ],
            },
          ],
          [
            {
              delay: 400,
              seed: 2,
              commands: [
                { c: 'rejectingClient', how: 'later' },
                { c: 'report', what: 'http401', times: 3 },
                { c: 'manual' },
                { c: 'advance', ms: 65 * SEC },
                { c: 'report', what: 'refreshable', times: 1 },
                { c: 'advance', ms: 20 * SEC },
              ],
            },
          ],
        ],
      },
    );
  });
});
