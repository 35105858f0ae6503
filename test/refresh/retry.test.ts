import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchContext, FetchResult } from '../../src/index.js';
import { names } from '../helpers/record.js';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { create, down, flush, rejection, tokenAt, track, withFlakyFetcher, withManualFetcher } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('retries with full-jitter backoff', () => {
  it.each([
    [1, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]],
    [0.5, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]],
    [0, [0, 0, 0, 0, 0, 0, 0, 0]],
  ])('Math.random() = %s gives retryInMs %j, and each attempt waits exactly that long', async (random, expected) => {
    const { f, clock, errors, manager } = withManualFetcher({ token: undefined, random });
    for (let n = 1; n <= expected.length; n++) {
      expect(f.calls).toHaveLength(n);
      expect(f.last().ctx).toMatchObject({ reason: 'initial', attempt: n });
      f.last().reject(down());
      await flush();
      const error = errors.at(-1)!;
      expect([error.code, error.attempt, error.retryInMs]).toEqual(['FETCH_FAILED', n, expected[n - 1]]);
      expect(error.cause).toBeInstanceOf(Error);
      expect(manager.state).toBe('idle'); // waiting out the backoff: the state of the (missing) token
      if (expected[n - 1]! > 0) {
        await clock.advance(expected[n - 1]! - 1);
        expect(f.calls).toHaveLength(n); // not before
      }
      await clock.advance(expected[n - 1]! > 0 ? 1 : 0);
      expect(f.calls).toHaveLength(n + 1);
      expect(manager.state).toBe('refreshing');
    }
    expect(errors).toHaveLength(expected.length);
  });

  it('follows a custom policy: min(maxDelayMs, minDelayMs * factor^(n-1))', async () => {
    const { clock, errors } = withFlakyFetcher({
      token: undefined,
      random: 1,
      retry: { minDelayMs: 200, maxDelayMs: 5000, factor: 3 },
    });
    await clock.advance(20 * SEC);
    expect(errors.slice(0, 6).map((e) => e.retryInMs)).toEqual([200, 600, 1800, 5000, 5000, 5000]);
  });

  it('keeps every real-random delay inside [0, cap] and waits exactly that long', async () => {
    const { clock, errors } = withFlakyFetcher({ token: undefined });
    await clock.advance(0);
    for (let n = 1; n <= 12; n++) {
      const error = errors[n - 1]!;
      const cap = Math.min(30_000, 1000 * 2 ** (n - 1));
      expect(error.attempt).toBe(n);
      expect(Number.isInteger(error.retryInMs)).toBe(true);
      expect(error.retryInMs).toBeGreaterThanOrEqual(0);
      expect(error.retryInMs).toBeLessThanOrEqual(cap);
      await clock.advance(error.retryInMs!);
      expect(errors).toHaveLength(n + 1);
    }
  });

  it('keeps retrying past expiry, at maxDelayMs, while reporting one tokenExpired', async () => {
    const { fetchToken, clock, manager, events } = withFlakyFetcher({ random: 1 });
    await clock.advance(57 * MIN);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(manager.state).toBe('aboutToExpire');
    // 1+2+4+8+16+30+30+30+30+30 s = 181 s after the first attempt: the token expired 180 s after it.
    await clock.advance(3 * MIN);
    expect(manager.state).toBe('expired');
    const beforeExpiry = fetchToken.mock.calls.length;
    expect(beforeExpiry).toBe(10);
    await clock.advance(10 * MIN);
    expect(fetchToken.mock.calls.length - beforeExpiry).toBe(20); // every 30 s
    expect(names(events).filter((n) => !n.startsWith('error'))).toEqual(['tokenAboutToExpire', 'tokenExpired']);
    expect(events.filter((e) => e.code === 'FETCH_FAILED')).toHaveLength(fetchToken.mock.calls.length);
  });

  it('continues the refresh after expiry and succeeds when the endpoint recovers', async () => {
    const { fetchToken, clock, manager, events } = withFlakyFetcher({ random: 1, failures: 12 });
    await clock.advance(HOUR + 5 * MIN);
    expect(fetchToken).toHaveBeenCalledTimes(13);
    expect(fetchToken.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(manager.state).toBe('valid');
    expect(names(events).filter((n) => !n.startsWith('error'))).toEqual(['tokenAboutToExpire', 'tokenExpired', 'tokenUpdated']);
    await clock.advance(30 * MIN);
    expect(fetchToken).toHaveBeenCalledTimes(13);
  });

  it('an online event retries at once instead of waiting out the backoff', async () => {
    const { f, clock, errors } = withManualFetcher({ token: undefined, random: 1, retry: { maxDelayMs: 60_000 } });
    for (let n = 1; n <= 6; n++) {
      f.last().reject(down());
      await flush();
      await clock.advance(errors.at(-1)!.retryInMs!);
    }
    f.last().reject(down());
    await flush();
    expect(errors.at(-1)!.retryInMs).toBe(60_000);
    expect(f.calls).toHaveLength(7);
    await clock.advance(10 * SEC);
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(f.calls).toHaveLength(8);
    expect(f.last().ctx.attempt).toBe(8);
    // While the attempt is in flight another online event changes nothing.
    window.dispatchEvent(new Event('online'));
    await flush();
    expect(f.calls).toHaveLength(8);
    f.last().resolve(tokenAt(clock.now()));
    await flush();
    window.dispatchEvent(new Event('online'));
    await clock.advance(2 * MIN);
    expect(f.calls).toHaveLength(8);
  });

  it('refresh() during a backoff fetches now, and every caller gets the token', async () => {
    const { f, clock, manager } = withManualFetcher({ random: 1 });
    await clock.advance(57 * MIN);
    const auto = f.last();
    expect(auto.ctx.reason).toBe('aboutToExpire');
    auto.reject(down());
    await clock.advance(1000);
    f.last().reject(down());
    await clock.advance(1000); // 1 s into a 2 s backoff
    expect(f.calls).toHaveLength(2);
    const pending = track(manager.refresh());
    await flush();
    expect(f.calls).toHaveLength(3);
    expect(f.last().ctx.attempt).toBe(3);
    const token = tokenAt(clock.now());
    f.last().resolve(token);
    await flush();
    expect(pending).toEqual({ settled: true, value: token });
    await clock.advance(5 * SEC);
    expect(f.calls).toHaveLength(3);
  });

  it('a manual updateToken during a backoff answers the refresh and stops the retries', async () => {
    const { fetchToken, clock, manager, events } = withFlakyFetcher({ random: 1 });
    await clock.advance(57 * MIN);
    const pending = track(manager.refresh()); // joins the automatic refresh waiting out its backoff
    await flush();
    const fresh = tokenAt(clock.now());
    await manager.updateToken(fresh);
    await flush();
    expect(pending).toEqual({ settled: true, value: fresh });
    const calls = fetchToken.mock.calls.length;
    await clock.advance(10 * MIN);
    expect(fetchToken.mock.calls.length).toBe(calls);
    expect(names(events)).toEqual(['tokenAboutToExpire', ...Array(calls).fill('error:FETCH_FAILED'), 'tokenUpdated']);
  });

  it('a token that arrives during a backoff already inside the about-to-expire window does not end the retries', async () => {
    // refresh() in the window of a token with 2 minutes left (autoRefresh off: only this refresh fetches).
    const { f, clock, manager, errors } = withManualFetcher({ random: 1, autoRefresh: false });
    await clock.advance(58 * MIN);
    const pending = track(manager.refresh());
    f.last().reject(down());
    await flush();
    expect(errors.at(-1)).toMatchObject({ code: 'FETCH_FAILED', attempt: 1, retryInMs: 1000 });
    // Newer than the current token, but with 2.5 minutes left it needs refreshing itself: the retry goes on.
    const short = tokenAt(clock.now() - 57.5 * MIN);
    await manager.updateToken(short);
    await flush();
    expect(manager.token).toBe(short);
    expect(pending.settled).toBe(false);
    await clock.advance(1000);
    expect(f.calls).toHaveLength(2);
    expect(f.last().ctx).toMatchObject({ reason: 'manual', attempt: 2 });
    const fresh = tokenAt(clock.now());
    f.last().resolve(fresh);
    await flush();
    expect(pending).toEqual({ settled: true, value: fresh });
  });

  it('retry: false makes refresh() reject with the error; retryInMs undefined; no further attempt', async () => {
    const { f, clock, manager, errors } = withManualFetcher({ retry: false });
    const pending = manager.refresh();
    const cause = down();
    f.last().reject(cause);
    const error = await rejection(pending);
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.attempt).toBe(1);
    expect(error.retryInMs).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(errors).toEqual([error]);
    expect(manager.state).toBe('valid');
    await clock.advance(56 * MIN);
    expect(f.calls).toHaveLength(1);
  });

  it('retry: false: a failed automatic refresh is tried again only at expiry, as a new refresh', async () => {
    const { f, clock, errors } = withManualFetcher({ retry: false });
    await clock.advance(57 * MIN);
    f.last().reject(down());
    await clock.advance(3 * MIN - 1);
    expect(f.calls).toHaveLength(1);
    await clock.advance(1);
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([
      ['aboutToExpire', 1],
      ['expired', 1],
    ]);
    expect(errors.map((e) => e.retryInMs)).toEqual([undefined]);
  });
});

