// @vitest-environment node
// isAccessManagerError alone: what it recognizes by shape, and the lookalikes it refuses.
import { describe, expect, it } from 'vitest';
import { AccessManagerError, isAccessManagerError } from '../../src/errors.js';

describe('isAccessManagerError', () => {
  it('refuses an error with a string code but another name (a Node system error, say)', () => {
    expect(isAccessManagerError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isAccessManagerError({ name: 'Error', code: 'TOKEN_EXPIRED' })).toBe(false);
    expect(isAccessManagerError({ code: 'TOKEN_EXPIRED' })).toBe(false);
  });

  it('refuses a function that has the name and a code: errors are objects', () => {
    const lookalike = Object.assign(function AccessManagerError() {}, { code: 'DISPOSED' });
    expect(lookalike.name).toBe('AccessManagerError');
    expect(isAccessManagerError(lookalike)).toBe(false);
    expect(isAccessManagerError(AccessManagerError)).toBe(false);
  });
});
