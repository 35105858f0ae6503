// @vitest-environment node
// createTokenFetcher on its own, against a real HTTP server: body shapes, serverTime, what is forwarded, and how
// failures surface (the manager-integrated behaviour lives in manager-fetcher.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAccessManagerError } from '../../src/errors.js';
import { createTokenFetcher } from '../../src/http/index.js';
import type { FetchContext } from '../../src/types.js';
import { mintToken } from '../helpers/tokens.mjs';
import { hookArgs, httpStatusOf, KY_VERSIONS } from './ky-under-test.js';
import { sendJson, sendText, startServer, type Handler, type TestServer } from './server.js';

let server: TestServer;
let handler: Handler;

beforeEach(async () => {
  handler = (_req, res) => sendText(res, 500, 'no handler');
  server = await startServer((req, res) => handler(req, res));
});
afterEach(async () => {
  await server.close();
});

const context = (signal = new AbortController().signal): FetchContext => ({ signal, reason: 'manual', attempt: 1 });

describe('createTokenFetcher: the default instance', () => {
  it('sends GET by default, with nothing added to the body, through ky itself', async () => {
    handler = (_req, res) => sendText(res, 200, mintToken());
    await createTokenFetcher(`${server.origin}/token`)(context());
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/token', body: '' });
  });
});

