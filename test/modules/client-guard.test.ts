// @vitest-environment node
// The guard on client-caused refreshes, alone: judge/started/hold/due/cancel on plain numbers and token strings,
// with the jitter pinned (random 0.5), so each backoff is exactly half its cap.
import { describe, expect, it } from 'vitest';
import { CLIENT_REJECT_WINDOW_MS, createClientGuard, rejectedAgain } from '../../src/client-guard.js';
import { AccessManagerError } from '../../src/errors.js';
import { DEFAULT_RETRY } from '../../src/retry.js';

const T = 1_000_000;
const guard = () => createClientGuard(DEFAULT_RETRY, () => 0.5);

describe('createClientGuard: judge', () => {
  it('the window is one minute', () => {
    expect(CLIENT_REJECT_WINDOW_MS).toBe(60_000);
  });

  it('the first report for a held token refreshes at once', () => {
    const g = guard();
    expect(g.judge(T, 'A')).toBeUndefined();
    expect(g.judge(T, undefined)).toBeUndefined();
  });

  it('judging alone spends nothing: only started() does', () => {
    const g = guard();
    g.judge(T, 'A');
    expect(g.judge(T + 1, 'A')).toBeUndefined();
  });

  it('a report within the minute after a client-caused refresh waits: half the first cap', () => {
    const g = guard();
    g.started(T, 'A');
    expect(g.judge(T + 59_999, 'B')).toEqual({ retryInMs: 500, streak: 1 });
  });

  it('a report a full minute later about a new token refreshes at once, and resets the streak', () => {
    const g = guard();
    g.started(T, 'A');
    expect(g.judge(T + 1000, 'B')).toEqual({ retryInMs: 500, streak: 1 });
    expect(g.judge(T + 60_000, 'B')).toBeUndefined();
    g.started(T + 60_000, 'B');
    expect(g.judge(T + 60_001, 'C')).toEqual({ retryInMs: 500, streak: 1 });
  });

  it('a report about the token already refreshed for waits, however late', () => {
    const g = guard();
    g.started(T, 'A');
    expect(g.judge(T + 3_600_000, 'A')).toEqual({ retryInMs: 500, streak: 1 });
  });

  it('holding no token is a held state too: one refresh for it, then the backoff, however late', () => {
    const g = guard();
    expect(g.judge(T, undefined)).toBeUndefined();
    g.started(T, undefined);
    expect(g.judge(T + 1, undefined)).toEqual({ retryInMs: 500, streak: 1 });
    expect(g.judge(T + 3_600_000, undefined)).toEqual({ retryInMs: 1000, streak: 2 });
    // A token arriving ends it: a report about that token, a minute on, refreshes at once.
    expect(g.judge(T + 3_660_000, 'A')).toBeUndefined();
  });

  it('the backoff grows with the streak: 0.5, 1, 2, 4, 8, 15, 15 s', () => {
    const g = guard();
    g.started(T, 'A');
    const waits = Array.from({ length: 7 }, (_, i) => g.judge(T + i, 'B'));
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000].map((retryInMs, i) => ({ retryInMs, streak: i + 1 })));
  });

  it('uses the random draw for the jitter', () => {
    const g = createClientGuard(DEFAULT_RETRY, () => 0.1);
    g.started(T, 'A');
    expect(g.judge(T, 'A')).toEqual({ retryInMs: 100, streak: 1 });
  });
});

describe('createClientGuard: hold, due, cancel', () => {
  it('nothing is held at first', () => {
    const g = guard();
    expect(g.holding).toBe(false);
    expect(g.nextDeadline()).toBeUndefined();
    expect(g.due(Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it('hold(at) reports its deadline and is released once, at or after it, with its reason', () => {
    const g = guard();
    g.hold(T + 500, 'A', 'client');
    expect(g.holding).toBe(true);
    expect(g.nextDeadline()).toBe(T + 500);
    expect(g.due(T + 499)).toBeUndefined();
    expect(g.holding).toBe(true);
    expect(g.due(T + 500)).toBe('client');
    expect(g.holding).toBe(false);
    expect(g.nextDeadline()).toBeUndefined();
    expect(g.due(T + 500)).toBeUndefined();
  });

  it("keeps the held reason ('clientError')", () => {
    const g = guard();
    g.hold(T, 'A', 'clientError');
    expect(g.due(T + 10_000)).toBe('clientError');
  });

  it('hold() spends the token: a later report about it waits', () => {
    const g = guard();
    g.hold(T + 500, 'A', 'clientError');
    g.due(T + 500);
    expect(g.judge(T + 3_600_000, 'A')).toEqual({ retryInMs: 500, streak: 1 });
  });

  it('cancel() drops the held refresh but keeps what was spent and the streak', () => {
    const g = guard();
    g.started(T, 'A');
    g.judge(T + 1, 'A');
    g.hold(T + 501, 'A', 'clientError');
    g.cancel();
    expect(g.holding).toBe(false);
    expect(g.nextDeadline()).toBeUndefined();
    expect(g.due(T + 10_000)).toBeUndefined();
    expect(g.judge(T + 3_600_000, 'A')).toEqual({ retryInMs: 1000, streak: 2 });
  });
});

describe('rejectedAgain: the CLIENT_TOKEN_REJECTED report', () => {
  const wait = { retryInMs: 250, streak: 3 };

  it('names the client, keeps the cause, the streak as attempt, the wait and the refreshable code', () => {
    const cause = { code: 20104 };
    const error = rejectedAgain(cause, 'chat', wait);
    expect(error).toBeInstanceOf(AccessManagerError);
    expect(error.code).toBe('CLIENT_TOKEN_REJECTED');
    expect(error.message).toBe('Client "chat" rejected a fresh token again; next refresh in 250 ms.');
    expect(error.cause).toBe(cause);
    expect(error.clientName).toBe('chat');
    expect(error.attempt).toBe(3);
    expect(error.retryInMs).toBe(250);
    expect(error.twilioCode).toBe(20104);
  });

  it('without a name: "A client"', () => {
    const error = rejectedAgain(new Error('x'), undefined, wait);
    expect(error.message).toBe('A client rejected a fresh token again; next refresh in 250 ms.');
    expect(error.clientName).toBeUndefined();
    expect(error.twilioCode).toBeUndefined();
  });

  it('a refreshable code anywhere in the chain wins over a known non-refreshable one before it', () => {
    expect(rejectedAgain({ code: 20157, cause: { code: 20104 } }, 'a', wait).twilioCode).toBe(20104);
  });

  it('else the first known token code (20157, exp too far ahead), not any other code', () => {
    expect(rejectedAgain({ code: 20157 }, 'a', wait).twilioCode).toBe(20157);
    expect(rejectedAgain({ code: 31005 }, 'a', wait).twilioCode).toBeUndefined();
  });
});
