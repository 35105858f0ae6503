// @vitest-environment node
// authorizedKy with a real AccessManager and a real HTTP server that plays both the token endpoint (/token) and
// an API (/api/*) accepting only the tokens in `accepted`: Bearer header, the one retry after a 401, single-flight.
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { AccessManager, AccessManagerOptions } from '../../src/index.js';
import { authorizedKy, createTokenFetcher, type TokenProvider } from '../../src/http/index.js';
import { createManager } from '../helpers/manager.js';
import { mintToken } from '../helpers/tokens.mjs';
import { hookArgs, httpStatusOf, KY_VERSIONS } from './ky-under-test.js';
import { sendJson, sendText, sleep, startServer, type ReceivedRequest, type TestServer } from './server.js';

let server: TestServer;
/** Tokens the API accepts. */
let accepted: Set<string>;
/** What /token hands out next (the last one repeats). */
let issue: string[];
/** Status /token answers with instead of a token, when set. */
let tokenStatus: number | undefined;
/** When set, /token never answers. */
let tokenHangs: boolean;
/** Lets a test hold an API answer until it says so. */
let holdApi: ((request: ReceivedRequest) => Promise<void>) | undefined;
/** Statuses the API answers with, one per request, before it looks at the token. */
let apiStatuses: number[];

beforeEach(async () => {
  accepted = new Set();
  issue = [];
  tokenStatus = undefined;
  tokenHangs = false;
  holdApi = undefined;
  apiStatuses = [];
  server = await startServer(async (req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/token') {
      if (tokenHangs) return;
      if (tokenStatus !== undefined) return sendJson(res, tokenStatus, { error: 'no session' });
      const next = issue.length > 1 ? issue.shift()! : issue[0];
      return next === undefined ? sendText(res, 500, 'no token to issue') : sendJson(res, 200, { token: next });
    }
    await holdApi?.(req);
    const status = apiStatuses.shift();
    if (status !== undefined) return sendJson(res, status, { error: 'try again' });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !accepted.has(bearer)) return sendJson(res, 401, { error: 'invalid token' });
    sendJson(res, 200, { ok: true, path: req.url, method: req.method, body: req.body });
  });
  // Closed after the test's managers are disposed (onTestFinished runs newest first).
  onTestFinished(() => server.close());
});

const bearers = (path = '/api/me') =>
  server.to(path).map((r) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1]);

/** `provider` with its getToken() and refresh() calls counted. */
function counted(provider: TokenProvider): { provider: TokenProvider; calls: { getToken: number; refresh: number } } {
  const calls = { getToken: 0, refresh: 0 };
  return {
    calls,
    provider: {
      get token() {
        return provider.token;
      },
      getToken: () => (calls.getToken++, provider.getToken()),
      refresh: () => (calls.refresh++, provider.refresh()),
    },
  };
}

describe('authorizedKy: the default instance', () => {
  it('extends ky itself when no instance is given', async () => {
    const t1 = mintToken();
    accepted.add(t1);
    const manager = createManager({ token: t1 });
    expect(await authorizedKy(manager).get(`${server.origin}/api/me`).json()).toMatchObject({ ok: true });
    expect(bearers()).toEqual([t1]);
  });
});