describe('fatal failures: FETCH_UNAUTHORIZED', () => {
  it.each([
    ['{ status: 401 }', () => Object.assign(new Error('unauthorized'), { status: 401 })],
    ['{ status: 403 }', () => ({ status: 403 })],
    ['{ response: { status: 403 } }', () => Object.assign(new Error('HTTPError'), { response: { status: 403 } })],
    ['{ response: { status: 401 } }', () => ({ response: { status: 401 } })],
    ['{ fatal: true }', () => Object.assign(new Error('session over'), { fatal: true })],
  ])('%s: state failed, no retry, refresh() rejects with it', async (_label, makeError) => {
    const { f, clock, manager, events, errors } = withManualFetcher();
    const pending = manager.refresh();
    const cause = makeError();
    f.last().reject(cause);
    const error = await rejection(pending);
    expect(error.code).toBe('FETCH_UNAUTHORIZED');
    expect(error.attempt).toBe(1);
    expect(error.retryInMs).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(errors).toEqual([error]);
    expect(manager.state).toBe('failed');
    // Neither the about-to-expire moment, nor expiry, nor online/focus events bring a fetch.
    await clock.advance(2 * HOUR);
    window.dispatchEvent(new Event('online'));
    window.dispatchEvent(new Event('focus'));
    await clock.advance(HOUR);
    expect(f.calls).toHaveLength(1);
    expect(manager.state).toBe('failed');
    expect(names(events)).toEqual(['error:FETCH_UNAUTHORIZED', 'tokenAboutToExpire', 'tokenExpired']);
  });

  it('an automatic refresh stops on 401 until refresh() clears the failed state', async () => {
    const { f, clock, manager, errors } = withManualFetcher({ random: 1 });
    await clock.advance(57 * MIN);
    f.last().reject(down());
    await clock.advance(1000);
    f.last().reject({ status: 401 });
    await flush();
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([
      ['FETCH_FAILED', 1, 1000],
      ['FETCH_UNAUTHORIZED', 2, undefined],
    ]);
    expect(manager.state).toBe('failed');
    await clock.advance(HOUR);
    expect(f.calls).toHaveLength(2);

    const pending = manager.refresh();
    expect(manager.state).toBe('refreshing');
    expect(f.last().ctx).toMatchObject({ reason: 'manual', attempt: 1 });
    const token = tokenAt(clock.now());
    f.last().resolve(token);
    expect(await pending).toBe(token);
    expect(manager.state).toBe('valid');
  });

  it('updateToken() clears the failed state and automatic refresh resumes', async () => {
    const { f, clock, manager } = withManualFetcher();
    void manager.refresh().catch(() => {});
    f.last().reject({ fatal: true });
    await flush();
    expect(manager.state).toBe('failed');
    await manager.updateToken(tokenAt(clock.now() + SEC));
    expect(manager.state).toBe('valid');
    await clock.advance(57 * MIN + SEC);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['manual', 'aboutToExpire']);
  });

  it('handleClientError() and getToken() on an expired token also try again after FETCH_UNAUTHORIZED', async () => {
    const { f, clock, manager } = withManualFetcher();
    void manager.refresh().catch(() => {});
    f.last().reject({ status: 403 });
    await flush();
    expect(manager.state).toBe('failed');
    expect(manager.handleClientError({ code: 20104 })).toBe(true);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['manual', 'clientError']);
    f.last().reject({ status: 403 });
    await clock.advance(2 * HOUR);
    expect(f.calls).toHaveLength(2);
    const waiting = track(manager.getToken());
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['manual', 'clientError', 'expired']);
    f.last().resolve(tokenAt(clock.now()));
    await flush();
    expect(waiting).toEqual({ settled: true, value: manager.token });
    expect(manager.state).toBe('valid');
  });

  it('a 401 on the first fetch leaves the manager idle-and-failed; getToken() rejects with it', async () => {
    const { f, manager } = withManualFetcher({ token: undefined });
    const waiting = manager.getToken();
    f.last().reject({ status: 401 });
    expect((await rejection(waiting)).code).toBe('FETCH_UNAUTHORIZED');
    expect(manager.state).toBe('failed');
    expect(manager.token).toBeUndefined();
  });

  it('other statuses are FETCH_FAILED and retried', async () => {
    const { clock, errors, manager } = withFlakyFetcher({
      token: undefined,
      random: 0,
      failures: 3,
      error: () => ({ response: { status: 500 } }),
    });
    await clock.advance(0);
    expect(errors.map((e) => e.code)).toEqual(['FETCH_FAILED', 'FETCH_FAILED', 'FETCH_FAILED']);
    expect(manager.state).toBe('valid');
  });
});

