// @vitest-environment node
// createTokenFetcher against a stand-in ky instance that answers with a prepared Response (or throws): the default
// reader's edge cases, Retry-After on errors that only look like ky's, what a custom parse's result becomes, and
// the signal plumbing. (token-fetcher.test.ts runs the fetcher against a real server with ky 1 and ky 2.)
import type { KyInstance } from 'ky';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createTokenFetcher, type TokenFetcherOptions } from '../../src/http/token-fetcher.js';
import type { FetchContext } from '../../src/types.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** Removes AbortSignal.any (Safari < 17.4) until the current test finishes. */
function withoutAbortSignalAny(): void {
  const original = Object.getOwnPropertyDescriptor(AbortSignal, 'any')!;
  Object.defineProperty(AbortSignal, 'any', { value: undefined, configurable: true, writable: true });
  onTestFinished(() => {
    Object.defineProperty(AbortSignal, 'any', original);
  });
}

const context = (signal = new AbortController().signal): FetchContext => ({ signal, reason: 'manual', attempt: 1 });

/** A ky stand-in that answers every call with `answer()` (or throws what it throws), recording the calls. */
function fakeKy(answer: () => Response) {
  const calls: Array<[unknown, Record<string, unknown>]> = [];
  const ky = async (input: unknown, options: Record<string, unknown>) => {
    calls.push([input, options]);
    return answer();
  };
  return { ky: ky as unknown as KyInstance, calls };
}

const reply = (body: string, headers: Record<string, string> = {}) => () => new Response(body, { headers });

async function read(body: string, headers: Record<string, string>, options: TokenFetcherOptions = {}) {
  const { ky } = fakeKy(reply(body, headers));
  return createTokenFetcher('https://auth.test/token', { ky, ...options })(context());
}

async function refusal(body: string, headers: Record<string, string>) {
  const error = (await read(body, headers).catch((e: unknown) => e)) as Error & { code?: string };
  expect(error.code).toBe('TOKEN_MALFORMED');
  return error.message.replace(/^Token endpoint response /, '').replace(/\.$/, '');
}

describe('the default reader', () => {
  it('trims a JSON string and a token field', async () => {
    expect(await read('" aaa.bbb.ccc "', { 'content-type': 'application/json' })).toEqual({ token: 'aaa.bbb.ccc' });
    expect(await read('{"token":" aaa.bbb.ccc\\n"}', { 'content-type': 'application/json' })).toEqual({ token: 'aaa.bbb.ccc' });
  });

  it.each([
    ['a JSON number', '5', 'is JSON but not an object with a "token", "accessToken" or "jwt" field (content-type application/json, 1 characters)'],
    ['JSON null', 'null', 'is JSON but not an object with a "token", "accessToken" or "jwt" field (content-type application/json, 4 characters)'],
    ['an "errors" answer', '{"errors":[]}', 'has no string "token", "accessToken" or "jwt" field (it looks like an error answer); pass `parse` to read another shape (content-type application/json, 13 characters)'],
    ['a "message" answer', '{"message":"x"}', 'has no string "token", "accessToken" or "jwt" field (it looks like an error answer); pass `parse` to read another shape (content-type application/json, 15 characters)'],
    ['an object of other fields', '{"tokn":"x"}', 'has no string "token", "accessToken" or "jwt" field; pass `parse` to read another shape (content-type application/json, 12 characters)'],
    ['four parts', 'aaa.bbb.ccc.ddd', 'is not a JWT: it has 4 dot-separated parts, a JWT has 3 (content-type application/jwt, 15 characters)'],
  ])('refuses %s, saying why', async (_label, body, why) => {
    const type = body.startsWith('aaa') ? 'application/jwt' : 'application/json';
    expect(await refusal(body, { 'content-type': type })).toBe(why);
  });

  it.each([
    ['a brace inside HTML-typed text is no JSON', 'text/html', 'abc{', 'is not a JWT: it has 1 dot-separated part, a JWT has 3 (content-type text/html, 4 characters)'],
    ['a brace later in the text is no JSON look-alike', 'text/plain', 'abc{', 'is not a JWT: it has 1 dot-separated part, a JWT has 3 (content-type text/plain, 4 characters)'],
    ['"bearer" later in the text', 'text/plain', 'my bearer x', 'is not a JWT: it contains spaces or line breaks (content-type text/plain, 11 characters)'],
    ['a content type in capitals with spaces', 'Text/Plain ; charset=utf-8', 'x', 'is not a JWT: it has 1 dot-separated part, a JWT has 3 (content-type text/plain, 1 characters)'],
    ['a content type with a space inside', 'bad type/plain', 'x', 'is not a JWT: it has 1 dot-separated part, a JWT has 3 (no usable content-type, 1 characters)'],
    ['a content type with more after it', 'text/plain extra', 'x', 'is not a JWT: it has 1 dot-separated part, a JWT has 3 (no usable content-type, 1 characters)'],
  ])('%s', async (_label, type, body, why) => {
    expect(await refusal(body, { 'content-type': type })).toBe(why);
  });
});