describe.each(KY_VERSIONS)('$name', ({ ky, base }) => {
  function newManager(options: Partial<AccessManagerOptions> = {}): AccessManager {
    const manager = createManager({
      fetchToken: createTokenFetcher(`${server.origin}/token`, { ky }),
      retry: { minDelayMs: 1, maxDelayMs: 5 },
      ...options,
    });
    manager.on('error', () => {});
    return manager;
  }

  describe('authorizedKy: the Authorization header', () => {
    it("sets Bearer <token> from the manager's current token", async () => {
      const t1 = mintToken();
      accepted.add(t1);
      const api = authorizedKy(newManager({ token: t1 }), ky);
      expect(await api.get(`${server.origin}/api/me`).json()).toMatchObject({ ok: true });
      expect(bearers()).toEqual([t1]);
      expect(server.to('/token')).toHaveLength(0);
    });

    it('waits for the first token when the manager has none yet, one fetch for many calls', async () => {
      const t1 = mintToken();
      issue = [t1];
      accepted.add(t1);
      const api = authorizedKy(newManager(), ky);
      const results = await Promise.all(Array.from({ length: 5 }, () => api.get(`${server.origin}/api/me`).json()));
      expect(results).toHaveLength(5);
      expect(bearers()).toEqual([t1, t1, t1, t1, t1]);
      expect(server.to('/token')).toHaveLength(1);
    });

    it('fetches a new token first when the current one is expired', async () => {
      const old = mintToken({ at: Date.now() - 2 * 3600_000 });
      const t2 = mintToken();
      issue = [t2];
      accepted.add(t2);
      const api = authorizedKy(newManager({ token: old }), ky);
      await api.get(`${server.origin}/api/me`);
      expect(bearers()).toEqual([t2]);
    });

    it('leaves the instance it extends untouched', async () => {
      const t1 = mintToken();
      accepted.add(t1);
      const base = ky.create({ headers: { 'x-app': 'demo' } });
      authorizedKy(newManager({ token: t1 }), base);
      const error = await base.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      expect(server.to('/api/me')[0].headers.authorization).toBeUndefined();
    });

    it('rejects with the manager\'s error when no token can be had before the first attempt', async () => {
      tokenStatus = 401;
      const api = authorizedKy(newManager({ retry: false }), ky.create({ retry: 0 }));
      await expect(api.get(`${server.origin}/api/me`)).rejects.toMatchObject({ code: 'FETCH_UNAUTHORIZED' });
      expect(server.to('/api/me')).toHaveLength(0);
    });

    it("passes the manager's error on after exactly one attempt with ky's default retry settings", async () => {
      tokenStatus = 401; // the session is over: FETCH_UNAUTHORIZED, state failed
      const manager = newManager();
      const { provider, calls } = counted(manager);
      const api = authorizedKy(provider, ky); // retry: ky's default (2 retries of a GET)
      const error = await api.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AccessManagerError', code: 'FETCH_UNAUTHORIZED' });
      expect(calls).toEqual({ getToken: 1, refresh: 0 });
      expect(server.to('/token')).toHaveLength(1);
      expect(server.to('/api/me')).toHaveLength(0);
      expect(manager.state).toBe('failed');

      // In state failed the next call gets the error again after one attempt (getToken() asks the endpoint once).
      const again = await api.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(again).toMatchObject({ name: 'AccessManagerError', code: 'FETCH_UNAUTHORIZED' });
      expect(calls).toEqual({ getToken: 2, refresh: 0 });
      expect(server.to('/token')).toHaveLength(2);
      expect(server.to('/api/me')).toHaveLength(0);
    });

    it("passes the manager's error on at once, without waiting for the instance's retry delay", async () => {
      const manager = newManager({ token: mintToken() });
      manager.dispose();
      const { provider, calls } = counted(manager);
      // A retry of the error would first wait a minute: the test would time out.
      const api = authorizedKy(provider, ky.create({ retry: { limit: 5, delay: () => 60_000 } }));
      await expect(api.get(`${server.origin}/api/me`)).rejects.toMatchObject({ code: 'DISPOSED' });
      expect(calls).toEqual({ getToken: 1, refresh: 0 });
      expect(server.requests).toHaveLength(0);
    });

    it("gives ky's own retries (here of a 503) the manager's token of the moment", async () => {
      const t1 = mintToken();
      const t2 = mintToken({ at: Date.now() + 2000 });
      accepted.add(t2);
      const manager = newManager({ token: t1 });
      apiStatuses = [503];
      // While the first answer is on its way, the app adopts a new token (t1 is revoked with it).
      holdApi = async () => {
        if (manager.token === t1) await manager.updateToken(t2);
      };
      const api = authorizedKy(manager, ky.create({ retry: { limit: 1, delay: () => 0 } }));
      expect((await api.get(`${server.origin}/api/me`)).status).toBe(200);
      expect(bearers()).toEqual([t1, t2]);
      expect(server.to('/token')).toHaveLength(0);
    });
  });

  describe('authorizedKy: a 401 from the API', () => {
    it('refreshes once and retries with the new token, which succeeds', async () => {
      const t1 = mintToken();
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2); // t1 was revoked server-side although it has not expired
      const manager = newManager({ token: t1 });
      const api = authorizedKy(manager, ky);
      const response = await api.get(`${server.origin}/api/me`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ok: true });
      expect(bearers()).toEqual([t1, t2]);
      expect(server.to('/token')).toHaveLength(1);
      expect(manager.token).toBe(t2);
    });

    it('passes a second 401 to the caller as HTTPError 401', async () => {
      const t1 = mintToken();
      issue = [mintToken({ at: Date.now() + 2000 })]; // the API accepts neither
      const api = authorizedKy(newManager({ token: t1 }), ky);
      const error = await api.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      expect(server.to('/api/me')).toHaveLength(2);
      expect(server.to('/token')).toHaveLength(1);
    });

    it('makes ten concurrent calls that all get 401 share exactly one token fetch', async () => {
      const t1 = mintToken();
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const api = authorizedKy(newManager({ token: t1 }), ky);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => api.get(`${server.origin}/api/me`, { searchParams: { i } }).json()),
      );
      expect(results).toHaveLength(10);
      expect(server.to('/token')).toHaveLength(1);
      const sent = bearers();
      expect(sent).toHaveLength(20);
      expect(sent.filter((t) => t === t1)).toHaveLength(10);
      expect(sent.filter((t) => t === t2)).toHaveLength(10);
    });

    it('retries a 401 only once even when the instance has retry: 5', async () => {
      issue = [mintToken({ at: Date.now() + 2000 })];
      const api = authorizedKy(newManager({ token: mintToken() }), ky.create({ retry: 5 }));
      const error = await api.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      expect(server.to('/api/me')).toHaveLength(2);
      expect(server.to('/token')).toHaveLength(1);
    });

    it('retries a 401 once even when the instance has retry: 0', async () => {
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const api = authorizedKy(newManager({ token: mintToken() }), ky.create({ retry: 0 }));
      expect((await api.get(`${server.origin}/api/me`)).status).toBe(200);
      expect(server.to('/api/me')).toHaveLength(2);
    });

    it('marks its retry, so an authorized instance wrapped again does not retry the retry', async () => {
      issue = [mintToken({ at: Date.now() + 2000 })]; // the API accepts nothing
      const manager = newManager({ token: mintToken() });
      const twice = authorizedKy(manager, authorizedKy(manager, ky.create({ retry: 0 })));
      const error = await twice.get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      // First attempt, the inner layer's retry, the outer layer's retry (which the inner layer leaves alone).
      expect(server.to('/api/me')).toHaveLength(3);
      expect(server.to('/token')).toHaveLength(1);
    });

    it('sends the same method, body, query string and headers again (POST with json)', async () => {
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const instance = ky.create({
        ...base(`${server.origin}/api`),
        headers: { 'x-app': 'demo' },
        searchParams: { v: '2' },
      });
      const api = authorizedKy(newManager({ token: mintToken() }), instance);
      const result = await api
        .post('rooms', { json: { name: 'standup' }, searchParams: { notify: 'yes' }, headers: { 'x-call': '1' } })
        .json<{ body: string }>();
      expect(JSON.parse(result.body)).toEqual({ name: 'standup' });
      const sent = server.to('/api/rooms');
      expect(sent).toHaveLength(2);
      expect(sent[0].url).toMatch(/^\/api\/rooms\?/);
      expect(sent[1].url).toBe(sent[0].url);
      for (const request of sent) {
        expect(request.method).toBe('POST');
        expect(request.body).toBe('{"name":"standup"}');
        expect(request.headers).toMatchObject({ 'x-app': 'demo', 'x-call': '1', 'content-type': 'application/json' });
      }
    });

    it('sends a json body again from an instance with retry: 0 (ky 2 has then already sent the request it shows)', async () => {
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const api = authorizedKy(newManager({ token: mintToken() }), ky.create({ retry: 0 }));
      const result = await api.post(`${server.origin}/api/rooms`, { json: { name: 'standup' } }).json<{ body: string }>();
      expect(JSON.parse(result.body)).toEqual({ name: 'standup' });
      expect(server.to('/api/rooms').map((r) => [r.method, r.body, r.headers['content-type']])).toEqual([
        ['POST', '{"name":"standup"}', 'application/json'],
        ['POST', '{"name":"standup"}', 'application/json'],
      ]);
      expect(bearers('/api/rooms')).toEqual([expect.any(String), t2]);
    });

    it('sends a FormData body again with a Content-Type boundary that matches it, also with retry: 0', async () => {
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const form = new FormData();
      form.set('room', 'standup');
      const api = authorizedKy(newManager({ token: mintToken() }), ky.create({ retry: 0 }));
      expect((await api.post(`${server.origin}/api/rooms`, { body: form })).status).toBe(200);
      const sent = server.to('/api/rooms');
      expect(sent).toHaveLength(2);
      for (const request of sent) {
        const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(request.headers['content-type'] ?? '')?.[1];
        expect(boundary).toBeDefined();
        expect(request.body).toContain(`--${boundary}\r\nContent-Disposition: form-data; name="room"`);
        expect(request.body).toContain('standup');
      }
    });

    it("runs the instance's own hooks for the retry too", async () => {
      const t2 = mintToken({ at: Date.now() + 2000 });
      issue = [t2];
      accepted.add(t2);
      const seen: number[] = [];
      const base = ky.create({
        hooks: {
          beforeRequest: [(...args) => void hookArgs(args).request.headers.set('x-seq', String(seen.length))],
          afterResponse: [(...args) => void seen.push(hookArgs(args).response!.status)],
        },
      });
      await authorizedKy(newManager({ token: mintToken() }), base).get(`${server.origin}/api/me`);
      expect(seen).toEqual([401, 200]);
      expect(server.to('/api/me').map((r) => r.headers['x-seq'])).toEqual(['0', '1']);
    });

    it('does not refresh when the token changed while the request was in flight: it retries with the new one', async () => {
      const t1 = mintToken();
      const t2 = mintToken({ at: Date.now() + 2000 });
      accepted.add(t2);
      const manager = newManager({ token: t1 });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      holdApi = (req) => (req.headers.authorization === `Bearer ${t1}` ? released : Promise.resolve());
      const api = authorizedKy(manager, ky);
      const call = api.get(`${server.origin}/api/me`).json();
      while (server.to('/api/me').length === 0) await sleep(5);
      await manager.updateToken(t2); // e.g. another tab or the app supplied a fresh token meanwhile
      release();
      expect(await call).toMatchObject({ ok: true });
      expect(bearers()).toEqual([t1, t2]);
      expect(server.to('/token')).toHaveLength(0);
    });

    it('passes the 401 on when the token endpoint refuses too (session over), without another API call', async () => {
      tokenStatus = 401;
      const manager = newManager({ token: mintToken() });
      const error = await authorizedKy(manager, ky).get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      expect((error as { request: Request }).request.url).toBe(`${server.origin}/api/me`);
      expect(server.to('/api/me')).toHaveLength(1);
      expect(server.to('/token')).toHaveLength(1);
      expect(manager.state).toBe('failed');
    });

    it('stops waiting for the new token when the caller aborts', async () => {
      tokenHangs = true;
      const manager = newManager({ token: mintToken() });
      const controller = new AbortController();
      const api = authorizedKy(manager, ky.create({ retry: 0 }));
      const call = api.get(`${server.origin}/api/me`, { signal: controller.signal }).catch((e: unknown) => e);
      while (server.to('/token').length === 0) await sleep(5); // the refresh is under way and will not end
      controller.abort();
      expect(await call).toMatchObject({ name: 'AbortError' });
      expect(server.to('/api/me')).toHaveLength(1);
    });
  });

  describe('authorizedKy: TokenProvider', () => {
    it('works with any object shaped like TokenProvider', async () => {
      const t1 = mintToken();
      const t2 = mintToken({ at: Date.now() + 2000 });
      accepted.add(t2);
      let current = t1;
      let refreshes = 0;
      const provider: TokenProvider = {
        get token() {
          return current;
        },
        getToken: async () => current,
        refresh: async () => {
          refreshes++;
          current = t2;
          return current;
        },
      };
      expect((await authorizedKy(provider, ky).get(`${server.origin}/api/me`)).status).toBe(200);
      expect(refreshes).toBe(1);
      expect(bearers()).toEqual([t1, t2]);
    });

    // A provider is the app's object: after a 401, a `token` getter that throws or a refresh() that throws instead
    // of rejecting means "no fresh token", like a rejection: the caller gets the 401, not the provider's throw.
    it.each([
      ['token getter throws', { tokenThrows: true, refreshThrows: false }],
      ['refresh() throws synchronously', { tokenThrows: false, refreshThrows: true }],
    ])('after a 401, a provider whose %s leaves the caller the 401', async (_, { tokenThrows, refreshThrows }) => {
      const t1 = mintToken();
      let reads = 0;
      const provider: TokenProvider = {
        get token(): string {
          // The first read is the one that matters here: before the retry.
          reads++;
          if (tokenThrows) throw new Error('token getter');
          return t1;
        },
        getToken: async () => t1,
        refresh: () => {
          if (refreshThrows) throw new Error('refresh');
          return Promise.resolve(t1);
        },
      };
      const error = await authorizedKy(provider, ky.create({ retry: 0 })).get(`${server.origin}/api/me`).catch((e: unknown) => e);
      expect(httpStatusOf(error)).toBe(401);
      expect(reads).toBe(1);
      expect(bearers()).toEqual([t1]);
    });
  });
});
