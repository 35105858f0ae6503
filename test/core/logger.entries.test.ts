// The debug log entry by entry: each decision's exact level, event and details (logger.test.ts checks that every
// kind shows up in a full scenario and that no token leaks). Also the facade's own messages and small branches
// that only a precise expectation tells apart.
import { beforeEach, describe, expect, it } from 'vitest';
import { AccessManagerError, type AccessManagerOptions, type LogEntry } from '../../src/index.js';
import { fingerprint } from '../../src/log.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager, restoreMocksAfterManagers } from '../helpers/manager.js';
import { installTabEnv } from '../helpers/tab-env.mjs';
import { MIN, SEC } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';

beforeEach(restoreMocksAfterManagers);

function logged(options: AccessManagerOptions & { clock: ManualClock }) {
  const entries: LogEntry[] = [];
  const manager = createManager({ ...options, logger: (entry) => entries.push(entry) });
  const errors: AccessManagerError[] = [];
  manager.on('error', (error) => errors.push(error));
  const of = (event: string) => entries.filter((entry) => entry.event === event);
  return { manager, entries, errors, of };
}

/** A fetcher that answers after `delayMs` on the manual clock. */
const after = <T,>(clock: ManualClock, delayMs: number, value: () => T) => () =>
  new Promise<T>((resolve, reject) =>
    clock.setTimeout(() => {
      try {
        resolve(value());
      } catch (error) {
        reject(error);
      }
    }, delayMs),
  );

