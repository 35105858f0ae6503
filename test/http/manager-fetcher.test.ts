// @vitest-environment node
// createTokenFetcher as an AccessManager's fetchToken, against a real HTTP server: what the manager makes of each
// answer (adoption, skew from the Date header, retries, fatal statuses, timeouts, malformed bodies).
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { AccessManager, AccessManagerError, AccessManagerOptions } from '../../src/index.js';
import { createTokenFetcher, type TokenFetcherOptions } from '../../src/http/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { mintToken } from '../helpers/tokens.mjs';
import { hookArgs, httpStatusOf, KY_VERSIONS } from './ky-under-test.js';
import { sendJson, sendText, sleep, startServer, type Handler, type TestServer } from './server.js';

const FAST_RETRY = { minDelayMs: 1, maxDelayMs: 5 };

let server: TestServer;
let handler: Handler;

beforeEach(async () => {
  handler = (_req, res) => sendText(res, 500, 'no handler');
  server = await startServer((req, res) => handler(req, res));
  // Closed after the test's managers are disposed (onTestFinished runs newest first).
  onTestFinished(() => server.close());
});

describe.each(KY_VERSIONS)('$name', ({ ky }) => {
  /** A manager fetching from the test server's /token, with every `error` it emits collected. */
  function managerFor(
    options: Partial<AccessManagerOptions> = {},
    fetcherOptions: TokenFetcherOptions = {},
  ): { manager: AccessManager; errors: AccessManagerError[] } {
    const manager = createManager({
      fetchToken: createTokenFetcher(`${server.origin}/token`, { ky, ...fetcherOptions }),
      retry: FAST_RETRY,
      ...options,
    });
    const errors: AccessManagerError[] = [];
    manager.on('error', (error) => errors.push(error));
    return { manager, errors };
  }

  describe('createTokenFetcher + AccessManager: success', () => {
    it.each([
      ['JSON { token }', (t: string): Handler => (_req, res) => sendJson(res, 200, { token: t })],
      ['JSON { accessToken }', (t: string): Handler => (_req, res) => sendJson(res, 200, { accessToken: t })],
      ['JSON { jwt }', (t: string): Handler => (_req, res) => sendJson(res, 200, { jwt: t })],
      ['text/plain', (t: string): Handler => (_req, res) => sendText(res, 200, `${t}\n`)],
    ])('adopts a token sent as %s', async (_shape, makeHandler) => {
      const token = mintToken({ identity: 'alice' });
      handler = makeHandler(token);
      const { manager, errors } = managerFor();
      const updates: string[] = [];
      manager.on('tokenUpdated', (info) => updates.push(`${info.source}:${info.token === token}`));
      expect(await manager.getToken()).toBe(token);
      expect(manager.token).toBe(token);
      expect(manager.identity).toBe('alice');
      expect(manager.state).toBe('valid');
      expect(updates).toEqual(['fetch:true']);
      expect(server.to('/token')).toHaveLength(1);
      expect(errors).toEqual([]);
    });

    it('uses a parse override', async () => {
      const token = mintToken();
      handler = (_req, res) => sendJson(res, 200, { data: { credentials: { jwt: token } } });
      const { manager } = managerFor(
        {},
        { parse: async (r) => ((await r.json()) as { data: { credentials: { jwt: string } } }).data.credentials.jwt },
      );
      expect(await manager.getToken()).toBe(token);
    });

    it('forwards method, json body, headers, searchParams and credentials on every fetch', async () => {
      handler = (_req, res) => sendJson(res, 200, { token: mintToken() });
      const credentials: RequestCredentials[] = [];
      const recording = ky.create({
        hooks: { beforeRequest: [(...args) => void credentials.push(hookArgs(args).request.credentials)] },
      });
      const { manager } = managerFor(
        {},
        {
          method: 'post',
          json: { device: 'browser' },
          headers: { 'x-csrf-token': 't0k' },
          searchParams: { scope: 'voice' },
          credentials: 'include',
          ky: recording,
        },
      );
      await manager.getToken();
      await manager.refresh();
      const received = server.to('/token');
      expect(received).toHaveLength(2);
      for (const request of received) {
        expect(request).toMatchObject({ method: 'POST', url: '/token?scope=voice', body: '{"device":"browser"}' });
        expect(request.headers).toMatchObject({ 'x-csrf-token': 't0k', 'content-type': 'application/json' });
      }
      expect(credentials).toEqual(['include', 'include']);
    });
  });

  describe('createTokenFetcher + AccessManager: clock skew from the Date header', () => {
    // The server's clock runs 10 minutes ahead of this machine's and it mints a token with 5 minutes left by its
    // own clock: locally that token looks good for 15 more minutes.
    const AHEAD = 10 * 60_000;
    function skewedServer(clock: ManualClock): string {
      const serverNow = clock.now() + AHEAD;
      const token = mintToken({ at: serverNow - 55 * 60_000, ttl: 3600 });
      handler = (_req, res) => sendJson(res, 200, { token }, { date: new Date(serverNow).toUTCString() });
      return token;
    }

    it("with clockSkew 'auto', isExpired and state follow the server's clock", async () => {
      const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
      skewedServer(clock);
      const auto = managerFor({ clock, autoRefresh: false, aboutToExpireMs: 8 * 60_000 }).manager;
      const fixed = managerFor({ clock, autoRefresh: false, aboutToExpireMs: 8 * 60_000, clockSkew: 0 }).manager;
      await Promise.all([auto.getToken(), fixed.getToken()]);

      expect(auto.state).toBe('aboutToExpire'); // 5 min left < 8 min
      expect(fixed.state).toBe('valid'); // believes 15 min are left
      clock.jump(6 * 60_000);
      expect(auto.isExpired).toBe(true);
      expect(auto.state).toBe('expired');
      expect(fixed.isExpired).toBe(false);
    });

    it("schedules tokenAboutToExpire on the server's clock", async () => {
      const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
      const token = skewedServer(clock);
      const { manager } = managerFor({ clock, autoRefresh: false }); // aboutToExpireMs: 3 min
      const fired: Array<{ msLeft: number; token: string }> = [];
      manager.on('tokenAboutToExpire', (info) => fired.push({ msLeft: info.msLeft, token: info.token }));
      await manager.getToken();

      await clock.advance(2 * 60_000 - 1);
      expect(fired).toEqual([]);
      await clock.advance(1);
      expect(fired).toEqual([{ msLeft: 3 * 60_000, token }]);
    });
  });

  describe('createTokenFetcher + AccessManager: failures', () => {
    it('retries a 500 and adopts the next answer', async () => {
      const token = mintToken();
      let calls = 0;
      handler = (_req, res) => (++calls === 1 ? sendJson(res, 500, { error: 'boom' }) : sendJson(res, 200, { token }));
      const { manager, errors } = managerFor();
      expect(await manager.getToken()).toBe(token);
      expect(server.to('/token')).toHaveLength(2);
      expect(errors.map((e) => [e.code, e.attempt, typeof e.retryInMs])).toEqual([['FETCH_FAILED', 1, 'number']]);
      expect(httpStatusOf(errors[0].cause)).toBe(500);
      expect(manager.state).toBe('valid');
    });

    it.each([401, 403])('treats %i as fatal: FETCH_UNAUTHORIZED, state failed, one request', async (status) => {
      handler = (_req, res) => sendJson(res, status, { error: 'session expired' });
      const { manager, errors } = managerFor();
      const error = await manager.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AccessManagerError', code: 'FETCH_UNAUTHORIZED' });
      expect(httpStatusOf((error as AccessManagerError).cause)).toBe(status);
      expect(manager.state).toBe('failed');
      await sleep(30); // no retry may follow, even later
      expect(server.to('/token')).toHaveLength(1);
      expect(errors.map((e) => [e.code, e.retryInMs])).toEqual([['FETCH_UNAUTHORIZED', undefined]]);
    });

    it('aborts a slow response at fetchTimeoutMs: FETCH_TIMEOUT, and the server sees the request go away', async () => {
      handler = () => {}; // never answers
      const { manager, errors } = managerFor({ fetchTimeoutMs: 50, retry: false });
      await expect(manager.getToken()).rejects.toMatchObject({ code: 'FETCH_TIMEOUT' });
      const aborted = await server.abortedRequests(1);
      expect(aborted.map((r) => r.url)).toEqual(['/token']);
      expect(server.to('/token')).toHaveLength(1);
      expect(errors.map((e) => e.code)).toEqual(['FETCH_TIMEOUT']);
    });

    it('retries after a timeout and adopts the next answer', async () => {
      const token = mintToken();
      let calls = 0;
      handler = (_req, res) => {
        if (++calls > 1) sendText(res, 200, token);
      };
      // Roomier than 50 ms: the second answer must beat the limit even on a loaded machine.
      const { manager, errors } = managerFor({ fetchTimeoutMs: 250 });
      expect(await manager.getToken()).toBe(token);
      expect(errors.map((e) => e.code)).toEqual(['FETCH_TIMEOUT']);
      await server.abortedRequests(1);
    });

    const html = { 'content-type': 'text/html' };
    const json = { 'content-type': 'application/json' };
    // [the answer, what the message says about it, the handler sending it]
    const cases: Array<[string, string, Handler]> = [
      ['a text that is not a JWT', 'is not a JWT: it has 1 dot-separated', (_q, r) => sendText(r, 200, 'definitely')],
      ['an HTML page', 'is not a JWT: it looks like HTML', (_q, r) => sendText(r, 200, '<p>definitely</p>', html)],
      ['a JSON body without a token field', 'has no string "token"', (_q, r) => sendJson(r, 200, { secret: 'hush' })],
      ['a JSON body that does not parse', 'is not valid JSON', (_q, r) => sendText(r, 200, '{"token":', json)],
      ['an empty body', 'is not a JWT: it is empty', (_q, r) => sendText(r, 200, '')],
    ];
    it.each(cases)('reports %s as TOKEN_MALFORMED, saying why', async (_case, reason, malformed) => {
      handler = malformed;
      const { manager, errors } = managerFor({ retry: false });
      const error = await manager.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AccessManagerError', code: 'TOKEN_MALFORMED' });
      expect((error as Error).message).toContain(`Token endpoint response ${reason}`);
      expect((error as Error).message).not.toMatch(/hush|definitely/);
      expect(errors.map((e) => e.code)).toEqual(['TOKEN_MALFORMED']);
      expect(server.to('/token')).toHaveLength(1);
    });

    it.each([429, 503])('passes retryAfterMs from a %i Retry-After header on to the manager', async (status) => {
      handler = (_req, res) => sendJson(res, status, { error: 'slow down' }, { 'retry-after': '30' });
      const { manager, errors } = managerFor({ retry: false });
      const error = await manager.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AccessManagerError', code: 'FETCH_FAILED' });
      const cause = (error as AccessManagerError).cause;
      expect(httpStatusOf(cause)).toBe(status);
      expect((cause as { retryAfterMs?: unknown }).retryAfterMs).toBe(30_000);
      expect(errors.map((e) => e.code)).toEqual(['FETCH_FAILED']);
      expect(server.to('/token')).toHaveLength(1);
    });

    it('retries a malformed body and adopts the next good one', async () => {
      const token = mintToken();
      let calls = 0;
      handler = (_req, res) => (++calls === 1 ? sendJson(res, 200, { nope: 1 }) : sendJson(res, 200, { jwt: token }));
      const { manager, errors } = managerFor();
      expect(await manager.getToken()).toBe(token);
      expect(errors.map((e) => [e.code, typeof e.retryInMs])).toEqual([['TOKEN_MALFORMED', 'number']]);
      expect(server.to('/token')).toHaveLength(2);
    });

    it('dispose() aborts an in-flight token request', async () => {
      handler = () => {};
      const { manager } = managerFor();
      const pending = manager.getToken().catch((e: unknown) => e);
      while (server.requests.length === 0) await sleep(5);
      manager.dispose();
      expect(await pending).toMatchObject({ code: 'DISPOSED' });
      await server.abortedRequests(1);
    });
  });
});
