// @vitest-environment node
// Reading foreign error objects alone: safe property reads, the bounded cause/originalError walk, Twilio codes,
// HTTP statuses and the "a new token fixes this" verdict. (test/core/client-error.test.ts covers common shapes.)
import { describe, expect, it } from 'vitest';
import {
  FINAL_TWILIO_CODES,
  REFRESHABLE_TWILIO_CODES,
  findTwilioCode,
  httpStatus,
  isKnownTokenCode,
  isRefreshableCode,
  isTokenError,
  read,
  walkErrorChain,
} from '../../src/client-error.js';

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const throwing = (key: string, rest: object = {}): object =>
  Object.defineProperty({ ...rest }, key, {
    get(): never {
      throw new Error(`getter ${key}`);
    },
  });

const any = () => true;

describe('read', () => {
  it.each([
    ['an object', { a: 1 }, 1],
    ['a function', Object.assign(() => {}, { a: 2 }), 2],
    ['an inherited property', Object.create({ a: 3 }), 3],
    ['a missing property', {}, undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a string (primitives are not read)', 'abc', undefined],
    ['a number', 5, undefined],
    ['a throwing getter', throwing('a'), undefined],
    ['a revoked proxy', revoked(), undefined],
  ])('%s', (_label, value, expected) => {
    expect(read(value, 'a')).toBe(expected);
  });

  it("reads no property of a primitive, not even one it has (a string's length, a number's toFixed)", () => {
    expect(read('abc', 'length')).toBeUndefined();
    expect(read(5, 'toFixed')).toBeUndefined();
    expect(read(true, 'valueOf')).toBeUndefined();
  });
});

describe('walkErrorChain', () => {
  const visited = (err: unknown) => {
    const order: unknown[] = [];
    const found = walkErrorChain(err, (node) => {
      order.push(node);
      return false;
    });
    return { order, found };
  };

  it('walks breadth-first: the node, then cause before originalError, level by level', () => {
    const c = { name: 'c' };
    const a = { name: 'a', cause: c };
    const b = { name: 'b' };
    const top = { name: 'top', cause: a, originalError: b };
    expect(visited(top)).toEqual({ order: [top, a, b, c], found: false });
  });

  it('visits each node once in a cycle', () => {
    const a: { cause?: unknown; originalError?: unknown } = {};
    const b = { cause: a };
    a.cause = b;
    a.originalError = a;
    expect(visited(a).order).toEqual([a, b]);
  });

  it('stops after 16 nodes', () => {
    let chain: object = { depth: 0 };
    for (let i = 1; i < 40; i++) chain = { depth: i, cause: chain };
    expect(visited(chain).order).toHaveLength(16);
  });

  it('skips primitives and unreadable links, and visits functions', () => {
    const fn = Object.assign(() => {}, { cause: 'text' });
    const top = throwing('originalError', { cause: fn });
    expect(visited(top).order).toEqual([top, fn]);
    expect(visited('just a string').order).toEqual([]);
    expect(visited(revoked()).order).toHaveLength(1);
  });

  it('skips a null link: the visitor never sees null', () => {
    const top = { cause: null, originalError: null };
    expect(visited(top).order).toEqual([top]);
  });

  it('stops at the first node the visitor accepts, returning true', () => {
    const inner = { hit: true };
    const order: unknown[] = [];
    const found = walkErrorChain({ cause: inner, originalError: { hit: true, late: true } }, (node) => {
      order.push(node);
      return read(node, 'hit') === true;
    });
    expect(found).toBe(true);
    expect(order).toHaveLength(2);
    expect(order[1]).toBe(inner);
  });
});

describe('findTwilioCode', () => {
  it.each([
    ['code first, then twilioCode, then errorCode, within a node', { code: 20101, twilioCode: 20104, errorCode: 31205 }, 20101],
    ['a code that is not accepted is skipped for the next key', { code: 'ECONNRESET', twilioCode: 20104 }, 20104],
    ['a numeric string', { errorCode: '20104' }, 20104],
    ['a numeric string with spaces', { errorCode: ' 20104 ' }, 20104],
    ['an empty string', { code: '' }, undefined],
    ['a fraction', { code: 20104.5 }, undefined],
    ['a boolean', { code: true }, undefined],
    ['shallow before deep', { cause: { cause: { code: 1 } }, originalError: { code: 2 } }, 2],
    ['a throwing getter for code, errorCode beside it', throwing('code', { errorCode: 51207 }), 51207],
    ['nothing', {}, undefined],
  ])('%s', (_label, err, expected) => {
    expect(findTwilioCode(err, any)).toBe(expected);
  });

  it('asks accept for each candidate, in order', () => {
    const seen: number[] = [];
    const found = findTwilioCode({ code: 400, cause: { errorCode: 20104 } }, (n) => {
      seen.push(n);
      return n >= 10_000;
    });
    expect([found, seen]).toEqual([20104, [400, 20104]]);
  });
});

describe('httpStatus', () => {
  it.each([
    ['response.status first', { response: { status: 503 }, status: 401 }, 503],
    ['then status', { status: 401, statusCode: 500 }, 401],
    ['then statusCode', { statusCode: 500, httpStatusCode: 401 }, 500],
    ['then httpStatusCode', { httpStatusCode: 410 }, 410],
    ['a non-numeric one falls through to the next', { response: { status: 'x' }, status: 401 }, 401],
    ['a throwing response getter falls through', throwing('response', { status: 429 }), 429],
    ['a numeric string', { status: '404' }, 404],
    ['a blank string (Number would make it 0)', { status: '  ' }, undefined],
    ['none', { message: 'x' }, undefined],
    ['not looked for in the cause', { cause: { status: 401 } }, undefined],
    ['a revoked proxy', revoked(), undefined],
  ])('%s', (_label, err, expected) => {
    expect(httpStatus(err)).toBe(expected);
  });
});

describe('Twilio code tables', () => {
  it('refreshable and final codes', () => {
    expect([...REFRESHABLE_TWILIO_CODES]).toEqual([20101, 20104, 31204, 31205, 51207]);
    expect([...FINAL_TWILIO_CODES]).toEqual([20102, 20103, 20105, 20106, 20107, 20151, 20156, 20157, 20160, 31202, 31207]);
    expect(REFRESHABLE_TWILIO_CODES.every(isRefreshableCode)).toBe(true);
    expect(FINAL_TWILIO_CODES.some(isRefreshableCode)).toBe(false);
    expect([...REFRESHABLE_TWILIO_CODES, ...FINAL_TWILIO_CODES].every(isKnownTokenCode)).toBe(true);
    expect(isKnownTokenCode(20003)).toBe(false);
  });
});

describe('isTokenError', () => {
  const cyclic: { status: number; cause?: unknown } = { status: 401 };
  cyclic.cause = cyclic;
  it.each([
    ["twilsock's 51207", { code: 51207 }, true],
    ['a 401 deep in the chain', { message: 'x', cause: { originalError: { status: 401 } } }, true],
    ['a 401 with a final code beside it', { status: 401, code: 20107 }, false],
    ['a 401 with a final code deeper in the chain', { status: 401, cause: { errorCode: '20157' } }, false],
    ['a refreshable code wins over a final one', { code: 20104, cause: { code: 20107 } }, true],
    ['a refreshable code without any status', { originalError: { twilioCode: 31204 } }, true],
    ['a final code alone', { code: 20105 }, false],
    ['a 401 in a cycle', cyclic, true],
    ['403', { status: 403 }, false],
    ['a throwing status getter', throwing('status'), false],
    ['a revoked proxy', revoked(), false],
    ['undefined', undefined, false],
  ])('%s', (_label, err, expected) => {
    expect(isTokenError(err)).toBe(expected);
  });
});
