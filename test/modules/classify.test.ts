// @vitest-environment node
// classifyFailure alone: every shape a fetcher may fail with, hostile ones included, mapped to the exact error
// the manager reports. The jitter is pinned (random 0.5), so every delay is exact.
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, Refusal, classifyFailure, quote } from '../../src/classify.js';
import { AccessManagerError } from '../../src/errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/retry.js';

const half = () => 0.5;
const UNAUTHORIZED = (why: string, attempt = 1) =>
  `Token endpoint refused (${why}): no retry until refresh() or updateToken(). (attempt ${attempt})`;
/** The expected `cause` is the reason itself. */
const SAME = Symbol('the reason');
/** No `cause` at all (not even `cause: undefined`). */
const NONE = Symbol('no cause');

interface Expected {
  code: AccessManagerError['code'];
  message: string;
  retryInMs: number | undefined;
  cause?: unknown;
  twilioCode?: number;
}

function check(reason: unknown, expected: Expected, attempt = 1, retry: RetryPolicy | false = DEFAULT_RETRY) {
  const error = classifyFailure(reason, attempt, retry, half);
  expect(error).toBeInstanceOf(AccessManagerError);
  expect(error.name).toBe('AccessManagerError');
  expect({ code: error.code, message: error.message, retryInMs: error.retryInMs, attempt: error.attempt }).toEqual({
    code: expected.code,
    message: expected.message,
    retryInMs: expected.retryInMs,
    attempt,
  });
  expect(error.twilioCode).toBe(expected.twilioCode);
  const cause = expected.cause === SAME ? reason : expected.cause;
  if (cause === NONE) expect('cause' in error).toBe(false);
  else expect(error.cause).toBe(cause);
  return error;
}

