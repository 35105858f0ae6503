import { describe, expect, it } from 'vitest';
import { isTokenError } from '../../src/client-error.js';
import { getTwilioTokenErrorCode, isTwilioTokenError, TWILIO_TOKEN_ERROR_CODES } from '../../src/twilio/index.js';
import { twilsockConnectionError, voiceTwilioError } from './fakes.js';

const REQUIRED = [20101, 20102, 20103, 20104, 20105, 20106, 20107, 20157, 31204, 31205];

describe('TWILIO_TOKEN_ERROR_CODES', () => {
  it('lists every required code with a meaning', () => {
    for (const code of REQUIRED) {
      expect(TWILIO_TOKEN_ERROR_CODES.has(code), String(code)).toBe(true);
      expect(TWILIO_TOKEN_ERROR_CODES.get(code)).toMatch(/\w{3,}/);
    }
    expect(TWILIO_TOKEN_ERROR_CODES.get(20104)).toBe('Access token expired or expiration date invalid');
    expect(TWILIO_TOKEN_ERROR_CODES.get(31205)).toBe('JWT token expired (Voice)');
    expect(TWILIO_TOKEN_ERROR_CODES.size).toBe(16);
  });

  it('iterates in code order and can also be indexed like an object', () => {
    const codes = [...TWILIO_TOKEN_ERROR_CODES.keys()];
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    expect(TWILIO_TOKEN_ERROR_CODES[20157]).toBe(TWILIO_TOKEN_ERROR_CODES.get(20157));
    expect(Object.keys(TWILIO_TOKEN_ERROR_CODES)).toEqual(codes.map(String));
    expect(TWILIO_TOKEN_ERROR_CODES).toBeInstanceOf(Map);
  });

  it('holds exactly these meanings, each also an enumerable own property', () => {
    const meanings = {
      20101: 'Invalid access token',
      20102: 'Invalid access token header',
      20103: 'Invalid access token issuer or subject',
      20104: 'Access token expired or expiration date invalid',
      20105: 'Access token not yet valid',
      20106: 'Invalid access token grants',
      20107: 'Invalid access token signature',
      20151: 'Authentication with the provided JWT failed',
      20156: 'Access token expired or its expiration is invalid',
      20157: 'Access token expiration exceeds the 24 h maximum',
      20160: 'Invalid token: not a well-formed Twilio JWT',
      31202: 'Access token signature validation failed (Voice)',
      31204: 'Invalid JWT token (Voice)',
      31205: 'JWT token expired (Voice)',
      31207: 'JWT token expiration too long (Voice)',
      51207: 'Access token expired (twilsock connection closed)',
    };
    expect(Object.fromEntries(TWILIO_TOKEN_ERROR_CODES)).toEqual(meanings);
    expect({ ...TWILIO_TOKEN_ERROR_CODES }).toEqual(meanings);
  });

  it('its mutators throw a TypeError saying it is read-only', () => {
    const table = TWILIO_TOKEN_ERROR_CODES as unknown as Map<number, string>;
    const readOnly = new TypeError('TWILIO_TOKEN_ERROR_CODES is read-only');
    expect(() => table.set(1, 'x')).toThrow(readOnly);
    expect(() => table.delete(20104)).toThrow(readOnly);
    expect(() => table.clear()).toThrow(readOnly);
  });

  it('is read-only at run time too', () => {
    const table = TWILIO_TOKEN_ERROR_CODES as unknown as Map<number, string> & Record<number, string>;
    expect(() => table.set(1, 'x')).toThrow(TypeError);
    expect(() => table.delete(20104)).toThrow(TypeError);
    expect(() => table.clear()).toThrow(TypeError);
    // Test modules are strict, where writing a frozen property throws.
    expect(() => {
      table[20104] = 'changed';
    }).toThrow(TypeError);
    expect(TWILIO_TOKEN_ERROR_CODES.size).toBe(16);
    expect(TWILIO_TOKEN_ERROR_CODES[20104]).toBe('Access token expired or expiration date invalid');
  });
});

const cyclic = (): object => {
  const a: Record<string, unknown> = { message: 'a' };
  const b: Record<string, unknown> = { message: 'b', cause: a };
  a.cause = b;
  a.originalError = a;
  return a;
};