describe('log entries, exactly', () => {
  it('a fetch: start with its reason, done with attempt, duration, fingerprint and outcome; the clients; the skew', async () => {
    const clock = new ManualClock();
    const token = mintToken({ at: clock.now() + 5 * SEC });
    const { manager, of } = logged({ clock, fetchToken: after(clock, 250, () => token) });
    manager.addClient({ updateToken: () => {} });
    await clock.advance(250);
    await flush();
    expect(of('fetch.start')).toEqual([{ level: 'info', event: 'fetch.start', message: 'fetch.start reason=initial', reason: 'initial' }]);
    expect(of('fetch.done')).toEqual([
      {
        level: 'info',
        event: 'fetch.done',
        message: `fetch.done reason=initial attempt=1 durationMs=250 fingerprint=${fingerprint(token)} outcome=new`,
        reason: 'initial',
        attempt: 1,
        durationMs: 250,
        fingerprint: fingerprint(token),
        outcome: 'new',
      },
    ]);
    // Minted 5 s ahead, received 250 ms after the request: the server is 4.75 s ahead.
    expect(of('skew')).toMatchObject([{ level: 'info', skew: 4750 }]);
    expect(of('clients.push')).toMatchObject([{ level: 'debug', fingerprint: fingerprint(token) }]);
    // A fresh token, outside its about-to-expire window: the storm guard holds nothing back.
    expect(of('refresh.held')).toEqual([]);
    expect(of('clients.done')).toMatchObject([{ level: 'debug', fingerprint: fingerprint(token) }]);
    expect(of('schedule').at(-1)).toMatchObject({ level: 'debug', at: manager.expiresAt!.getTime() - 4750 - 3 * MIN });
  });

  it("fetch.done's outcome: 'same' for the current token again, 'older' for one a manual update overtook", async () => {
    const clock = new ManualClock();
    const first = mintToken({ at: clock.now(), ttl: 3000 });
    const older = mintToken({ at: clock.now(), ttl: 3200 });
    const newer = mintToken({ at: clock.now(), ttl: 3500 });
    let answer = first;
    const { manager, of } = logged({ clock, token: first, fetchToken: after(clock, 100, () => answer) });
    const same = manager.refresh();
    await clock.advance(100);
    await same;
    answer = older;
    const refreshed = manager.refresh();
    await manager.updateToken(newer);
    await clock.advance(100);
    await refreshed;
    expect(of('fetch.done').map((entry) => entry.outcome)).toEqual(['same', 'older']);
    expect(manager.token).toBe(newer);
  });

  it("a failed attempt: fetch.backoff says 'policy' or 'Retry-After', and the error entry is a warning while it retries", async () => {
    const clock = Object.assign(new ManualClock(), { random: () => 1 });
    let n = 0;
    const fetchToken = async () => {
      n++;
      if (n === 1) throw new Error('plain');
      if (n === 2) throw Object.assign(new Error('short hint'), { retryAfterMs: 1 });
      if (n === 3) throw Object.assign(new Error('long hint'), { retryAfterMs: 30 * SEC });
      throw Object.assign(new Error('refused'), { status: 401 });
    };
    const { of } = logged({ clock, fetchToken, retry: { minDelayMs: 1000, maxDelayMs: 8000, factor: 2 } });
    await clock.advance(2 * MIN);
    expect(of('fetch.backoff').map(({ level, retryInMs, why }) => ({ level, retryInMs, why }))).toEqual([
      { level: 'info', retryInMs: 1000, why: 'policy' },
      { level: 'info', retryInMs: 2000, why: 'policy' },
      { level: 'info', retryInMs: 30000, why: 'Retry-After' },
    ]);
    const errorEntries = of('error');
    expect(errorEntries.map(({ level, code, attempt, retryInMs }) => ({ level, code, attempt, retryInMs }))).toEqual([
      { level: 'warn', code: 'FETCH_FAILED', attempt: 1, retryInMs: 1000 },
      { level: 'warn', code: 'FETCH_FAILED', attempt: 2, retryInMs: 2000 },
      { level: 'warn', code: 'FETCH_FAILED', attempt: 3, retryInMs: 30000 },
      { level: 'error', code: 'FETCH_UNAUTHORIZED', attempt: 4, retryInMs: undefined },
    ]);
    // The error entry's message is the error's own.
    expect(errorEntries[0]!.message).toMatch(/^Token fetch failed: plain\./);
  });

  it('the client guard and the storm guard log why a refresh is held', async () => {
    const clock = Object.assign(new ManualClock(), { random: () => 0.5 });
    // Two-minute tokens: every fetched one is inside the three-minute window at once.
    const { manager, of } = logged({ clock, fetchToken: async () => mintToken({ at: clock.now(), ttl: 120 }) });
    await clock.advance(0);
    await flush();
    expect(of('refresh.held')).toMatchObject([{ level: 'warn', why: 'storm guard' }]);
    manager.handleClientError({ status: 401 }, 'chat');
    await flush();
    manager.handleClientError({ status: 401 }, 'chat');
    await flush();
    expect(of('refresh.held').at(-1)).toMatchObject({ level: 'warn', why: 'client guard', retryInMs: 500, streak: 1 });
  });

  it('the automatic refresh of a window is logged with its moment; a wake-up with its event', async () => {
    const clock = Object.assign(new ManualClock(), { random: () => 0.5 });
    const token = mintToken({ at: clock.now() });
    const { manager, of } = logged({ clock, token, fetchToken: async () => mintToken({ at: clock.now() }) });
    await clock.advance(57 * MIN);
    const windowAt = manager.expiresAt!.getTime() - 3 * MIN;
    expect(of('refresh.scheduled')).toMatchObject([{ level: 'debug', at: windowAt + 45 * SEC }]);
    window.dispatchEvent(new Event('focus'));
    expect(of('wake')).toMatchObject([{ level: 'debug', type: 'focus' }]);
  });

  it('peer tokens: ignored with why, or adopted, each with its fingerprint', async () => {
    const env = installTabEnv();
    try {
      const clock = new ManualClock();
      const { of } = logged({ clock, token: mintToken({ at: clock.now() }), crossTab: true });
      const stranger = new BroadcastChannel('token-warden:default');
      const peer = mintToken({ at: clock.now(), ttl: 7200 });
      const stale = mintToken({ at: clock.now(), ttl: 600 });
      stranger.postMessage({ t: 'token', token: 'not.a.token' });
      stranger.postMessage({ t: 'token', token: stale });
      stranger.postMessage({ t: 'token', token: peer });
      await flush();
      stranger.close();
      expect(of('peer.ignored')).toMatchObject([
        { level: 'debug', why: expect.any(String) },
        { level: 'debug', fingerprint: fingerprint(stale) },
      ]);
      expect(of('peer.ignored')[0]!.why).not.toBe('');
      expect(of('peer.adopted')).toMatchObject([{ level: 'debug', fingerprint: fingerprint(peer) }]);
    } finally {
      env.uninstall();
    }
  });

  it('state changes are logged with the new and the previous state', async () => {
    const clock = new ManualClock();
    const { of } = logged({ clock, fetchToken: async () => mintToken({ at: clock.now() }) });
    await flush();
    expect(of('state').map(({ level, state, previousState }) => ({ level, state, previousState }))).toEqual([
      { level: 'info', state: 'refreshing', previousState: 'idle' },
      { level: 'info', state: 'valid', previousState: 'refreshing' },
    ]);
  });
});

