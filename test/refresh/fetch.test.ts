import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccessManagerError, FetchContext, TokenUpdatedInfo } from '../../src/index.js';
import { names } from '../helpers/record.js';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { create, flush, manualFetcher, rejection, tokenAt, track } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('fetchToken and autoRefresh', () => {
  it('refreshes automatically at the about-to-expire moment by default (reason aboutToExpire, attempt 1)', async () => {
    const f = manualFetcher();
    const { clock, manager, events } = create({ fetchToken: f.fetchToken });
    // Constructed without a token: the first fetch is immediate.
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([['initial', 1]]);
    const first = tokenAt(clock.now());
    f.last().resolve(first);
    await flush();
    expect(manager.token).toBe(first);

    await clock.advance(57 * MIN - 1);
    expect(f.fetchToken).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(f.fetchToken).toHaveBeenCalledTimes(2);
    expect(f.last().ctx).toMatchObject({ reason: 'aboutToExpire', attempt: 1 });
    expect(f.last().ctx.signal.aborted).toBe(false);
    expect(manager.state).toBe('refreshing');
    const second = tokenAt(clock.now());
    f.last().resolve(second);
    await flush();
    expect(manager.token).toBe(second);
    expect(manager.state).toBe('valid');
    expect(names(events)).toEqual(['tokenUpdated', 'tokenAboutToExpire', 'tokenUpdated']);
    expect(events.map((e) => e.source)).toEqual(['fetch', undefined, 'fetch']);
    // The old token never expires in the manager's eyes: it was replaced.
    await clock.advance(10 * MIN);
    expect(names(events)).toEqual(['tokenUpdated', 'tokenAboutToExpire', 'tokenUpdated']);
  });

  it('passes previousToken and the decoded expiry in tokenUpdated for a refreshed token', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now(), 7200));
    const start = tokenAt(START);
    const { clock, manager } = create({ token: start, fetchToken });
    const seen: TokenUpdatedInfo[] = [];
    manager.on('tokenUpdated', (info) => seen.push(info));
    await clock.advance(57 * MIN);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([
      {
        token: manager.token,
        previousToken: start,
        expiresAt: new Date(clock.now() + 2 * HOUR),
        identity: 'alice',
        source: 'fetch',
      },
    ]);
  });

  it('autoRefresh: false fetches neither at the about-to-expire moment nor at expiry', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now()));
    const { clock, manager, events } = create({ token: tokenAt(START), fetchToken, autoRefresh: false });
    await clock.advance(3 * HOUR);
    expect(fetchToken).not.toHaveBeenCalled();
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
    expect(manager.state).toBe('expired');
    // The fetcher is still there for explicit calls.
    const token = await manager.refresh();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(fetchToken.mock.calls[0]![0]).toMatchObject({ reason: 'manual', attempt: 1 });
    expect(manager.token).toBe(token);
  });

  it('autoRefresh: false still fetches the first token when none was given', async () => {
    const f = manualFetcher();
    const { clock, manager } = create({ fetchToken: f.fetchToken, autoRefresh: false });
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['initial']);
    f.last().resolve(tokenAt(clock.now()));
    await flush();
    expect(manager.state).toBe('valid');
    await clock.advance(2 * HOUR);
    expect(f.calls).toHaveLength(1);
  });

  it('autoRefresh: true without fetchToken is harmless: only the events fire', async () => {
    const { clock, events } = create({ token: tokenAt(START), autoRefresh: true });
    await clock.advance(2 * HOUR);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
  });
});

describe('refresh()', () => {
  it('is single-flight: concurrent callers share one fetch and get the same token', async () => {
    const f = manualFetcher();
    const { clock, manager, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    const calls = [manager.refresh(), manager.refresh(), manager.refresh(), manager.getToken()];
    const states = calls.map(track);
    await flush();
    expect(f.calls).toHaveLength(1);
    expect(f.last().ctx).toMatchObject({ reason: 'manual', attempt: 1 });
    expect(manager.state).toBe('refreshing');
    // getToken with a valid token answered at once, without joining the fetch.
    expect(states.map((s) => s.settled)).toEqual([false, false, false, true]);
    const fresh = tokenAt(clock.now() + SEC);
    f.last().resolve(fresh);
    const results = await Promise.all(calls.slice(0, 3));
    expect(results).toEqual([fresh, fresh, fresh]);
    expect(names(events)).toEqual(['tokenUpdated']);
    // A later refresh() is a new fetch, not a cached answer.
    const again = manager.refresh();
    expect(f.calls).toHaveLength(2);
    f.last().resolve(tokenAt(clock.now() + 2 * SEC));
    expect(await again).toBe(manager.token);
  });

  it('resolves once the token is adopted, without waiting for the client fan-out', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now() + SEC));
    const { clock, manager } = create({ token: tokenAt(START), fetchToken });
    const hanging = { updateToken: vi.fn(() => new Promise<void>(() => {})) };
    manager.addClient(hanging, { name: 'slow' });
    const token = await manager.refresh();
    expect(hanging.updateToken).toHaveBeenCalledWith(token);
    expect(manager.token).toBe(token);
  });

  it('rejects with NO_FETCHER without fetchToken; getToken on an expired token too', async () => {
    const { clock, manager, events } = create({ token: tokenAt(START, 60) });
    expect((await rejection(manager.refresh())).code).toBe('NO_FETCHER');
    expect(await manager.getToken()).toBe(manager.token);
    await clock.advance(61 * SEC);
    expect((await rejection(manager.getToken())).code).toBe('NO_FETCHER');
    // Nothing was reported as a background failure: the caller got the error.
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('rejects with DISPOSED when disposed while fetching, and the signal aborts', async () => {
    const f = manualFetcher();
    const { manager } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    const pending = manager.refresh();
    const { signal } = f.last().ctx;
    expect(signal.aborted).toBe(false);
    manager.dispose();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as AccessManagerError).code).toBe('DISPOSED');
    expect((await rejection(pending)).code).toBe('DISPOSED');
  });
});

