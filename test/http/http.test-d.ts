// The http helpers' types against the installed ky's declarations. Compiled twice: with `ky` as ky 2 (the unit
// project) and with `ky` mapped to ky 1's declarations (the types-ky1 project, test/http/tsconfig.ky1.json), so
// both the helpers' source and a user's code type-check with either major. Nothing here names a major-only option.
import ky, { type KyInstance, type KyResponse, type Options } from 'ky';
import { describe, expectTypeOf, it } from 'vitest';
import type { AccessManager, AccessManagerOptions, FetchContext } from '../../src/index.js';
import {
  authorizedKy,
  createTokenFetcher,
  type TokenFetcherOptions,
  type TokenFetcherResult,
  type TokenProvider,
  type TokenResponseParser,
} from '../../src/http/index.js';

declare const manager: AccessManager;

describe('authorizedKy types', () => {
  it('takes an AccessManager or any TokenProvider, and ky or an instance of it, and returns an instance', () => {
    expectTypeOf<AccessManager>().toExtend<TokenProvider>();
    expectTypeOf(authorizedKy(manager)).toEqualTypeOf<KyInstance>();
    expectTypeOf(authorizedKy(manager, ky.create({ headers: { 'x-app': 'demo' }, retry: 0 }))).toEqualTypeOf<KyInstance>();
    const fixed: TokenProvider = { token: 't', getToken: async () => 't', refresh: async () => 't' };
    expectTypeOf(authorizedKy(fixed, ky)).toEqualTypeOf<KyInstance>();
  });

  it('keeps the instance typed as ky: responses, json and extend', () => {
    const api = authorizedKy(manager);
    expectTypeOf(api.get('rooms').json<{ sid: string }[]>()).toEqualTypeOf<Promise<{ sid: string }[]>>();
    expectTypeOf(api.post('rooms', { json: { name: 'standup' } })).resolves.toEqualTypeOf<KyResponse>();
    expectTypeOf(api.extend({ timeout: 5000 })).toEqualTypeOf<KyInstance>();
  });

  it('refuses what is not a token provider', () => {
    // @ts-expect-error: no getToken/refresh
    authorizedKy({ token: 't' });
    // @ts-expect-error: getToken must return a Promise<string>
    authorizedKy({ token: 't', getToken: () => 't', refresh: async () => 't' });
  });
});

describe('createTokenFetcher types', () => {
  it('returns a fetchToken the manager accepts', () => {
    const fetchToken = createTokenFetcher('/api/token', { method: 'post', json: { device: 'browser' } });
    expectTypeOf(fetchToken).toEqualTypeOf<(context: FetchContext) => Promise<TokenFetcherResult>>();
    expectTypeOf(fetchToken).toExtend<NonNullable<AccessManagerOptions['fetchToken']>>();
  });

  it("accepts a URL string, URL or Request, ky's request options, parse and an instance", () => {
    const parse: TokenResponseParser = async (response) => ({ token: await response.text(), serverTime: new Date() });
    createTokenFetcher(new URL('https://auth.example.com/token'));
    createTokenFetcher(new Request('/token', { method: 'POST' }), { parse });
    createTokenFetcher('/token', {
      headers: { 'x-csrf-token': 'abc' },
      credentials: 'include',
      searchParams: { scope: 'chat' },
      signal: AbortSignal.timeout(1000),
      ky: ky.create({ headers: { 'x-app': 'demo' } }),
    });
    expectTypeOf<TokenFetcherOptions>().toExtend<Omit<Options, 'retry' | 'timeout' | 'throwHttpErrors'>>();
  });

  it('refuses the options the manager owns', () => {
    // @ts-expect-error: the manager retries
    createTokenFetcher('/token', { retry: 2 });
    // @ts-expect-error: the manager times attempts out
    createTokenFetcher('/token', { timeout: 5000 });
    // @ts-expect-error: the manager needs HTTPError for 401/403
    createTokenFetcher('/token', { throwHttpErrors: false });
  });
});