describe('FETCH_TIMEOUT', () => {
  it('aborts a fetcher that hangs past fetchTimeoutMs, reports FETCH_TIMEOUT and retries', async () => {
    const { f, clock, manager, errors, events } = withManualFetcher({ random: 1, fetchTimeoutMs: 8 * SEC });
    const pending = track(manager.refresh());
    const hung = f.last();
    await clock.advance(8 * SEC - 1);
    expect(hung.ctx.signal.aborted).toBe(false);
    expect(errors).toEqual([]);
    await clock.advance(1);
    expect(hung.ctx.signal.aborted).toBe(true);
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['FETCH_TIMEOUT', 1, 1000]]);
    expect(errors[0]!.message).toContain('fetchTimeoutMs');
    expect(pending.settled).toBe(false);
    await clock.advance(1000);
    expect(f.calls).toHaveLength(2);
    expect(f.last().ctx.attempt).toBe(2);
    // The hung attempt answering late is ignored; the retry's answer is the one adopted.
    hung.resolve(tokenAt(clock.now() + 5 * SEC));
    await flush();
    expect(names(events)).toEqual(['error:FETCH_TIMEOUT']);
    const token = tokenAt(clock.now());
    f.last().resolve(token);
    await flush();
    expect(pending).toEqual({ settled: true, value: token });
    expect(manager.token).toBe(token);
  });

  it('an error listener that calls refresh() at once still gets a timed attempt', async () => {
    const { f, clock, manager, errors } = withManualFetcher();
    let retried = false;
    manager.on('error', (error) => {
      if (error.code === 'FETCH_FAILED' && !retried) {
        retried = true;
        void manager.refresh().catch(() => {}); // "try again now", from inside the error event
      }
    });
    void manager.refresh().catch(() => {});
    f.last().reject(down());
    await flush();
    expect(f.calls).toHaveLength(2);
    const second = f.last();
    await clock.advance(10 * SEC);
    expect(second.ctx.signal.aborted).toBe(true);
    expect(errors.map((e) => [e.code, e.attempt])).toEqual([
      ['FETCH_FAILED', 1],
      ['FETCH_TIMEOUT', 2],
    ]);
  });

  it('with retry: false, refresh() rejects with FETCH_TIMEOUT', async () => {
    const { f, clock, manager } = withManualFetcher({ retry: false });
    const pending = manager.refresh();
    await clock.advance(10 * SEC);
    const error = await rejection(pending);
    expect([error.code, error.attempt, error.retryInMs]).toEqual(['FETCH_TIMEOUT', 1, undefined]);
    expect(f.last().ctx.signal.aborted).toBe(true);
  });

  it('the timeout timer does not outlive a prompt answer', async () => {
    const { f, clock, manager, errors } = withManualFetcher();
    const pending = manager.refresh();
    expect(clock.delays).toEqual([10 * SEC]);
    f.last().resolve(tokenAt(clock.now() + SEC));
    await pending;
    expect(clock.delays).toEqual([60 * SEC]);
    await clock.advance(30 * SEC);
    expect(errors).toEqual([]);
  });
});

