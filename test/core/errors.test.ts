import { describe, expect, it } from 'vitest';
import { AccessManagerError, isAccessManagerError } from '../../src/index.js';

describe('AccessManagerError', () => {
  it('carries code, cause and details', () => {
    const cause = new Error('socket hang up');
    const error = new AccessManagerError('FETCH_FAILED', 'Token fetch failed.', { cause, attempt: 2, retryInMs: 1500 });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AccessManagerError');
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.cause).toBe(cause);
    expect(error.attempt).toBe(2);
    expect(error.retryInMs).toBe(1500);
    expect(error.clientName).toBeUndefined();
  });

  it('is recognized across realms by name and code, not instanceof', () => {
    expect(isAccessManagerError(new AccessManagerError('DISPOSED', 'x'))).toBe(true);
    const foreign = Object.assign(new Error('x'), { name: 'AccessManagerError', code: 'TOKEN_EXPIRED' });
    expect(isAccessManagerError(foreign)).toBe(true);
    expect(isAccessManagerError({ name: 'AccessManagerError', code: 'NO_FETCHER' })).toBe(true);
    expect(isAccessManagerError(new Error('x'))).toBe(false);
    expect(isAccessManagerError({ name: 'AccessManagerError' })).toBe(false);
    expect(isAccessManagerError(null)).toBe(false);
    expect(isAccessManagerError('AccessManagerError')).toBe(false);
  });
});