const cyclicWithCode = (): object => {
  const a: Record<string, unknown> = { message: 'a' };
  a.cause = { originalError: a, cause: { errorCode: 31204 } };
  return a;
};

const nested = (depth: number, leaf: object): object => {
  let node: object = leaf;
  for (let i = 0; i < depth; i++) node = { message: `level ${i}`, cause: node };
  return node;
};

// [description, input, expected isTwilioTokenError]
const CASES: Array<[string, unknown, boolean]> = [
  ['code 20101', { code: 20101 }, true],
  ['code 20104', { code: 20104 }, true],
  ['code 31204', { code: 31204 }, true],
  ['code 31205', { code: 31205 }, true],
  ['twilioCode 20104', { twilioCode: 20104 }, true],
  ['errorCode 20101', { errorCode: 20101 }, true],
  ['string code "20104"', { code: '20104' }, true],
  ['string errorCode "31205"', { errorCode: '31205' }, true],
  ['Error instance with code', Object.assign(new Error('expired'), { code: 20104 }), true],
  ['twilsock connectionError payload', twilsockConnectionError(20104, 401), true],
  ['Voice TwilioError 20104 wrapping 31205', voiceTwilioError(20104, 31205), true],
  ['Voice error only refreshable in originalError', voiceTwilioError(31000, 31205), true],
  ['nested in cause', new Error('outer', { cause: { code: 20104 } }), true],
  ['nested in originalError', { code: 31000, originalError: { code: 31204 } }, true],
  ['cause inside originalError', { originalError: { cause: { twilioCode: 20101 } } }, true],
  ['five levels deep', nested(5, { code: 20104 }), true],
  ['cycle holding a refreshable code', cyclicWithCode(), true],
  ['code 20102 (bad header)', { code: 20102 }, false],
  ['code 20103 (bad issuer)', { code: 20103 }, false],
  ['code 20105 (not yet valid)', { code: 20105 }, false],
  ['code 20106 (bad grants)', { code: 20106 }, false],
  ['code 20107 (bad signature)', { code: 20107 }, false],
  ['code 20157 (ttl too long)', { code: 20157 }, false],
  ['code 31207 (Voice ttl too long)', { code: 31207 }, false],
  ['Voice network error 31005', voiceTwilioError(31005), false],
  ['twilsock error without code', twilsockConnectionError(null), false],
  ['HTTP 401 alone is not a Twilio code', { status: 401, httpStatusCode: 401 }, false],
  ['cycle without a code', cyclic(), false],
  ['code only in an unrelated property', { details: { code: 20104 } }, false],
  ['non-numeric string', { code: 'ERR_20104' }, false],
  ['empty string', { code: '' }, false],
  ['fractional number', { code: 20104.5 }, false],
  ['bare number', 20104, false],
  ['bare string', '20104', false],
  ['null', null, false],
  ['undefined', undefined, false],
];

describe('isTwilioTokenError', () => {
  it.each(CASES)('%s -> %s', (_description, input, expected) => {
    expect(isTwilioTokenError(input)).toBe(expected);
  });

  // The core's handleClientError also refreshes on HTTP 401; every case without a `status` must agree exactly.
  it.each(CASES.filter(([description]) => !description.startsWith('HTTP')))(
    'agrees with the core rule for %s',
    (_description, input, expected) => {
      expect(isTokenError(input)).toBe(expected);
    },
  );
});

describe('getTwilioTokenErrorCode', () => {
  it.each<[string, unknown, number | undefined]>([
    ['refreshable code', { code: 20104 }, 20104],
    ['non-refreshable token code', { code: 20157 }, 20157],
    ['string errorCode', { errorCode: '20106' }, 20106],
    ['outer non-token code, token code in originalError', voiceTwilioError(31000, 31205), 31205],
    ['outer token code wins over the nested one', voiceTwilioError(20104, 31205), 20104],
    ['nested in cause', new Error('outer', { cause: { code: 20107 } }), 20107],
    ['not a token code', { code: 31005 }, undefined],
    ['cycle without a code', cyclic(), undefined],
    ['null', null, undefined],
  ])('%s -> %s', (_description, input, expected) => {
    expect(getTwilioTokenErrorCode(input)).toBe(expected);
  });
});
