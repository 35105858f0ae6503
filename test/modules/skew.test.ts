// @vitest-environment node
// Clock skew alone: which server times are believed, and what skew a token (and maybe a server time) teaches.
// Tokens are real Twilio tokens minted at whole seconds, so `iat` is exactly the minting time.
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decodeToken } from '../../src/decode.js';
import { MIN_SKEW_MS, learnSkew, plausible, serverTimeOf } from '../../src/skew.js';
import { DAY, HOUR, MIN, START as T } from '../helpers/time.mjs';
import { mintToken, rawToken } from '../helpers/tokens.mjs';

/** Minted at T, one hour: iat T, exp T + 1 h. */
const decoded = decodeToken(mintToken({ at: T }));

describe('serverTimeOf', () => {
  const foreignDate = vm.runInNewContext('new Date(1234)') as unknown;
  const foreignInvalid = vm.runInNewContext('new Date(NaN)') as unknown;
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const rows: Array<[string, unknown, number | undefined]> = [
    ['a number', 1_700_000_000_000, 1_700_000_000_000],
    ['0 (judged later by plausible)', 0, 0],
    ['a negative number', -5, -5],
    ['NaN', Number.NaN, undefined],
    ['Infinity', Number.POSITIVE_INFINITY, undefined],
    ['-Infinity', Number.NEGATIVE_INFINITY, undefined],
    ['a Date', new Date(T), T],
    ['a Date subclass', new (class extends Date {})(T), T],
    ['an invalid Date', new Date(Number.NaN), undefined],
    ['a Date from another realm', foreignDate, 1234],
    ['an invalid Date from another realm', foreignInvalid, undefined],
    ['a date string', '2026-11-23T12:00:00Z', undefined],
    ['a numeric string', String(T), undefined],
    ['a bigint', 5n, undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['an object with getTime', { getTime: () => T }, undefined],
    ['an object posing as a Date by toStringTag', { [Symbol.toStringTag]: 'Date' }, undefined],
    ['a proxy of a Date', new Proxy(new Date(T), {}), undefined],
    ['a revoked proxy', revoked.proxy, undefined],
  ];
  it.each(rows)('%s', (_label, value, expected) => {
    expect(serverTimeOf(value)).toBe(expected);
  });
});

describe('plausible', () => {
  // Never more than a minute before the token's iat: no server hands out a token from its own future, and a time
  // from before it would keep the token looking valid long past its real expiry.
  it.each([
    ['a minute before iat: plausible', T - MIN, true],
    ['one ms earlier: not', T - MIN - 1, false],
    ['the token lifetime after exp: plausible', T + 2 * HOUR, true],
    ['one ms later: not', T + 2 * HOUR + 1, false],
    ['iat itself: plausible', T, true],
    ['the epoch (a serverTime of 0 or null): not', 0, false],
  ])('%s', (_label, serverTime, expected) => {
    expect(plausible(decoded, serverTime)).toBe(expected);
  });

  it('a token without iat is assumed to live at most a day: from a day (and a minute) before exp to a day after', () => {
    const exp = T / 1000 + 3600;
    const noIat = decodeToken(rawToken({ exp }));
    expect(plausible(noIat, exp * 1000 - DAY - MIN)).toBe(true);
    expect(plausible(noIat, exp * 1000 - DAY - MIN - 1)).toBe(false);
    expect(plausible(noIat, exp * 1000 + DAY)).toBe(true);
    expect(plausible(noIat, exp * 1000 + DAY + 1)).toBe(false);
  });

  it('an iat after exp counts as no lifetime: from a minute before iat to a day after exp', () => {
    const exp = T / 1000;
    const odd = decodeToken(rawToken({ iat: exp + 60, exp }));
    expect(plausible(odd, (exp + 60) * 1000 - MIN)).toBe(true);
    expect(plausible(odd, (exp + 60) * 1000 - MIN - 1)).toBe(false);
    expect(plausible(odd, exp * 1000 + DAY)).toBe(true);
  });

  it('an iat equal to exp counts as no lifetime too: a day after exp is still plausible', () => {
    const exp = T / 1000;
    const zero = decodeToken(rawToken({ iat: exp, exp }));
    expect(plausible(zero, exp * 1000 + HOUR)).toBe(true);
    expect(plausible(zero, exp * 1000 + DAY)).toBe(true);
    expect(plausible(zero, exp * 1000 + DAY + 1)).toBe(false);
  });
});

describe('learnSkew', () => {
  it('MIN_SKEW_MS is one second', () => {
    expect(MIN_SKEW_MS).toBe(1000);
  });

  describe('with a plausible server time: trusted both ways, replacing the current skew', () => {
    it.each([
      ['server ahead 5 s', 0, T, T + 5000, 5000],
      ['server behind 5 s', 0, T, T - 5000, -5000],
      ['exactly 1 s ahead', 0, T, T + 1000, 1000],
      ['exactly 1 s behind', 0, T, T - 1000, -1000],
      ['999 ms ahead is noise', 7000, T, T + 999, 0],
      ['999 ms behind is noise', -7000, T, T - 999, 0],
      ['a smaller measurement lowers a larger skew', 60_000, T, T + 2000, 2000],
    ])('%s', (_label, current, now, serverTime, expected) => {
      expect(learnSkew(current, decoded, now, serverTime)).toBe(expected);
    });
  });

  it('an implausible server time is ignored: then only the iat rule applies', () => {
    expect(learnSkew(3000, decoded, T, 0)).toBe(3000);
    expect(learnSkew(0, decoded, T - 5000, 0)).toBe(5000);
  });

  describe('without a server time: only an iat in the local future says something', () => {
    it.each([
      ['iat 5 s ahead', 0, T - 5000, 5000],
      ['iat exactly 1 s ahead', 0, T - 1000, 1000],
      ['iat 999 ms ahead is noise', 0, T - 999, 0],
      ['iat ahead, but less than the current skew', 8000, T - 5000, 8000],
      ['iat ahead of a negative current skew', -3000, T - 5000, 5000],
      ['iat now', 2000, T, 2000],
      ['an old iat never lowers the skew', 5000, T + HOUR, 5000],
      ['an old iat never makes one up', 0, T + HOUR, 0],
    ])('%s', (_label, current, now, expected) => {
      expect(learnSkew(current, decoded, now)).toBe(expected);
    });

    it('a token without iat keeps the current skew', () => {
      const noIat = decodeToken(rawToken({ exp: T / 1000 + 3600 }));
      expect(learnSkew(4000, noIat, T - 60_000)).toBe(4000);
    });
  });
});
