// @vitest-environment node
// authorizedKy's three hooks called directly, on a stand-in ky instance that records what it is extended with
// and what it is asked to send: the ky 1 safety net for token errors, which token a 401 is retried with, and the
// retry's options. (authorized-ky.test.ts runs the same hooks inside real ky 1 and ky 2.)
import type { KyInstance } from 'ky';
import { describe, expect, it, vi } from 'vitest';
import { authorizedKy, type TokenProvider } from '../../src/http/authorized-ky.js';

type Hook = (...args: unknown[]) => Promise<unknown>;

function setup(token: string | null = 'current') {
  const manager = {
    token: token ?? undefined,
    getToken: vi.fn(async () => 'got'),
    refresh: vi.fn(async () => 'refreshed'),
  } satisfies TokenProvider;
  const sent: Array<[Request, Record<string, unknown>]> = [];
  let hooks!: { beforeRequest: Hook[]; beforeRetry: Hook[]; afterResponse: Hook[] };
  const instance = Object.assign(
    async (request: Request, options: Record<string, unknown>) => {
      sent.push([request, options]);
      return new Response('retried');
    },
    {
      extend(options: { hooks: typeof hooks }) {
        hooks = options.hooks;
        return instance;
      },
    },
  );
  authorizedKy(manager, instance as unknown as KyInstance);
  return {
    manager,
    sent,
    beforeRequest: hooks.beforeRequest[0]!,
    beforeRetry: hooks.beforeRetry[0]!,
    afterResponse: hooks.afterResponse[0]!,
  };
}

const request = (authorization?: string) =>
  new Request('https://api.test/rooms', authorization === undefined ? {} : { headers: { authorization } });
const unauthorized = () => new Response(null, { status: 401 });

describe('beforeRequest and beforeRetry: a token error', () => {
  it('ky 1 (positional): ends the retries and stops a retry of that very error', async () => {
    const { manager, beforeRequest, beforeRetry } = setup();
    const failure = new Error('FETCH_UNAUTHORIZED');
    manager.getToken.mockRejectedValueOnce(failure);
    const options = { retry: { limit: 2 } };
    await expect(beforeRequest(request(), options)).rejects.toBe(failure);
    expect(options.retry.limit).toBe(0);
    await expect(beforeRetry({ request: request(), options, error: failure, retryCount: 1 })).rejects.toBe(failure);
    expect(manager.getToken).toHaveBeenCalledTimes(1);
  });

  it('ky 2 (a state object): leaves the retry settings alone, and a retry of another error gets a token', async () => {
    const { manager, beforeRequest, beforeRetry } = setup();
    const failure = new Error('FETCH_UNAUTHORIZED');
    manager.getToken.mockRejectedValueOnce(failure);
    const options = { retry: { limit: 2 } };
    await expect(beforeRequest({ request: request(), options })).rejects.toBe(failure);
    expect(options.retry.limit).toBe(2);
    // ky 2 never retries its beforeRequest errors; had it done so, the error is not one marked by ky 1's path.
    const retried = request();
    await beforeRetry({ request: retried, options, error: failure, retryCount: 1 });
    expect(retried.headers.get('authorization')).toBe('Bearer got');
    const other = request();
    await beforeRetry({ request: other, options, error: new Error('503'), retryCount: 1 });
    expect(other.headers.get('authorization')).toBe('Bearer got');
  });

  it.each([
    ['a string', 'no token'],
    ['null', null],
  ])('ky 1: a manager rejecting with %s rejects the call with it as it is', async (_label, reason) => {
    const { manager, beforeRequest, beforeRetry } = setup();
    manager.getToken.mockRejectedValueOnce(reason);
    await expect(beforeRequest(request(), { retry: { limit: 2 } })).rejects.toBe(reason);
    const retried = request();
    await beforeRetry({ request: retried, options: {}, error: reason, retryCount: 1 });
    expect(retried.headers.get('authorization')).toBe('Bearer got');
  });
});

describe('afterResponse', () => {
  it('ignores a hook call without a response, and a 401 retry mark under no context', async () => {
    const { manager, afterResponse } = setup();
    await expect(afterResponse({ request: request('Bearer current'), options: {} })).resolves.toBeUndefined();
    expect(manager.refresh).not.toHaveBeenCalled();
  });

  it("retries a 401 once with the refreshed token, marking the retry in ky's context", async () => {
    const { manager, sent, afterResponse } = setup();
    const result = (await afterResponse({
      request: request('Bearer current'),
      options: { context: { app: 1 }, retry: { limit: 2 } },
      response: unauthorized(),
    })) as Response;
    expect(await result.text()).toBe('retried');
    expect(manager.refresh).toHaveBeenCalledTimes(1);
    expect(manager.getToken).not.toHaveBeenCalled();
    expect(sent).toHaveLength(1);
    const [, options] = sent[0]!;
    expect(options).toMatchObject({
      headers: { authorization: 'Bearer refreshed' },
      retry: 0,
      throwHttpErrors: false,
      context: { app: 1, tokenWardenRetry: true },
    });
  });

  it('does not retry a retry', async () => {
    const { manager, sent, afterResponse } = setup();
    await afterResponse({ request: request('Bearer current'), options: { context: { tokenWardenRetry: true } }, response: unauthorized() });
    expect(sent).toEqual([]);
    expect(manager.refresh).not.toHaveBeenCalled();
  });

  it('does not retry a request whose body cannot be sent again, and fetches no token for it', async () => {
    const { manager, sent, afterResponse } = setup();
    const used = new Request('https://api.test/upload', { method: 'POST', body: 'x', headers: { authorization: 'Bearer current' } });
    await used.text();
    expect(await afterResponse({ request: used, options: { body: new ReadableStream() }, response: unauthorized() })).toBeUndefined();
    expect(sent).toEqual([]);
    expect(manager.refresh).not.toHaveBeenCalled();
    expect(manager.getToken).not.toHaveBeenCalled();
  });

  it.each([
    ['the current token', 'Bearer current', 'refresh'],
    ['the current token, lower-case scheme and spaces around', 'bearer   current  ', 'refresh'],
    ['the current token after a tab', 'Bearer\tcurrent', 'refresh'],
    ['an older token', 'Bearer older', 'getToken'],
    ['another scheme', 'Basic current', 'getToken'],
    ['a scheme before Bearer', 'NotBearer current', 'getToken'],
    ['a token followed by more', 'Bearer current extra', 'getToken'],
    ['no authorization header', undefined, 'getToken'],
  ])('a 401 for %s: %s', async (_label, authorization, expected) => {
    const { manager, afterResponse } = setup();
    await afterResponse({ request: request(authorization), options: {}, response: unauthorized() });
    expect(manager.refresh).toHaveBeenCalledTimes(expected === 'refresh' ? 1 : 0);
    expect(manager.getToken).toHaveBeenCalledTimes(expected === 'getToken' ? 1 : 0);
  });

  it('a 401 without an authorization header while the manager holds no token: getToken', async () => {
    const { manager, afterResponse } = setup(null);
    await afterResponse({ request: request(), options: {}, response: unauthorized() });
    expect(manager.getToken).toHaveBeenCalledTimes(1);
    expect(manager.refresh).not.toHaveBeenCalled();
  });

  it('a 401 while the manager holds no token: getToken', async () => {
    const { manager, afterResponse } = setup(null);
    await afterResponse({ request: request('Bearer x'), options: {}, response: unauthorized() });
    expect(manager.getToken).toHaveBeenCalledTimes(1);
    expect(manager.refresh).not.toHaveBeenCalled();
  });
});