describe('the facade: messages and small branches', () => {
  it('names the subject and the reason in its messages', async () => {
    const clock = new ManualClock();
    const manager = createManager({ clock, token: mintToken({ at: clock.now() }) });
    await expect(manager.updateToken(mintToken({ at: clock.now() - 2 * 3600 * SEC }))).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
      message: 'Token is expired.',
    });
    await expect(manager.refresh()).rejects.toMatchObject({ code: 'NO_FETCHER', message: 'No fetchToken option: cannot fetch a token.' });
    manager.dispose();
    await expect(manager.refresh()).rejects.toMatchObject({ code: 'DISPOSED', message: 'AccessManager is disposed.' });
  });

  it('a token expiring exactly now is expired at start: TOKEN_EXPIRED "Initial token is expired."', async () => {
    const clock = new ManualClock();
    const token = mintToken({ at: clock.now() - 3600 * SEC, ttl: 3600 });
    const { errors } = logged({ clock, token });
    await flush();
    expect(errors.map((error) => [error.code, error.message])).toEqual([['TOKEN_EXPIRED', 'Initial token is expired.']]);
  });

  it('grants is {} before the first token', () => {
    const clock = new ManualClock();
    const manager = createManager({ clock, fetchToken: () => new Promise<string>(() => {}) });
    expect(manager.grants).toEqual({});
    expect(manager.identity).toBeUndefined();
  });

  it('opens no cross-tab channel unless asked to', () => {
    const env = installTabEnv();
    try {
      const clock = new ManualClock();
      createManager({ clock, token: mintToken({ at: clock.now() }) });
      expect(env.channels).toHaveLength(0);
    } finally {
      env.uninstall();
    }
  });

  it("getToken() after a failed first fetch asks again with the reason 'initial'", async () => {
    const clock = new ManualClock();
    const reasons: string[] = [];
    let n = 0;
    const manager = createManager({
      clock,
      retry: false,
      fetchToken: async ({ reason }) => {
        reasons.push(reason);
        if (++n === 1) throw new Error('down');
        return mintToken({ at: clock.now() });
      },
    });
    manager.on('error', () => {});
    await flush();
    await manager.getToken();
    expect(reasons).toEqual(['initial', 'initial']);
  });

  it('a clientName that is not a string is not passed on', async () => {
    const clock = Object.assign(new ManualClock(), { random: () => 0.5 });
    const { manager, errors } = logged({ clock, token: mintToken({ at: clock.now() }), fetchToken: async () => mintToken({ at: clock.now() }) });
    manager.handleClientError({ status: 401 }, 42 as never);
    await flush();
    manager.handleClientError({ status: 401 }, 42 as never);
    await flush();
    expect(errors.map((error) => [error.code, error.clientName])).toEqual([['CLIENT_TOKEN_REJECTED', undefined]]);
  });

  it("the snapshot follows a fetched token's identity and expiry", async () => {
    const clock = new ManualClock();
    const next = mintToken({ at: clock.now(), identity: 'alice', ttl: 7200 });
    const manager = createManager({ clock, token: mintToken({ at: clock.now(), identity: 'alice' }), fetchToken: async () => next });
    await manager.refresh();
    await flush();
    expect(manager.getSnapshot()).toMatchObject({ token: next, identity: 'alice', expiresAt: manager.expiresAt });
    expect(manager.getSnapshot().expiresAt!.getTime()).toBe(clock.now() - (clock.now() % 1000) + 7200 * SEC);
  });
});
