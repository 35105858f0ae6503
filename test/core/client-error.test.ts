import { describe, expect, it } from 'vitest';
import { httpStatus, isTokenError } from '../../src/client-error.js';

describe('isTokenError (what handleClientError acts on)', () => {
  it.each([
    [{ status: 401 }, true],
    [{ response: { status: 401 } }, true],
    [{ statusCode: 401 }, true],
    // Twilio Conversations / Sync `connectionError` payload
    [{ terminal: false, message: 'token rejected', httpStatusCode: 401, errorCode: null }, true],
    [{ code: 20104 }, true],
    [{ twilioCode: '31205' }, true],
    [{ errorCode: 20101 }, true],
    [{ message: 'wrapped', cause: { originalError: { code: 31204 } } }, true],
    [{ status: 403 }, false],
    [{ httpStatusCode: 500 }, false],
    [{ code: 20102 }, false],
    [null, false],
    ['20104', false],
  ])('%j -> %s', (error, expected) => {
    expect(isTokenError(error)).toBe(expected);
  });

  it('reads the status of ky-like, fetch-like and SDK-like shapes', () => {
    expect(httpStatus({ response: { status: 503 } })).toBe(503);
    expect(httpStatus({ httpStatusCode: '401' })).toBe(401);
    expect(httpStatus({ status: 'oops' })).toBeUndefined();
  });
});