describe('what a custom parse returns', () => {
  const date = 'Tue, 01 Jan 2030 00:00:00 GMT';

  it('an object gets the Date header as serverTime; without one it stays as it is', async () => {
    const parse = async () => ({ token: 't' });
    expect(await read('', { date }, { parse })).toStrictEqual({ token: 't', serverTime: Date.parse(date) });
    expect(await read('', {}, { parse })).toStrictEqual({ token: 't' });
  });

  it.each([
    ['a number', 42],
    ['null', null],
  ])('%s is passed on as it is, for the manager to refuse', async (_label, value) => {
    const parse = async () => value as never;
    expect(await read('', { date }, { parse })).toBe(value);
  });
});

describe('errors', () => {
  const busy = () => new Response(null, { status: 429, headers: { 'retry-after': '5' } });

  it.each([
    ['an error of another name with a 429 response', () => Object.assign(new Error('x'), { response: busy() })],
    ['an HTTPError without a response', () => Object.assign(new Error('x'), { name: 'HTTPError' })],
    ['an HTTPError whose response has no headers', () => Object.assign(new Error('x'), { name: 'HTTPError', response: { status: 429 } })],
    ['an HTTPError whose headers have no get', () => Object.assign(new Error('x'), { name: 'HTTPError', response: { status: 429, headers: {} } })],
    ['null', () => null],
  ])('%s: passed on unchanged', async (_label, make) => {
    const thrown = make();
    const { ky } = fakeKy(() => {
      throw thrown;
    });
    const error = await createTokenFetcher('https://auth.test/token', { ky })(context()).catch((e: unknown) => e);
    expect(error).toBe(thrown);
    if (thrown) expect(thrown).not.toHaveProperty('retryAfterMs');
  });

  it('an HTTPError with a 429 response gets retryAfterMs', async () => {
    const thrown = Object.assign(new Error('x'), { name: 'HTTPError', response: busy() });
    const { ky } = fakeKy(() => {
      throw thrown;
    });
    await expect(createTokenFetcher('https://auth.test/token', { ky })(context())).rejects.toMatchObject({ retryAfterMs: 5000 });
  });
});

describe('signals', () => {
  it('an attempt already aborted rejects with its reason and sends nothing', async () => {
    const { ky, calls } = fakeKy(reply('aaa.bbb.ccc'));
    const controller = new AbortController();
    const reason = new Error('given up');
    controller.abort(reason);
    await expect(createTokenFetcher('https://auth.test/token', { ky })(context(controller.signal))).rejects.toBe(reason);
    expect(calls).toEqual([]);
  });

  it('without AbortSignal.any, drops its listeners on both signals once the attempt is over', async () => {
    withoutAbortSignalAny();
    const { ky } = fakeKy(reply('aaa.bbb.ccc'));
    const own = new AbortController();
    const attempt = new AbortController();
    const removeOwn = vi.spyOn(own.signal, 'removeEventListener');
    const removeAttempt = vi.spyOn(attempt.signal, 'removeEventListener');
    await createTokenFetcher('https://auth.test/token', { ky, signal: own.signal })(context(attempt.signal));
    expect(removeOwn).toHaveBeenCalledWith('abort', expect.any(Function));
    expect(removeAttempt).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('works where Request is missing (an older runtime): the input goes to ky as it is', async () => {
    const { ky, calls } = fakeKy(reply('aaa.bbb.ccc'));
    vi.stubGlobal('Request', undefined);
    expect(await createTokenFetcher('https://auth.test/token', { ky })(context())).toEqual({ token: 'aaa.bbb.ccc' });
    expect(calls[0]![0]).toBe('https://auth.test/token');
  });
});
