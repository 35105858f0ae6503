// @vitest-environment node
// RefreshCycle alone: a scripted host decides when each attempt's fetch finishes, and the test calls tick() with
// the time it wants, the way the manager's single timer would.
import { describe, expect, it } from 'vitest';
import { Refusal } from '../../src/classify.js';
import { AccessManagerError } from '../../src/errors.js';
import { type CycleHost, type CyclePhase, RefreshCycle } from '../../src/refresh-cycle.js';
import { DEFAULT_RETRY } from '../../src/retry.js';
import { ManualClock, flush } from '../helpers/clock.mjs';

interface Attempt {
  attempt: number;
  signal: AbortSignal;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

interface Change {
  phase: CyclePhase;
  error: AccessManagerError | undefined;
}

function setup(overrides: Partial<CycleHost> = {}) {
  const clock = new ManualClock();
  const attempts: Attempt[] = [];
  const changes: Change[] = [];
  const state = { held: 'token-1' };
  const host: CycleHost = {
    clock,
    fetchTimeoutMs: 10_000,
    retry: DEFAULT_RETRY,
    random: () => 0.5,
    run: (_cycle, attempt, signal) =>
      new Promise<void>((resolve, reject) => attempts.push({ attempt, signal, resolve, reject })),
    result: () => state.held,
    changed: (cycle, error) => changes.push({ phase: cycle.phase, error }),
    ...overrides,
  };
  const cycle = new RefreshCycle(host, 'manual', 'start-token');
  const outcome: { status: 'pending' | 'resolved' | 'rejected'; value?: unknown } = { status: 'pending' };
  cycle.promise.then(
    (value) => Object.assign(outcome, { status: 'resolved', value }),
    (value: unknown) => Object.assign(outcome, { status: 'rejected', value }),
  );
  const t0 = clock.now();
  return { clock, cycle, attempts, changes, state, outcome, t0 };
}

/** Started, fetching, and failed once with a retryable error: waiting out a 500 ms backoff (random 0.5). */
async function inBackoff() {
  const s = setup();
  s.cycle.start();
  s.cycle.fetching();
  s.attempts[0]!.reject(new Error('down'));
  await flush();
  return s;
}

function expectError(error: unknown, expected: { code: string; message: string; attempt: number; retryInMs: number | undefined }) {
  expect(error).toBeInstanceOf(AccessManagerError);
  const e = error as AccessManagerError;
  expect({ code: e.code, message: e.message, attempt: e.attempt, retryInMs: e.retryInMs }).toEqual(expected);
}

describe('RefreshCycle: before and at the start', () => {
  it('is queued, with no deadline and no attempt, until start()', () => {
    const { cycle, attempts, changes } = setup();
    expect(cycle.phase).toBe('queued');
    expect(cycle.nextDeadline()).toBeUndefined();
    expect(cycle.reason).toBe('manual');
    expect(cycle.startToken).toBe('start-token');
    expect(attempts).toHaveLength(0);
    expect(changes).toEqual([]);
  });

  it('start() runs attempt 1 synchronously, once, with a live signal', () => {
    const { cycle, attempts, changes } = setup();
    cycle.start();
    cycle.start();
    expect(attempts.map((a) => a.attempt)).toEqual([1]);
    expect(attempts[0]!.signal.aborted).toBe(false);
    expect(cycle.phase).toBe('queued');
    expect(changes).toEqual([]);
  });
});

describe('RefreshCycle: queued -> fetching -> settled', () => {
  it('fetching() starts the attempt timeout from now and notifies once', () => {
    const { clock, cycle, changes, t0 } = setup();
    cycle.start();
    clock.jump(250);
    cycle.fetching();
    expect(cycle.phase).toBe('fetching');
    expect(cycle.nextDeadline()).toBe(t0 + 250 + 10_000);
    cycle.fetching();
    expect(cycle.nextDeadline()).toBe(t0 + 250 + 10_000);
    expect(changes).toEqual([{ phase: 'fetching', error: undefined }]);
  });

  it('a finished attempt resolves with host.result() read at that moment', async () => {
    const { cycle, attempts, changes, state, outcome } = setup();
    cycle.start();
    cycle.fetching();
    state.held = 'token-2';
    attempts[0]!.resolve();
    await flush();
    expect(cycle.phase).toBe('settled');
    expect(cycle.nextDeadline()).toBeUndefined();
    expect(outcome).toEqual({ status: 'resolved', value: 'token-2' });
    expect(changes).toEqual([
      { phase: 'fetching', error: undefined },
      { phase: 'settled', error: undefined },
    ]);
  });

  it('an attempt that needed no fetch (never called fetching()) also settles', async () => {
    const { cycle, attempts, changes, outcome } = setup();
    cycle.start();
    attempts[0]!.resolve();
    await flush();
    expect(outcome).toEqual({ status: 'resolved', value: 'token-1' });
    expect(changes).toEqual([{ phase: 'settled', error: undefined }]);
  });
});

describe('RefreshCycle: failures', () => {
  it('a retryable failure moves to backoff with the deadline now + retryInMs', async () => {
    const { clock, cycle, attempts, changes, outcome, t0 } = setup();
    cycle.start();
    cycle.fetching();
    clock.jump(300);
    attempts[0]!.reject(new Error('down'));
    await flush();
    expect(cycle.phase).toBe('backoff');
    expect(cycle.nextDeadline()).toBe(t0 + 300 + 500);
    expect(outcome.status).toBe('pending');
    expect(changes).toHaveLength(2);
    expect(changes[1]!.phase).toBe('backoff');
    expectError(changes[1]!.error, { code: 'FETCH_FAILED', message: 'Token fetch failed: down. (attempt 1)', attempt: 1, retryInMs: 500 });
  });

  it("a failure's retryAfterMs sets the backoff deadline", async () => {
    const { cycle, attempts, t0 } = setup();
    cycle.start();
    attempts[0]!.reject({ message: 'busy', status: 503, retryAfterMs: 7000 });
    await flush();
    expect(cycle.nextDeadline()).toBe(t0 + 7000);
  });

  it('a run() that throws synchronously fails the attempt like a rejection', async () => {
    const { cycle, changes } = setup({
      run: () => {
        throw new Error('sync');
      },
    });
    cycle.start();
    await flush();
    expect(cycle.phase).toBe('backoff');
    expect(changes[0]!.error!.message).toBe('Token fetch failed: sync. (attempt 1)');
  });

  it('the backoff deadline starts the next attempt, not a millisecond earlier', async () => {
    const { cycle, attempts } = await inBackoff();
    const deadline = cycle.nextDeadline()!;
    cycle.tick(deadline - 1);
    expect(attempts).toHaveLength(1);
    expect(cycle.phase).toBe('backoff');
    cycle.tick(deadline);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[1]!.signal).not.toBe(attempts[0]!.signal);
    expect(attempts[1]!.signal.aborted).toBe(false);
    expect(cycle.phase).toBe('queued');
    expect(cycle.nextDeadline()).toBeUndefined();
  });

  it('a late tick (timer fired an hour late) starts the next attempt once', async () => {
    const { cycle, attempts } = await inBackoff();
    cycle.tick(cycle.nextDeadline()! + 3_600_000);
    cycle.tick(cycle.nextDeadline() ?? Number.MAX_SAFE_INTEGER);
    expect(attempts).toHaveLength(2);
  });

  it('consecutive failures grow the full-jitter cap: 500, 1000, 2000 ms with random 0.5', async () => {
    const { cycle, attempts, changes } = setup();
    cycle.start();
    for (let i = 0; i < 3; i++) {
      attempts[i]!.reject(new Error(`down ${i + 1}`));
      await flush();
      cycle.retryNow();
    }
    expect(changes.map((c) => [c.error!.attempt, c.error!.retryInMs])).toEqual([
      [1, 500],
      [2, 1000],
      [3, 2000],
    ]);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('a fatal failure (HTTP 401) settles and rejects with the reported error', async () => {
    const { cycle, attempts, changes, outcome } = setup();
    cycle.start();
    cycle.fetching();
    attempts[0]!.reject({ status: 401 });
    await flush();
    expect(cycle.phase).toBe('settled');
    expect(cycle.nextDeadline()).toBeUndefined();
    expect(outcome.status).toBe('rejected');
    expect(changes.at(-1)).toEqual({ phase: 'settled', error: outcome.value });
    expectError(outcome.value, {
      code: 'FETCH_UNAUTHORIZED',
      message:
        'Token endpoint refused (HTTP 401): no retry until refresh() or updateToken(). (attempt 1)',
      attempt: 1,
      retryInMs: undefined,
    });
  });

  it('with retry: false the first failure settles', async () => {
    const { cycle, attempts, outcome } = setup({ retry: false });
    cycle.start();
    attempts[0]!.reject(new Error('down'));
    await flush();
    expect(cycle.phase).toBe('settled');
    expectError(outcome.value, { code: 'FETCH_FAILED', message: 'Token fetch failed: down. (attempt 1)', attempt: 1, retryInMs: undefined });
  });

  it('an IDENTITY_MISMATCH refusal is final', async () => {
    const { cycle, attempts, outcome } = setup();
    cycle.start();
    attempts[0]!.reject(new Refusal('IDENTITY_MISMATCH', 'Fetched token is for another identity (see allowIdentityChange).'));
    await flush();
    expect(cycle.phase).toBe('settled');
    expectError(outcome.value, {
      code: 'IDENTITY_MISMATCH',
      message: 'Fetched token is for another identity (see allowIdentityChange). (attempt 1)',
      attempt: 1,
      retryInMs: undefined,
    });
  });
});

describe('RefreshCycle: attempt timeout', () => {
  it('tick() at fetching + fetchTimeoutMs aborts the signal with FETCH_TIMEOUT, once', async () => {
    const { clock, cycle, attempts, changes, t0 } = setup();
    cycle.start();
    cycle.fetching();
    const { signal } = attempts[0]!;
    cycle.tick(t0 + 9_999);
    expect(signal.aborted).toBe(false);
    cycle.tick(t0 + 10_000);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(Refusal);
    expect({ ...(signal.reason as Refusal) }).toEqual({
      code: 'FETCH_TIMEOUT',
      message: 'Token fetch exceeded fetchTimeoutMs (10000).',
    });
    // Until the host's run settles the attempt is still fetching, with no deadline left to fire again.
    expect(cycle.phase).toBe('fetching');
    expect(cycle.nextDeadline()).toBeUndefined();

    // Whatever the fetch rejects with once aborted (a DOMException here), the attempt failed by timing out.
    clock.jump(10_000);
    attempts[0]!.reject(new DOMException('The operation was aborted.', 'AbortError'));
    await flush();
    expect(cycle.phase).toBe('backoff');
    expect(cycle.nextDeadline()).toBe(t0 + 10_000 + 500);
    expectError(changes.at(-1)!.error, {
      code: 'FETCH_TIMEOUT',
      message: 'Token fetch exceeded fetchTimeoutMs (10000). (attempt 1)',
      attempt: 1,
      retryInMs: 500,
    });
  });

  it('a queued attempt (waiting for the lock) has no timeout', () => {
    const { cycle, attempts, t0 } = setup();
    cycle.start();
    cycle.tick(t0 + 3_600_000);
    expect(attempts[0]!.signal.aborted).toBe(false);
    expect(cycle.phase).toBe('queued');
  });
});

describe('RefreshCycle: retryNow()', () => {
  it('does nothing while queued or fetching', () => {
    const { cycle, attempts } = setup();
    cycle.start();
    cycle.retryNow();
    cycle.fetching();
    cycle.retryNow();
    expect(attempts).toHaveLength(1);
    expect(cycle.phase).toBe('fetching');
  });

  it('in backoff starts the next attempt at once', async () => {
    const { cycle, attempts } = await inBackoff();
    cycle.retryNow();
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(cycle.phase).toBe('queued');
    expect(cycle.nextDeadline()).toBeUndefined();
  });
});

describe('RefreshCycle: answer()', () => {
  it('while queued withdraws the attempt (aborts its signal) and resolves with host.result()', async () => {
    const { cycle, attempts, changes, outcome } = setup();
    cycle.start();
    cycle.answer();
    expect(attempts[0]!.signal.aborted).toBe(true);
    expect(cycle.phase).toBe('settled');
    // The withdrawn attempt's own failure afterwards is ignored.
    attempts[0]!.reject(new DOMException('withdrawn', 'AbortError'));
    await flush();
    expect(outcome).toEqual({ status: 'resolved', value: 'token-1' });
    expect(changes).toEqual([{ phase: 'settled', error: undefined }]);
  });

  it('in backoff resolves without another attempt', async () => {
    const { cycle, attempts, changes, outcome } = await inBackoff();
    cycle.answer();
    await flush();
    expect(attempts).toHaveLength(1);
    expect(outcome).toEqual({ status: 'resolved', value: 'token-1' });
    expect(changes.map((c) => c.phase)).toEqual(['fetching', 'backoff', 'settled']);
  });

  it('while fetching does nothing: the fetch in flight finishes', async () => {
    const { cycle, attempts, outcome } = setup();
    cycle.start();
    cycle.fetching();
    cycle.answer();
    expect(cycle.phase).toBe('fetching');
    expect(attempts[0]!.signal.aborted).toBe(false);
    attempts[0]!.reject(new Error('down'));
    await flush();
    expect(cycle.phase).toBe('backoff');
    expect(outcome.status).toBe('pending');
  });
});

describe('RefreshCycle: cancel()', () => {
  const cases: Array<[string, () => Promise<ReturnType<typeof setup>>]> = [
    ['queued', async () => { const s = setup(); s.cycle.start(); return s; }],
    ['fetching', async () => { const s = setup(); s.cycle.start(); s.cycle.fetching(); return s; }],
    ['backoff', inBackoff],
  ];
  it.each(cases)('from %s: settles, rejects with the given error, aborts with it, tells nobody', async (_phase, make) => {
    const s = await make();
    const before = s.changes.length;
    const error = new AccessManagerError('DISPOSED', 'AccessManager is disposed.');
    s.cycle.cancel(error);
    await flush();
    expect(s.cycle.phase).toBe('settled');
    expect(s.cycle.nextDeadline()).toBeUndefined();
    expect(s.attempts.at(-1)!.signal.reason).toBe(error);
    expect(s.outcome).toEqual({ status: 'rejected', value: error });
    expect(s.changes).toHaveLength(before);
  });
});

describe('RefreshCycle: cancel() at the edges', () => {
  it('before start(): rejects with the error, without an attempt to abort and without a throw', async () => {
    const s = setup();
    const error = new AccessManagerError('DISPOSED', 'AccessManager is disposed.');
    expect(() => s.cycle.cancel(error)).not.toThrow();
    await flush();
    expect(s.cycle.phase).toBe('settled');
    expect(s.outcome).toEqual({ status: 'rejected', value: error });
    s.cycle.start();
    expect(s.attempts).toHaveLength(0);
  });

  it('after the refresh resolved: the signal of the finished attempt is not aborted (a kept signal never fires late)', async () => {
    const s = setup();
    s.cycle.start();
    s.attempts[0]!.resolve();
    await flush();
    s.cycle.cancel(new AccessManagerError('DISPOSED', 'AccessManager is disposed.'));
    expect(s.attempts[0]!.signal.aborted).toBe(false);
    expect(s.outcome).toEqual({ status: 'resolved', value: 'token-1' });
  });
});

describe('RefreshCycle: nothing happens once settled', () => {
  const routes: Array<[string, (s: ReturnType<typeof setup>) => Promise<void>]> = [
    ['resolved', async (s) => { s.attempts[0]!.resolve(); await flush(); }],
    ['rejected (fatal)', async (s) => { s.attempts[0]!.reject({ fatal: true }); await flush(); }],
    ['answered', async (s) => { s.cycle.answer(); await flush(); }],
    ['cancelled', async (s) => { s.cycle.cancel(new AccessManagerError('DISPOSED', 'AccessManager is disposed.')); await flush(); }],
  ];
  it.each(routes)('%s: answer, cancel, retryNow, tick, fetching and a late attempt result change nothing', async (_route, settle) => {
    const s = setup();
    s.cycle.start();
    await settle(s);
    const outcome = { ...s.outcome };
    const changes = s.changes.length;
    s.cycle.answer();
    s.cycle.cancel(new AccessManagerError('DISPOSED', 'again'));
    s.cycle.retryNow();
    s.cycle.tick(s.t0 + 86_400_000);
    s.cycle.fetching();
    s.attempts[0]!.resolve();
    s.attempts[0]!.reject(new Error('late'));
    await flush();
    expect(s.cycle.phase).toBe('settled');
    expect(s.cycle.nextDeadline()).toBeUndefined();
    expect(s.outcome).toEqual(outcome);
    expect(s.attempts).toHaveLength(1);
    expect(s.changes).toHaveLength(changes);
  });

  // A refresh answered or cancelled before start() stays settled: no attempt, no second `settled`.
  it('start() after the refresh settled before its first attempt runs nothing', async () => {
    const s = setup();
    s.cycle.answer();
    s.cycle.start();
    await flush();
    expect(s.cycle.phase).toBe('settled');
    expect(s.attempts).toHaveLength(0);
    expect(s.changes).toEqual([{ phase: 'settled', error: undefined }]);
  });
});

describe('RefreshCycle: a re-entrant host', () => {
  it('retryNow() from inside changed() in backoff starts the next attempt at once', async () => {
    const phases: CyclePhase[] = [];
    const errors: number[] = [];
    const s = setup({
      changed: (cycle, error) => {
        phases.push(cycle.phase);
        if (cycle.phase === 'backoff') cycle.retryNow();
        if (error) errors.push(error.attempt!);
      },
    });
    s.cycle.start();
    s.attempts[0]!.reject(new Error('down'));
    await flush();
    expect(s.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(s.cycle.phase).toBe('queued');
    expect(s.cycle.nextDeadline()).toBeUndefined();
    s.attempts[1]!.reject(new Error('down again'));
    await flush();
    s.attempts[2]!.resolve();
    await flush();
    expect(phases).toEqual(['backoff', 'backoff', 'settled']);
    expect(errors).toEqual([1, 2]);
    expect(s.outcome).toEqual({ status: 'resolved', value: 'token-1' });
  });

  it('cancel() from inside changed() in backoff settles with that error', async () => {
    const error = new AccessManagerError('DISPOSED', 'AccessManager is disposed.');
    const s = setup({ changed: (cycle) => cycle.cancel(error) });
    s.cycle.start();
    s.attempts[0]!.reject(new Error('down'));
    await flush();
    expect(s.cycle.phase).toBe('settled');
    expect(s.cycle.nextDeadline()).toBeUndefined();
    expect(s.outcome).toEqual({ status: 'rejected', value: error });
  });

  it('answer() or cancel() from inside the settled notification change nothing', async () => {
    const s = setup({
      changed: (cycle) => {
        cycle.answer();
        cycle.cancel(new AccessManagerError('DISPOSED', 'inside'));
      },
    });
    s.cycle.start();
    s.attempts[0]!.resolve();
    await flush();
    expect(s.outcome).toEqual({ status: 'resolved', value: 'token-1' });
  });
});

describe('RefreshCycle: nextDeadline() per phase', () => {
  it('queued: none; fetching: timeout; backoff: next attempt; queued again: none; settled: none', async () => {
    const { clock, cycle, attempts, t0 } = setup();
    const seen: Array<[CyclePhase, number | undefined]> = [];
    const look = () => seen.push([cycle.phase, cycle.nextDeadline()]);
    cycle.start();
    look();
    cycle.fetching();
    look();
    clock.jump(2_000);
    attempts[0]!.reject(new Error('down'));
    await flush();
    look();
    cycle.tick(t0 + 2_500);
    look();
    attempts[1]!.resolve();
    await flush();
    look();
    expect(seen).toEqual([
      ['queued', undefined],
      ['fetching', t0 + 10_000],
      ['backoff', t0 + 2_500],
      ['queued', undefined],
      ['settled', undefined],
    ]);
  });
});