describe('fetch context', () => {
  it('aborts the signal when the attempt times out and counts attempts from 1', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const f = manualFetcher();
    const { clock, errors } = create({ fetchToken: f.fetchToken, fetchTimeoutMs: 5 * SEC });
    const first = f.last().ctx;
    await clock.advance(5 * SEC - 1);
    expect(first.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(first.signal.aborted).toBe(true);
    expect((first.signal.reason as AccessManagerError).code).toBe('FETCH_TIMEOUT');
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['FETCH_TIMEOUT', 1, 0]]);
    await clock.advance(0);
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([
      ['initial', 1],
      ['initial', 2],
    ]);
    expect(f.last().ctx.signal).not.toBe(first.signal);
    expect(f.last().ctx.signal.aborted).toBe(false);
  });

  it('reason aboutToExpire exactly aboutToExpireMs before expiry', async () => {
    const f = manualFetcher();
    const start = START;
    const { clock } = create({ token: tokenAt(start), fetchToken: f.fetchToken, aboutToExpireMs: 5 * MIN });
    await clock.advance(55 * MIN - 1);
    expect(f.calls).toHaveLength(0);
    await clock.advance(1);
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([['aboutToExpire', 1]]);
  });

  it("reason 'expired' when the token expired unnoticed (sleep past the about-to-expire moment)", async () => {
    const f = manualFetcher();
    const { clock } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    clock.jump(61 * MIN);
    await clock.runDue();
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['expired']);
  });

  it("reason 'expired' for an already expired initial token, after the TOKEN_EXPIRED report", async () => {
    const f = manualFetcher();
    const { events } = create({ token: tokenAt(Date.UTC(2026, 10, 23, 10)), fetchToken: f.fetchToken });
    expect(f.calls).toHaveLength(0);
    await flush();
    expect(names(events)).toEqual(['error:TOKEN_EXPIRED', 'tokenAboutToExpire', 'tokenExpired']);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['expired']);
  });
});

describe('getToken()', () => {
  it('returns the current token while it is valid, without fetching', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now()));
    const token = tokenAt(START);
    const { clock, manager } = create({ token, fetchToken, autoRefresh: false });
    expect(await manager.getToken()).toBe(token);
    await clock.advance(59 * MIN); // inside the about-to-expire window, still valid
    expect(await manager.getToken()).toBe(token);
    expect(fetchToken).not.toHaveBeenCalled();
  });

  it('refreshes an expired token (reason expired) and resolves with the new one', async () => {
    const f = manualFetcher();
    const { clock, manager } = create({ token: tokenAt(START), fetchToken: f.fetchToken, autoRefresh: false });
    await clock.advance(HOUR);
    expect(manager.isExpired).toBe(true);
    const pending = track(manager.getToken());
    await flush();
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['expired']);
    expect(pending.settled).toBe(false);
    const fresh = tokenAt(clock.now());
    f.last().resolve(fresh);
    await flush();
    expect(pending).toEqual({ settled: true, value: fresh });
  });

  it('judges expiry on the skew-corrected clock', async () => {
    const fetchToken = vi.fn(async (_ctx: FetchContext) => tokenAt(clock.now() + 2 * MIN));
    const local = START;
    // The server is 2 minutes ahead: a token with 1 minute left on the local clock is expired there.
    const { clock, manager } = create({ token: tokenAt(local - HOUR + MIN), fetchToken, clockSkew: 2 * MIN });
    expect(manager.isExpired).toBe(true);
    await flush();
    const token = await manager.getToken();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(token).toBe(manager.token);
    expect(manager.isExpired).toBe(false);
  });
});

describe('starting without a token', () => {
  it('fetches at once (reason initial); getToken waits for it; the first tokenUpdated has no previousToken', async () => {
    const f = manualFetcher();
    const { clock, manager, events } = create({ fetchToken: f.fetchToken });
    const seen: TokenUpdatedInfo[] = [];
    manager.on('tokenUpdated', (info) => seen.push(info));
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([['initial', 1]]);
    expect(manager.state).toBe('refreshing');
    expect(manager.token).toBeUndefined();
    expect(manager.isExpired).toBe(true);
    const waiting = [track(manager.getToken()), track(manager.getToken())];
    await clock.advance(3 * SEC);
    expect(waiting.map((w) => w.settled)).toEqual([false, false]);
    expect(f.calls).toHaveLength(1);

    const token = tokenAt(clock.now());
    f.last().resolve(token);
    await flush();
    expect(waiting).toEqual([
      { settled: true, value: token },
      { settled: true, value: token },
    ]);
    expect(seen).toEqual([{ token, expiresAt: new Date(clock.now() - (clock.now() % 1000) + HOUR), identity: 'alice', source: 'fetch' }]);
    expect('previousToken' in seen[0]!).toBe(false);
    expect(names(events)).toEqual(['tokenUpdated']);
    expect(manager.state).toBe('valid');
  });

  it('accepts { token } results and a fetcher that throws synchronously is a failed attempt', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    let calls = 0;
    const { clock, manager, errors } = create({
      fetchToken: (() => {
        calls++;
        if (calls === 1) throw new Error('sync boom');
        return Promise.resolve({ token: tokenAt(clock.now()) });
      }) as never,
    });
    await clock.advance(0);
    expect(errors.map((e) => [e.code, e.attempt])).toEqual([['FETCH_FAILED', 1]]);
    expect(calls).toBe(2);
    expect(manager.state).toBe('valid');
  });
});
