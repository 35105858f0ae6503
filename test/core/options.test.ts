import { describe, expect, it } from 'vitest';
import { AccessManager, type AccessManagerOptions } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { mintToken } from '../helpers/tokens.mjs';

const clock = new ManualClock();
const token = mintToken({ at: clock.now() });
const fetchToken = async () => token;

function throwingGetter(target: object, key: string): object {
  return Object.defineProperty(target, key, {
    get(): never {
      throw new Error('getter');
    },
  });
}

function thrown(options: unknown): Error {
  try {
    new AccessManager(options as AccessManagerOptions);
  } catch (error) {
    return error as Error;
  }
  throw new Error('constructor did not throw');
}

describe('options validation', () => {
  it.each([
    ['token', { token: 42 }],
    ['fetchToken', { token, fetchToken: 'https://example.test/token' }],
    ['token or fetchToken', {}],
    ['aboutToExpireMs', { token, aboutToExpireMs: '180000' }],
    ['autoRefresh', { token, autoRefresh: 'yes' }],
    ['fetchTimeoutMs', { token, fetchTimeoutMs: '1' }],
    ['retry', { token, retry: 3 }],
    ['retry.minDelayMs', { token, retry: { minDelayMs: '1' } }],
    ['clientTimeoutMs', { token, clientTimeoutMs: null }],
    ['clockSkew', { token, clockSkew: 'manual' }],
    ['clockSkew', { token, clockSkew: null }],
    ['allowIdentityChange', { token, allowIdentityChange: 1 }],
    ['crossTab', { token, crossTab: 'yes' }],
    ['clock', { token, clock: { now: (): number => 0 } }],
    ['clock.random', { token, clock: { now: (): number => 0, setTimeout, clearTimeout, random: 0.5 } }],
    ['identity', { token, identity: 42 }],
    ['retry.factor', { token, retry: throwingGetter({}, 'factor') }],
    ['fetchToken', throwingGetter({ token }, 'fetchToken')],
  ])('TypeError naming %s', (name, options) => {
    const error = thrown(options);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(name);
  });

  it('TypeError for missing options', () => {
    expect(thrown(undefined)).toBeInstanceOf(TypeError);
  });

  it.each([
    ['aboutToExpireMs', { token, aboutToExpireMs: -1 }],
    ['aboutToExpireMs', { token, aboutToExpireMs: Number.NaN }],
    ['fetchTimeoutMs', { token, fetchTimeoutMs: 0 }],
    ['fetchTimeoutMs', { token, fetchTimeoutMs: Number.POSITIVE_INFINITY }],
    ['fetchTimeoutMs', { token, fetchTimeoutMs: -5 }],
    ['clientTimeoutMs', { token, clientTimeoutMs: 0 }],
    ['retry.factor', { token, retry: { factor: 0.5 } }],
    ['retry.minDelayMs', { token, retry: { minDelayMs: -1 } }],
    ['retry.maxDelayMs', { token, retry: { minDelayMs: 5000, maxDelayMs: 100 } }],
    ['clockSkew', { token, clockSkew: Number.NaN }],
    ['crossTab.name', { token, crossTab: { name: '' } }],
  ])('RangeError naming %s', (name, options) => {
    const error = thrown(options);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain(name);
  });

  it('accepts every documented option', () => {
    const manager = new AccessManager({
      token,
      fetchToken,
      aboutToExpireMs: 0,
      autoRefresh: false,
      fetchTimeoutMs: 5000,
      retry: { minDelayMs: 0, maxDelayMs: 10, factor: 1 },
      clientTimeoutMs: 100,
      clockSkew: -2500,
      allowIdentityChange: true,
      crossTab: { name: 'x' },
      clock,
    });
    expect(manager.state).toBe('valid');
    manager.dispose();
    new AccessManager({ token, retry: false, clock }).dispose();
  });

  it('throws TOKEN_MALFORMED for a malformed initial token, without the token in the message', () => {
    const bad = 'eyJhbGciOiJIUzI1NiJ9.not-json-payload.c2lnbmF0dXJlLXNlY3JldA';
    const error = thrown({ token: bad, clock }) as Error & { code?: string };
    expect(error.name).toBe('AccessManagerError');
    expect(error.code).toBe('TOKEN_MALFORMED');
    expect(error.message).not.toContain('c2lnbmF0dXJlLXNlY3JldA');
    expect(error.message).not.toContain('not-json-payload');
  });

  it('starts idle without a token when a fetcher is given', () => {
    const manager = new AccessManager({ fetchToken: () => new Promise<string>(() => {}), clock });
    expect(manager.token).toBeUndefined();
    expect(manager.expiresAt).toBeUndefined();
    expect(manager.isExpired).toBe(true);
    expect(manager.state).toBe('refreshing');
    manager.dispose();
  });
});