describe('what the fetcher returns', () => {
  it.each([
    ['a non-JWT string', 'garbage-not-a-token'],
    ['a JWT without exp', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['an object without token', { accessToken: 'x' }],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ])('%s is TOKEN_MALFORMED, retried', async (_label, value) => {
    const { f, clock, manager, errors } = withManualFetcher({ token: undefined, random: 1 });
    f.last().resolve(value as FetchResult);
    await flush();
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['TOKEN_MALFORMED', 1, 1000]]);
    if (typeof value === 'string') expect(errors[0]!.message).not.toContain(value);
    expect(manager.token).toBeUndefined();
    await clock.advance(1000);
    expect(f.calls).toHaveLength(2);
    f.last().resolve({ token: tokenAt(clock.now()) });
    await flush();
    expect(manager.state).toBe('valid');
  });

  it('an already expired token is TOKEN_EXPIRED, not adopted, retried', async () => {
    const { f, clock, manager, errors } = withManualFetcher({ token: undefined, random: 1 });
    f.last().resolve(tokenAt(clock.now() - 2 * HOUR));
    await flush();
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['TOKEN_EXPIRED', 1, 1000]]);
    expect(manager.token).toBeUndefined();
    await clock.advance(1000);
    expect(f.calls).toHaveLength(2);
  });

  it('a token for another identity is IDENTITY_MISMATCH: not adopted, not retried, refresh() rejects with it', async () => {
    const start = tokenAt(START);
    const { f, clock, manager, errors, events } = withManualFetcher({ token: start });
    const pending = manager.refresh();
    f.last().resolve(tokenAt(clock.now() + SEC, 3600, 'mallory'));
    const error = await rejection(pending);
    expect([error.code, error.attempt, error.retryInMs]).toEqual(['IDENTITY_MISMATCH', 1, undefined]);
    expect(errors).toEqual([error]);
    expect(manager.token).toBe(start);
    expect(manager.identity).toBe('alice');
    expect(manager.state).toBe('valid');
    await clock.advance(10 * MIN);
    expect(f.calls).toHaveLength(1);
    expect(names(events)).toEqual(['error:IDENTITY_MISMATCH']);
  });

  it('a token for another identity is adopted with allowIdentityChange', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now() + SEC, 3600, 'bob'));
    const { clock, manager } = create({ token: tokenAt(START), fetchToken, allowIdentityChange: true });
    await manager.refresh();
    expect(manager.identity).toBe('bob');
  });

  it('a result older than the current token (a manual update won the race) is discarded', async () => {
    const { f, clock, manager, events } = withManualFetcher();
    const client = { updateToken: vi.fn() };
    manager.addClient(client);
    const pending = track(manager.refresh());
    await clock.advance(2 * SEC);
    const manual = tokenAt(clock.now(), 7200);
    await manager.updateToken(manual);
    f.last().resolve(tokenAt(clock.now(), 3600)); // newer than the first token, older than the manual one
    await flush();
    expect(pending).toEqual({ settled: true, value: manual });
    expect(manager.token).toBe(manual);
    expect(names(events)).toEqual(['tokenUpdated']);
    expect(events[0]!.source).toBe('manual');
    expect(client.updateToken.mock.calls).toEqual([[manual]]);
    expect(manager.state).toBe('valid');
  });

  it('a fetched token identical to the current one: no event, no fan-out, refresh() resolves with it', async () => {
    const token = tokenAt(START);
    const fetchToken = vi.fn(async (_ctx: FetchContext) => token);
    const { manager, events } = create({ token, fetchToken });
    const client = { updateToken: vi.fn() };
    manager.addClient(client);
    expect(await manager.refresh()).toBe(token);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(events).toEqual([]);
    expect(client.updateToken).not.toHaveBeenCalled();
    expect(manager.state).toBe('valid');
  });
});
