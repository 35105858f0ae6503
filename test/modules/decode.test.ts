// @vitest-environment node
// decodeOrWhy alone: the exact reason for each way a token can be malformed (the manager and readFetchResult
// phrase their refusals with it), and the edges of what decodes. (test/core/decode.test.ts covers decodeToken.)
import { describe, expect, it } from 'vitest';
import { decodeOrWhy, decodeToken, type DecodedToken } from '../../src/decode.js';
import { rawToken } from '../helpers/tokens.mjs';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'HS256' });
const payload = b64({ exp: 2e9 });
const signature = 'c2lnbmF0dXJl';

describe('decodeOrWhy: the reason', () => {
  it.each([
    ['a number', 42, 'expected a string'],
    ['undefined', undefined, 'expected a string'],
    ['two parts', `${header}.${payload}`, 'expected three dot-separated parts'],
    ['a header that is not base64url', `${header}+.${payload}.${signature}`, 'header is not base64url-encoded JSON'],
    ['a header that is not JSON', `${b64('{nope')}.${payload}.${signature}`, 'header is not base64url-encoded JSON'],
    ['a header that is an array', `${b64([1])}.${payload}.${signature}`, 'header is not a JSON object'],
    ['a payload of an impossible length', `${header}.${payload}A.${signature}`, 'payload is not base64url-encoded JSON'],
    ['a payload that is not UTF-8', `${header}.${Buffer.from([0xff]).toString('base64url')}.${signature}`, 'payload is not base64url-encoded JSON'],
    ['a payload that is null', `${header}.${b64('null')}.${signature}`, 'payload is not a JSON object'],
    ['a payload that is a string', `${header}.${b64('"x"')}.${signature}`, 'payload is not a JSON object'],
    ['an empty signature', `${header}.${payload}.`, 'signature is missing or not base64url'],
    ['a signature of an impossible length', `${header}.${payload}.${signature}A`, 'signature is missing or not base64url'],
    ['a missing exp', `${header}.${b64({ iat: 1 })}.${signature}`, '"exp" is missing or not a finite number'],
    ['a negative absurd exp', `${header}.${b64({ exp: -1e300 })}.${signature}`, '"exp" is missing or not a finite number'],
    ['an exp just past the last valid Date', `${header}.${b64({ exp: 8.64e12 + 1 })}.${signature}`, '"exp" is missing or not a finite number'],
  ])('%s: %s', (_label, token, why) => {
    expect(decodeOrWhy(token)).toBe(why);
  });

  it('decodeToken puts the reason in its message', () => {
    expect(() => decodeToken(`${header}.${b64('null')}.${signature}`)).toThrow('Token is malformed: payload is not a JSON object.');
    expect(() => decodeToken(7 as unknown as string)).toThrow('Token is malformed: expected a string.');
  });
});

describe('decodeOrWhy: what decodes', () => {
  it('an exp at either end of the Date range', () => {
    for (const exp of [8.64e12, -8.64e12]) {
      const decoded = decodeOrWhy(rawToken({ exp })) as DecodedToken;
      expect(decoded.expiresAt.getTime()).toBe(exp * 1000);
    }
  });
});
