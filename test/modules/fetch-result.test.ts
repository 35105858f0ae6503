// @vitest-environment node
// Reading what a fetcher resolved with, alone: a token, `{ token, serverTime }`, or anything else.
import { describe, expect, it } from 'vitest';
import { Refusal } from '../../src/classify.js';
import { expiredRefusal, readFetchResult } from '../../src/fetch-result.js';
import { START as T } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';

const token = mintToken({ at: T });

function refusal(value: unknown): Refusal {
  try {
    readFetchResult(value);
  } catch (error) {
    return error as Refusal;
  }
  throw new Error('expected a refusal');
}

describe('readFetchResult', () => {
  it('takes a token string, or { token } with a valid serverTime, decoded', () => {
    expect(readFetchResult(token)).toMatchObject({ token, serverTime: undefined, decoded: { identity: 'alice' } });
    expect(readFetchResult({ token, serverTime: T })).toMatchObject({ token, serverTime: T });
    expect(readFetchResult({ token, serverTime: new Date(T) }).serverTime).toBe(T);
    expect(readFetchResult({ token, serverTime: null }).serverTime).toBe(undefined);
  });

  it.each([
    ['undefined', undefined, 'fetchToken returned neither a string nor { token: string }.'],
    ['an object without token', { jwt: token }, 'fetchToken returned neither a string nor { token: string }.'],
    [
      'a token getter that throws',
      Object.defineProperty({}, 'token', {
        get() {
          throw new Error('getter');
        },
      }),
      'fetchToken returned neither a string nor { token: string }.',
    ],
    ['an HTML page', '<html>', 'Fetched token is malformed: expected three dot-separated parts; an HTML page? check the URL and response.ok.'],
    ['a JSON body', ' {"token":1}', 'Fetched token is malformed: expected three dot-separated parts; JSON? return its token, not the whole body.'],
    ['nothing', '', 'Fetched token is malformed: expected three dot-separated parts; the response is empty.'],
    ['an HTML page after whitespace', '\n  <!doctype html>', 'Fetched token is malformed: expected three dot-separated parts; an HTML page? check the URL and response.ok.'],
    // Only what the value begins with counts: a `<` or a `{` further in is no hint.
    ['text with a tag inside', 'Error <b>', 'Fetched token is malformed: expected three dot-separated parts.'],
    ['text with JSON inside', 'Error {"token":1}', 'Fetched token is malformed: expected three dot-separated parts.'],
    ['garbage', 'a.b.c', 'Fetched token is malformed: header is not base64url-encoded JSON.'],
  ])('refuses %s as TOKEN_MALFORMED, saying what it looks like', (_label, value, message) => {
    const error = refusal(value);
    expect(error).toBeInstanceOf(Refusal);
    expect([error.code, error.message]).toEqual(['TOKEN_MALFORMED', message]);
  });
});

describe('expiredRefusal', () => {
  it.each([
    [5_000, false, 'Fetched token expired 5 s ago by this clock; if it is new, this clock is ahead: return serverTime from fetchToken.'],
    [119_000, true, "Fetched token expired 119 s ago, by the server's clock too (a cached response?)."],
    // From two minutes on, in minutes.
    [120_000, true, "Fetched token expired 2 min ago, by the server's clock too (a cached response?)."],
    [3_600_000, true, "Fetched token expired 60 min ago, by the server's clock too (a cached response?)."],
  ])('%d ms, server time known: %s', (byMs, known, message) => {
    expect(expiredRefusal(byMs, known)).toEqual(new Refusal('TOKEN_EXPIRED', message));
  });
});