function throwingGetters(target: object, ...keys: string[]): object {
  for (const key of keys) {
    Object.defineProperty(target, key, {
      get(): never {
        throw new Error(`getter ${key}`);
      },
    });
  }
  return target;
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const trapsThrow = new Proxy(
  {},
  {
    get() {
      throw new Error('get trap');
    },
    getPrototypeOf() {
      throw new Error('getPrototypeOf trap');
    },
    has() {
      throw new Error('has trap');
    },
  },
);

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

describe('classifyFailure: what a fetcher threw', () => {
  const rows: Array<[string, unknown, Expected]> = [
    ['an Error', new Error('network down'), { code: 'FETCH_FAILED', message: 'Token fetch failed: network down. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['a string', 'boom', { code: 'FETCH_FAILED', message: 'Token fetch failed: boom. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['undefined', undefined, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected with undefined. (attempt 1)', retryInMs: 500, cause: NONE }],
    ['null', null, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected with null. (attempt 1)', retryInMs: 500, cause: null }],
    ['a number', 42, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: 42 }],
    ['an empty object', {}, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['an Error without message', new Error(''), { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['a blank message', { message: ' \n\t ' }, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['a non-string message', { message: { text: 'x' } }, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['a message with a token in it', new Error(`bad token ${JWT} here`), { code: 'FETCH_FAILED', message: 'Token fetch failed: bad token [redacted] here. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['a function', () => {}, { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME }],
  ];
  it.each(rows)('%s', (_label, reason, expected) => {
    check(reason, expected);
  });
});

// Most Error messages end with a period (DOMException "The operation was aborted.", AccessManagerError's own):
// quoted, it is not followed by a second one.
it('classifyFailure: a message ending in a period is not followed by a second one', () => {
  const error = classifyFailure(new Error('The operation was aborted.'), 1, DEFAULT_RETRY, half);
  expect(error.message).toBe('Token fetch failed: The operation was aborted. (attempt 1)');
});

it('classifyFailure: only the final periods of a message go, all of them, and no period inside it', () => {
  expect(classifyFailure(new Error('Server v1.2 is down...'), 1, DEFAULT_RETRY, half).message).toBe(
    'Token fetch failed: Server v1.2 is down. (attempt 1)',
  );
});

describe('classifyFailure: HTTP status and fatal', () => {
  const rows: Array<[string, unknown, Expected]> = [
    ['status 500', { status: 500, message: 'ignored' }, { code: 'FETCH_FAILED', message: 'Token fetch failed: HTTP 500. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['response.status 503 (ky HTTPError)', { response: { status: 503 } }, { code: 'FETCH_FAILED', message: 'Token fetch failed: HTTP 503. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['status "502" as a string', { status: '502' }, { code: 'FETCH_FAILED', message: 'Token fetch failed: HTTP 502. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['statusCode 504', { statusCode: 504 }, { code: 'FETCH_FAILED', message: 'Token fetch failed: HTTP 504. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['status 429', { status: 429 }, { code: 'FETCH_FAILED', message: 'Token fetch failed: HTTP 429. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['status 401', { status: 401, message: `Unauthorized ${JWT}` }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('HTTP 401'), retryInMs: undefined, cause: SAME }],
    ['response.status 403', { response: { status: 403 } }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('HTTP 403'), retryInMs: undefined, cause: SAME }],
    ['httpStatusCode 401', { httpStatusCode: 401 }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('HTTP 401'), retryInMs: undefined, cause: SAME }],
    ['fatal: true', { fatal: true, message: 'session over' }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('session over'), retryInMs: undefined, cause: SAME }],
    ['fatal: true without message', { fatal: true }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('fetchToken rejected without a message'), retryInMs: undefined, cause: SAME }],
    ['fatal: "yes" is not fatal', { fatal: 'yes', message: 'x' }, { code: 'FETCH_FAILED', message: 'Token fetch failed: x. (attempt 1)', retryInMs: 500, cause: SAME }],
    ['fatal: true with status 500', { fatal: true, status: 500 }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('HTTP 500'), retryInMs: undefined, cause: SAME }],
  ];
  it.each(rows)('%s', (_label, reason, expected) => {
    check(reason, expected);
  });
});

describe('classifyFailure: hostile reasons', () => {
  const rows: Array<[string, unknown, Expected]> = [
    [
      'getters for message, status, response, fatal and name throw',
      throwingGetters(new Error('x'), 'message', 'status', 'response', 'fatal', 'name', 'retryAfterMs', 'cause'),
      { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
    [
      'a revoked proxy',
      revoked(),
      { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
    [
      'a proxy whose every trap throws',
      trapsThrow,
      { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
    [
      'a code readable beside throwing getters',
      throwingGetters({ code: 20104 }, 'message', 'status'),
      { code: 'FETCH_FAILED', message: 'Token fetch failed: fetchToken rejected without a message. (attempt 1)', retryInMs: 500, cause: SAME, twilioCode: 20104 },
    ],
    [
      "name 'AccessManagerError' with a throwing code getter",
      throwingGetters({ name: 'AccessManagerError', message: 'odd' }, 'code'),
      { code: 'FETCH_FAILED', message: 'Token fetch failed: odd. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
  ];
  it.each(rows)('%s', (_label, reason, expected) => {
    check(reason, expected);
  });
});

describe('classifyFailure: AccessManagerErrors and lookalikes from the fetcher', () => {
  const inner = { status: 200 };
  const twilioCause = { errorCode: '20101' };
  const rows: Array<[string, unknown, Expected]> = [
    [
      'lookalike TOKEN_MALFORMED keeps its verdict, message and cause',
      { name: 'AccessManagerError', code: 'TOKEN_MALFORMED', message: 'Token endpoint answered with HTML', cause: inner },
      { code: 'TOKEN_MALFORMED', message: 'Token endpoint answered with HTML (attempt 1)', retryInMs: 500, cause: inner },
    ],
    [
      'lookalike TOKEN_EXPIRED without a message',
      { name: 'AccessManagerError', code: 'TOKEN_EXPIRED', message: '' },
      { code: 'TOKEN_EXPIRED', message: 'Fetched token refused (TOKEN_EXPIRED). (attempt 1)', retryInMs: 500, cause: NONE },
    ],
    [
      'lookalike TOKEN_MALFORMED whose message is not a string',
      { name: 'AccessManagerError', code: 'TOKEN_MALFORMED', message: 42 },
      { code: 'TOKEN_MALFORMED', message: 'Fetched token refused (TOKEN_MALFORMED). (attempt 1)', retryInMs: 500, cause: NONE },
    ],
    [
      'lookalike TOKEN_EXPIRED without any message',
      { name: 'AccessManagerError', code: 'TOKEN_EXPIRED' },
      { code: 'TOKEN_EXPIRED', message: 'Fetched token refused (TOKEN_EXPIRED). (attempt 1)', retryInMs: 500, cause: NONE },
    ],
    [
      'lookalike IDENTITY_MISMATCH is final',
      { name: 'AccessManagerError', code: 'IDENTITY_MISMATCH', message: 'wrong user' },
      { code: 'IDENTITY_MISMATCH', message: 'wrong user (attempt 1)', retryInMs: undefined, cause: NONE },
    ],
    [
      'real AccessManagerError FETCH_TIMEOUT with a Twilio code in its cause',
      new AccessManagerError('FETCH_TIMEOUT', 'gave up waiting', { cause: twilioCause }),
      { code: 'FETCH_TIMEOUT', message: 'gave up waiting (attempt 1)', retryInMs: 500, cause: twilioCause, twilioCode: 20101 },
    ],
    [
      'a kept verdict has any token in its message redacted',
      { name: 'AccessManagerError', code: 'TOKEN_MALFORMED', message: `body was ${JWT}` },
      { code: 'TOKEN_MALFORMED', message: 'body was [redacted] (attempt 1)', retryInMs: 500, cause: NONE },
    ],
    [
      'lookalike FETCH_UNAUTHORIZED is fatal, the reason is the cause',
      { name: 'AccessManagerError', code: 'FETCH_UNAUTHORIZED', message: 'session over' },
      { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('session over'), retryInMs: undefined, cause: SAME },
    ],
    [
      'lookalike FETCH_FAILED is just a failure',
      { name: 'AccessManagerError', code: 'FETCH_FAILED', message: 'inner failure' },
      { code: 'FETCH_FAILED', message: 'Token fetch failed: inner failure. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
    [
      'DISPOSED (another manager, used inside the fetcher) is a failure',
      { name: 'AccessManagerError', code: 'DISPOSED', message: 'other manager disposed' },
      { code: 'FETCH_FAILED', message: 'Token fetch failed: other manager disposed. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
    [
      'the same code under another name is no verdict',
      { name: 'Error', code: 'TOKEN_MALFORMED', message: 'x' },
      { code: 'FETCH_FAILED', message: 'Token fetch failed: x. (attempt 1)', retryInMs: 500, cause: SAME },
    ],
  ];
  it.each(rows)('%s', (_label, reason, expected) => {
    check(reason, expected);
  });
});

describe('classifyFailure: Refusals (what the manager itself found)', () => {
  const rows: Array<[Refusal['code'], number | undefined]> = [
    ['TOKEN_MALFORMED', 500],
    ['TOKEN_EXPIRED', 500],
    ['TOKEN_STALE', 500],
    ['FETCH_TIMEOUT', 500],
    ['IDENTITY_MISMATCH', undefined],
  ];
  it.each(rows)('%s: its message verbatim, no cause, retryInMs %s', (code, retryInMs) => {
    // Verbatim: a Refusal's message is the manager's own, so it is neither quoted nor shortened.
    const long = `Fetched value refused ${'x '.repeat(100)}end.`;
    check(new Refusal(code, long), { code, message: `${long} (attempt 1)`, retryInMs, cause: NONE });
  });
});

describe('classifyFailure: Twilio codes', () => {
  const rows: Array<[string, unknown, number | undefined]> = [
    ['code beside a status', { status: 500, code: 20104 }, 20104],
    ['errorCode string in the cause', new Error('x', { cause: { errorCode: '20003' } }), 20003],
    ['originalError', { message: 'x', originalError: { twilioCode: 31205 } }, 31205],
    ['a Node error code', { code: 'ECONNRESET' }, undefined],
    ['below 10000', { code: 500 }, undefined],
    ['9999, just below', { code: 9999 }, undefined],
    ['10000, the lowest five-digit code', { code: 10_000 }, 10_000],
    ['99999, the highest', { code: 99_999 }, 99_999],
    ['100000 and above', { code: 100_000 }, undefined],
  ];
  it.each(rows)('%s', (_label, reason, twilioCode) => {
    expect(classifyFailure(reason, 1, DEFAULT_RETRY, half).twilioCode).toBe(twilioCode);
  });
});

describe('classifyFailure: retry decision and delay', () => {
  const rows: Array<[string, unknown, number | undefined]> = [
    ['5000 waits 5000', 5000, 5000],
    ['200 (below the jitter) waits the jitter, 500', 200, 500],
    ['0 is ignored', 0, 500],
    ['negative is ignored', -5, 500],
    ['NaN is ignored', Number.NaN, 500],
    ['Infinity is capped at 10 minutes', Number.POSITIVE_INFINITY, 600_000],
    ['1e12 is capped at 10 minutes', 1e12, 600_000],
    ['600001 is capped at 10 minutes', 600_001, 600_000],
    ['a string is ignored', '5000', 500],
    ['absent: the jitter', undefined, 500],
  ];
  it.each(rows)('retryAfterMs %s', (_label, retryAfterMs, retryInMs) => {
    check({ message: 'busy', retryAfterMs }, { code: 'FETCH_FAILED', message: 'Token fetch failed: busy. (attempt 1)', retryInMs, cause: SAME });
  });

  it('MAX_RETRY_AFTER_MS is 10 minutes', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(600_000);
  });

  it('retryAfterMs below the grown jitter does not shorten it (attempt 6: 15000)', () => {
    check({ message: 'busy', retryAfterMs: 10_000 }, { code: 'FETCH_FAILED', message: 'Token fetch failed: busy. (attempt 6)', retryInMs: 15_000, cause: SAME }, 6);
  });

  it('a 401 with retryAfterMs is still final', () => {
    check({ status: 401, retryAfterMs: 5000 }, { code: 'FETCH_UNAUTHORIZED', message: UNAUTHORIZED('HTTP 401'), retryInMs: undefined, cause: SAME });
  });

  it('retry: false gives up on anything, and never draws a random number', () => {
    let draws = 0;
    const error = classifyFailure({ message: 'busy', retryAfterMs: 5000 }, 3, false, () => ++draws);
    expect([error.code, error.message, error.retryInMs, error.attempt, draws]).toEqual([
      'FETCH_FAILED',
      'Token fetch failed: busy. (attempt 3)',
      undefined,
      3,
      0,
    ]);
  });

  it.each([
    [1, 150],
    [2, 450],
    [3, 1000],
    [9, 1000],
  ])('policy { min 300, max 2000, factor 3 }, attempt %i: random 0.5 of the cap = %i', (attempt, retryInMs) => {
    const policy = { minDelayMs: 300, maxDelayMs: 2000, factor: 3 };
    check(new Error('x'), { code: 'FETCH_FAILED', message: `Token fetch failed: x. (attempt ${attempt})`, retryInMs, cause: SAME }, attempt, policy);
  });

  it('the jitter is the random draw times the cap, rounded', () => {
    expect(classifyFailure(new Error('x'), 1, DEFAULT_RETRY, () => 0).retryInMs).toBe(0);
    expect(classifyFailure(new Error('x'), 1, DEFAULT_RETRY, () => 0.9996).retryInMs).toBe(1000);
    expect(classifyFailure(new Error('x'), 2, DEFAULT_RETRY, () => 0.1234).retryInMs).toBe(247);
  });
});

describe('quote', () => {
  it.each([
    ['collapses whitespace', '  a \n\t b  ', 'a b'],
    ['redacts a JWT', `token ${JWT} rejected`, 'token [redacted] rejected'],
    ['redacts a JWT header alone', 'starts eyJhbGciOiJIUzI1NiJ9 here', 'starts [redacted] here'],
    ['redacts three dotted segments', 'got abcdefgh.ijklmnop.qrs', 'got [redacted]'],
    ['redacts a long opaque secret', `key ${'a1'.repeat(16)} used`, 'key [redacted] used'],
    ['keeps a short word', 'Service Unavailable', 'Service Unavailable'],
    ['keeps exactly 160 characters', 'x'.repeat(10).padEnd(160, ' y').slice(0, 160), 'x'.repeat(10).padEnd(160, ' y').slice(0, 160)],
    ['cuts longer text to 157 and an ellipsis', 'a '.repeat(100), `${'a '.repeat(78)}a...`],
  ])('%s', (_label, text, expected) => {
    expect(quote(text)).toBe(expected);
  });
});
