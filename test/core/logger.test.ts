// The debug log: structured entries for the manager's decisions, off by default, and never a token in them.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AccessManager, type LogEntry } from '../../src/index.js';
import { fingerprint } from '../../src/log.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager, restoreMocksAfterManagers } from '../helpers/manager.js';
import { installTabEnv } from '../helpers/tab-env.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { catchReRaised } from '../helpers/re-raised.js';

beforeEach(restoreMocksAfterManagers);

describe('logger', () => {
  it('a full scenario logs every kind of decision, and no entry contains a token or any of its parts', async () => {
    const env = installTabEnv();
    try {
      const clock = Object.assign(new ManualClock(), { random: () => 0.5 });
      const entries: LogEntry[] = [];
      const tokens: string[] = [];
      let calls = 0;
      const fetchToken = vi.fn(async () => {
        calls++;
        if (calls === 2) throw Object.assign(new Error('busy'), { status: 503, retryAfterMs: 5000 });
        const token = mintToken({ at: clock.now() + 5000, ttl: 3600 }); // server 5 s ahead: skew learned from iat
        tokens.push(token);
        return token;
      });
      const manager = createManager({ fetchToken, clock, crossTab: true, logger: (entry) => entries.push(entry) });
      manager.addClient({ updateToken: () => {} }, { name: 'chat' });
      await clock.advance(300);
      await clock.advance(58 * MIN); // the spread refresh, a 503 with Retry-After, then success
      window.dispatchEvent(new Event('focus'));
      const stranger = new BroadcastChannel('token-warden:default');
      const peerToken = mintToken({ at: clock.now() + 5000, ttl: 7200 });
      tokens.push(peerToken);
      stranger.postMessage({ t: 'token', token: peerToken });
      stranger.postMessage({ t: 'token', token: 'not.a.token' });
      await clock.advance(0);
      await flush();
      stranger.close();

      const events = new Set(entries.map((e) => e.event));
      for (const event of [
        'fetch.start',
        'fetch.done',
        'fetch.backoff',
        'error',
        'skew',
        'schedule',
        'wake',
        'tokenAboutToExpire',
        'refresh.scheduled',
        'peer.adopted',
        'peer.ignored',
        'clients.push',
        'clients.done',
        'state',
      ]) {
        expect(events, event).toContain(event);
      }
      expect(entries.find((e) => e.event === 'fetch.backoff')).toMatchObject({ level: 'info', retryInMs: 5000, why: 'Retry-After' });
      expect(entries.find((e) => e.event === 'fetch.done')).toMatchObject({ reason: 'initial', attempt: 1, fingerprint: fingerprint(tokens[0]!) });
      for (const entry of entries) {
        expect(typeof entry.message).toBe('string');
        expect(['debug', 'info', 'warn', 'error']).toContain(entry.level);
      }
      const text = JSON.stringify(entries);
      expect(tokens.length).toBeGreaterThanOrEqual(3);
      for (const token of tokens) {
        expect(text).not.toContain(token);
        for (const part of token.split('.')) expect(text).not.toContain(part);
      }
    } finally {
      env.uninstall();
    }
  });

  it('takes a console-like object: one call per entry on the method of its level', async () => {
    const clock = new ManualClock();
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const manager = createManager({ token: mintToken({ at: clock.now(), ttl: 600 }), clock, logger });
    await clock.advance(11 * MIN);
    const fp = fingerprint(manager.token!);
    expect(logger.info).toHaveBeenCalledWith(
      `token-warden tokenAboutToExpire msLeft=180000 fingerprint=${fp}`,
      expect.objectContaining({ event: 'tokenAboutToExpire', msLeft: 180_000 }),
    );
    expect(logger.warn).toHaveBeenCalledWith(`token-warden tokenExpired fingerprint=${fp}`, expect.objectContaining({ level: 'warn' }));
    expect(logger.debug).toHaveBeenCalled();
  });

  it('is off by default, and a logger that throws does not break the manager', async () => {
    const clock = new ManualClock();
    const raised = catchReRaised();
    const manager = createManager({
      fetchToken: async () => mintToken({ at: clock.now() }),
      clock,
      logger: () => {
        throw new Error('logger bug');
      },
    });
    const token = await manager.getToken();
    expect(token).toBe(manager.token);
    expect(manager.state).toBe('valid');
    expect(raised.length).toBeGreaterThan(0);
  });

  it.each([['a string', 'console'], ['an object without error()', { debug() {}, info() {}, warn() {} }]])(
    'refuses %s: TypeError naming logger',
    (_label, logger) => {
      expect(() => new AccessManager({ token: mintToken({ at: Date.now() }), logger: logger as never })).toThrow(
        new TypeError('logger must be a function or a console-like object.'),
      );
    },
  );

  it('a server time that cannot be right for its token is ignored and logged once', async () => {
    const clock = new ManualClock();
    const entries: LogEntry[] = [];
    let n = 0;
    const manager = createManager({
      token: mintToken({ at: clock.now() }),
      fetchToken: async () => ({ token: mintToken({ at: clock.now(), ttl: 3600 + ++n }), serverTime: 0 }),
      clock,
      logger: (entry) => entries.push(entry),
    });
    await manager.refresh();
    await manager.refresh();
    expect(entries.filter((e) => e.event === 'skew.ignored')).toEqual([
      { level: 'warn', event: 'skew.ignored', message: 'skew.ignored serverTime=0', serverTime: 0 },
    ]);
    expect(manager.isExpired).toBe(false);
  });

  it('fingerprints are six characters, stable per token, different between tokens', () => {
    const a = mintToken({ at: 1e12 });
    const b = mintToken({ at: 1e12 + 1000 });
    expect(fingerprint(a)).toMatch(/^[0-9a-z]{6}$/);
    expect(fingerprint(a)).toBe(fingerprint(a));
    expect(fingerprint(a)).not.toBe(fingerprint(b));
  });
});