describe.each(KY_VERSIONS)('$name', ({ ky, base }) => {
  describe('createTokenFetcher: body shapes', () => {
    const token = mintToken();

    it.each([
      ['token', { token }],
      ['accessToken', { accessToken: token }],
      ['jwt', { jwt: token }],
    ])('reads a JSON body with "%s"', async (_key, body) => {
      handler = (_req, res) => sendJson(res, 200, body);
      const result = await createTokenFetcher(`${server.origin}/token`, { ky })(context());
      expect(result.token).toBe(token);
    });

    it('prefers "token" over "accessToken" over "jwt" and skips keys that are not strings', async () => {
      handler = (_req, res) => sendJson(res, 200, { token: null, accessToken: token, jwt: 'other' });
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe(token);
    });

    it('reads a text/plain body and trims it', async () => {
      handler = (_req, res) => sendText(res, 200, `\n  ${token}\r\n`);
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe(token);
    });

    it('reads an application/jwt body and a JSON string body', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/jwt' });
        res.end(token);
      };
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe(token);
      handler = (_req, res) => sendJson(res, 200, token);
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe(token);
    });

    it('reads JSON sent with a wrong or missing content type', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(JSON.stringify({ accessToken: token }));
      };
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe(token);
    });

    it('returns a JWT-shaped text as it is, for the manager to decode', async () => {
      handler = (_req, res) => sendText(res, 200, 'aaa.bbb.ccc');
      expect((await createTokenFetcher(`${server.origin}/token`, { ky })(context())).token).toBe('aaa.bbb.ccc');
    });

    const html = '<!doctype html><html><body>Sign in, secret-csrf-value</body></html>';
    // [what the endpoint sends, its content type, the body, the message after "Token endpoint response "]
    it.each([
      [
        'an HTML page',
        'text/html',
        html,
        'is not a JWT: it looks like HTML, perhaps an error or login page (content-type text/html, 67 characters)',
      ],
      ['an empty body', 'text/plain', '', 'is not a JWT: it is empty (content-type text/plain, 0 characters)'],
      [
        'JSON sent as text/plain',
        'text/plain',
        '{"token":"secret-value"}',
        'is not a JWT: it looks like JSON sent as text/plain (content-type text/plain, 24 characters)',
      ],
      [
        'a Bearer prefix',
        'text/plain',
        'Bearer aaa.bbb.ccc',
        'is not a JWT: it starts with "Bearer "; send the bare token (content-type text/plain, 18 characters)',
      ],
      [
        'words',
        'text/plain',
        'secret words here',
        'is not a JWT: it contains spaces or line breaks (content-type text/plain, 17 characters)',
      ],
      [
        'two parts',
        'application/jwt',
        'secret.value',
        'is not a JWT: it has 2 dot-separated parts, a JWT has 3 (content-type application/jwt, 12 characters)',
      ],
      [
        'an empty part',
        'text/plain',
        'secret..value',
        'is not a JWT: a JWT has three non-empty base64url parts (content-type text/plain, 13 characters)',
      ],
      [
        'a JSON string that is not a JWT',
        'application/json',
        '"secret-value"',
        'is a JSON string that is not a JWT: it has 1 dot-separated part, a JWT has 3 (content-type application/json, 14 characters)',
      ],
      [
        'a token field that is not a JWT',
        'application/json; charset=utf-8',
        '{"token":"<b>secret</b>"}',
        'has a "token" field that is not a JWT: it looks like HTML, perhaps an error or login page (content-type application/json, 25 characters)',
      ],
      [
        'a JSON array',
        'application/json',
        '["secret"]',
        'is JSON but not an object with a "token", "accessToken" or "jwt" field (content-type application/json, 10 characters)',
      ],
      [
        'a JSON error answer',
        'application/json',
        '{"error":"secret reason"}',
        'has no string "token", "accessToken" or "jwt" field (it looks like an error answer); pass `parse` to read another shape (content-type application/json, 25 characters)',
      ],
      [
        'a JSON body that does not parse',
        'application/json',
        '{"token": "secret',
        'is not valid JSON (content-type application/json, 17 characters)',
      ],
      [
        'no content type',
        '',
        'secret',
        'is not a JWT: it has 1 dot-separated part, a JWT has 3 (no usable content-type, 6 characters)',
      ],
    ])('rejects %s with TOKEN_MALFORMED saying why, without the body', async (_case, contentType, body, reason) => {
      handler = (_req, res) => {
        res.writeHead(200, contentType ? { 'content-type': contentType } : {});
        res.end(body);
      };
      const error = await createTokenFetcher(`${server.origin}/token`, { ky })(context()).catch((e: unknown) => e);
      expect(isAccessManagerError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'TOKEN_MALFORMED', message: `Token endpoint response ${reason}.` });
      expect((error as Error).message).not.toMatch(/secret/);
    });

    it('rejects a JSON body without a token with TOKEN_MALFORMED, never echoing the body', async () => {
      const secret = 'sk_live_do_not_log_me';
      handler = (_req, res) => sendJson(res, 200, { tokn: token, secret });
      const error = await createTokenFetcher(`${server.origin}/token`, { ky })(context()).catch((e: unknown) => e);
      expect(isAccessManagerError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'TOKEN_MALFORMED' });
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).not.toContain(token.slice(0, 20));
    });

    it('rejects a JSON body that does not parse with TOKEN_MALFORMED', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"token": "${token}"`);
      };
      await expect(createTokenFetcher(`${server.origin}/token`, { ky })(context())).rejects.toMatchObject({
        code: 'TOKEN_MALFORMED',
      });
    });
  });

  describe('createTokenFetcher: serverTime', () => {
    it('returns the Date header as serverTime (ms since the epoch)', async () => {
      const serverNow = Date.UTC(2031, 0, 2, 3, 4, 5);
      handler = (_req, res) => sendJson(res, 200, { token: mintToken() }, { date: new Date(serverNow).toUTCString() });
      const result = await createTokenFetcher(`${server.origin}/token`, { ky })(context());
      expect(result.serverTime).toBe(serverNow);
    });

    it('uses the real Date header node:http sends', async () => {
      handler = (_req, res) => sendText(res, 200, mintToken());
      const before = Math.floor(Date.now() / 1000) * 1000;
      const result = await createTokenFetcher(`${server.origin}/token`, { ky })(context());
      expect(result.serverTime).toBeGreaterThanOrEqual(before);
      expect(result.serverTime).toBeLessThanOrEqual(Date.now());
    });

    it('leaves serverTime out when the Date header is missing or unparseable', async () => {
      const token = mintToken();
      handler = (_req, res) => {
        res.sendDate = false;
        sendText(res, 200, token);
      };
      expect(await createTokenFetcher(`${server.origin}/token`, { ky })(context())).toEqual({ token });
      handler = (_req, res) => sendText(res, 200, token, { date: 'yesterday-ish' });
      expect(await createTokenFetcher(`${server.origin}/token`, { ky })(context())).toEqual({ token });
    });
  });

  describe('createTokenFetcher: parse', () => {
    it('uses a custom parse and still adds serverTime from the Date header', async () => {
      const token = mintToken();
      const serverNow = Date.UTC(2030, 5, 6, 7, 8, 9);
      handler = (_req, res) => sendJson(res, 200, { data: { jwt: token } }, { date: new Date(serverNow).toUTCString() });
      const fetcher = createTokenFetcher(`${server.origin}/token`, {
        ky,
        parse: async (response) => ((await response.json()) as { data: { jwt: string } }).data.jwt,
      });
      expect(await fetcher(context())).toEqual({ token, serverTime: serverNow });
    });

    it("keeps a serverTime that parse returns over the Date header's", async () => {
      const token = mintToken();
      const own = new Date(Date.UTC(2029, 0, 1));
      handler = (_req, res) => sendJson(res, 200, { t: token });
      const fetcher = createTokenFetcher(`${server.origin}/token`, {
        ky,
        parse: async (response) => ({ token: ((await response.json()) as { t: string }).t, serverTime: own }),
      });
      expect(await fetcher(context())).toEqual({ token, serverTime: own });
    });

    it('lets an error thrown by parse through unchanged', async () => {
      handler = (_req, res) => sendText(res, 200, 'x');
      const boom = new Error('parse failed');
      const fetcher = createTokenFetcher(`${server.origin}/token`, { ky, parse: () => Promise.reject(boom) });
      await expect(fetcher(context())).rejects.toBe(boom);
    });
  });

  describe('createTokenFetcher: the request', () => {
    it('forwards method, json body, headers, searchParams and credentials', async () => {
      handler = (_req, res) => sendText(res, 200, mintToken());
      const seen: RequestCredentials[] = [];
      const recording = ky.create({
        hooks: { beforeRequest: [(...args) => void seen.push(hookArgs(args).request.credentials)] },
      });
      const fetcher = createTokenFetcher(new URL(`${server.origin}/token`), {
        method: 'post',
        json: { identity: 'alice', device: 'browser' },
        headers: { 'x-csrf-token': 'abc123' },
        searchParams: { scope: 'chat' },
        credentials: 'include',
        ky: recording,
      });
      await fetcher(context());
      expect(server.requests).toHaveLength(1);
      const [received] = server.requests;
      expect(received.method).toBe('POST');
      expect(received.url).toBe('/token?scope=chat');
      expect(received.headers['x-csrf-token']).toBe('abc123');
      expect(received.headers['content-type']).toBe('application/json');
      expect(JSON.parse(received.body)).toEqual({ identity: 'alice', device: 'browser' });
      expect(seen).toEqual(['include']);
    });

    it('accepts a Request and sends its body again on every attempt', async () => {
      handler = (_req, res) => sendText(res, 200, mintToken());
      const request = new Request(`${server.origin}/token`, {
        method: 'POST',
        body: 'grant=session',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-app': 'demo' },
      });
      const fetcher = createTokenFetcher(request, { ky });
      await fetcher(context());
      await fetcher({ ...context(), attempt: 2 });
      expect(server.requests.map((r) => [r.method, r.body, r.headers['x-app']])).toEqual([
        ['POST', 'grant=session', 'demo'],
        ['POST', 'grant=session', 'demo'],
      ]);
    });

    it("uses the given ky instance's base URL (prefix / prefixUrl) and headers", async () => {
      handler = (_req, res) => sendText(res, 200, mintToken());
      const api = ky.create({ ...base(`${server.origin}/auth`), headers: { 'x-from': 'instance' } });
      await createTokenFetcher('token', { ky: api })(context());
      expect(server.requests[0]).toMatchObject({ url: '/auth/token', headers: { 'x-from': 'instance' } });
    });

    it("never retries on its own, even with an instance that would (retry: 0 overrides the instance's)", async () => {
      handler = (_req, res) => sendText(res, 503, 'down');
      const fetcher = createTokenFetcher(`${server.origin}/token`, { ky: ky.create({ retry: 5 }) });
      const error = await fetcher(context()).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(503);
      expect(server.requests).toHaveLength(1);
    });

    it("has no timeout of its own, even with an instance that has one (the manager's signal decides)", async () => {
      const token = mintToken();
      handler = (_req, res) => void setTimeout(() => sendText(res, 200, token), 150);
      const fetcher = createTokenFetcher(`${server.origin}/token`, { ky: ky.create({ timeout: 20 }) });
      expect((await fetcher(context())).token).toBe(token);
    });
  });

  describe('createTokenFetcher: failures', () => {
    it.each([401, 403, 500, 502])('rejects with ky HTTPError keeping response.status %i', async (status) => {
      handler = (_req, res) => sendJson(res, status, { error: 'nope' });
      const error = await createTokenFetcher(`${server.origin}/token`, { ky })(context()).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(status);
    });

    /** What the fetcher rejects with when /token answers `status` with these headers (and no Date header). */
    async function failure(status: number, headers: Record<string, string>): Promise<{ retryAfterMs?: unknown }> {
      handler = (_req, res) => {
        res.sendDate = false;
        sendJson(res, status, { error: 'busy' }, headers);
      };
      const error = await createTokenFetcher(`${server.origin}/token`, { ky })(context()).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(status);
      return error as { retryAfterMs?: unknown };
    }

    it.each([
      [429, '120', 120_000],
      [503, '0', 0],
      [503, '1.5', 1_500],
      [429, '86400', 600_000], // a day: capped at 10 minutes
    ])('adds retryAfterMs to the HTTPError of a %i with Retry-After: %s seconds', async (status, header, expected) => {
      expect((await failure(status, { 'retry-after': header })).retryAfterMs).toBe(expected);
    });

    it('measures a Retry-After date against the response Date header, not the local clock', async () => {
      const serverNow = Date.UTC(2020, 0, 1, 12, 0, 0); // years off the local clock
      const headers = {
        date: new Date(serverNow).toUTCString(),
        'retry-after': new Date(serverNow + 90_000).toUTCString(),
      };
      handler = (_req, res) => sendJson(res, 503, { error: 'maintenance' }, headers);
      const error = await createTokenFetcher(`${server.origin}/token`, { ky })(context()).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(503);
      expect((error as { retryAfterMs?: unknown }).retryAfterMs).toBe(90_000);
    });

    it('measures a Retry-After date against the local clock without a Date header: never negative, at most 10 min', async () => {
      const past = new Date(Date.now() - 3_600_000).toUTCString();
      const farAhead = new Date(Date.now() + 3_600_000).toUTCString();
      expect((await failure(429, { 'retry-after': past })).retryAfterMs).toBe(0);
      expect((await failure(429, { 'retry-after': farAhead })).retryAfterMs).toBe(600_000);
    });

    it.each([
      [429, {}],
      [503, { 'retry-after': 'soon' }],
      [503, { 'retry-after': '-5' }],
      [429, { 'retry-after': '' }],
      [500, { 'retry-after': '120' }],
      [502, { 'retry-after': '120' }],
    ])('leaves retryAfterMs out for a %i with %o', async (status, headers) => {
      expect(await failure(status, headers)).not.toHaveProperty('retryAfterMs');
    });

    it('aborts the request when the signal aborts, and the server sees the connection go away', async () => {
      handler = () => {}; // never answers
      const controller = new AbortController();
      const pending = createTokenFetcher(`${server.origin}/token`, { ky })(context(controller.signal));
      const settled = pending.catch((e: unknown) => e);
      while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      const reason = new Error('attempt timed out');
      controller.abort(reason);
      expect(await settled).toBe(reason);
      const aborted = await server.abortedRequests(1);
      expect(aborted).toHaveLength(1);
    });

    it('sends nothing when the signal is already aborted', async () => {
      handler = (_req, res) => sendText(res, 200, mintToken());
      const controller = new AbortController();
      controller.abort();
      await expect(createTokenFetcher(`${server.origin}/token`, { ky })(context(controller.signal))).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(server.requests).toHaveLength(0);
    });

    it("also aborts on the caller's own signal", async () => {
      handler = () => {};
      const own = new AbortController();
      const pending = createTokenFetcher(`${server.origin}/token`, { ky, signal: own.signal })(context()).catch(
        (e: unknown) => e,
      );
      while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      own.abort();
      expect(await pending).toMatchObject({ name: 'AbortError' });
      await server.abortedRequests(1);
    });
  });
});
