// @vitest-environment node
// The ky 1 / ky 2 differences alone: reading hook arguments, ending ky 1's retries, and a request to send again.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endRetries, hookState, replayable, type HookOptions } from '../../src/http/ky-compat.js';

describe('hookState', () => {
  const request = new Request('https://api.test/rooms');

  it("ky 1's positional arguments", () => {
    const options = { retry: { limit: 2 } };
    const response = new Response(null, { status: 401 });
    expect(hookState([request, options, response])).toEqual({ request, options, response, positional: true });
    expect(hookState([request])).toEqual({ request, options: {}, response: undefined, positional: true });
  });

  it("ky 2's state object", () => {
    const options = { context: {} };
    const state = { request, options, retryCount: 0 };
    expect(hookState([state])).toEqual({ ...state, positional: false });
    expect(hookState([{ request }])).toEqual({ request, options: {}, positional: false });
  });

  it('a request of another realm counts by its shape: a string url and headers.get', () => {
    const foreign = { url: 'https://api.test/', headers: { get: () => null } };
    expect(hookState([foreign]).positional).toBe(true);
    expect(hookState([{ url: 'https://api.test/', headers: {} }]).positional).toBe(false);
    expect(hookState([{ url: 'https://api.test/' }]).positional).toBe(false);
    expect(hookState([{ url: new URL('https://api.test/'), headers: { get: () => null } }]).positional).toBe(false);
    expect(hookState([{ request, options: {} }]).positional).toBe(false);
  });

  it('a function is never a request, whatever its properties', () => {
    const fn = Object.assign(() => {}, { url: 'https://api.test/', headers: { get: () => null } });
    expect(hookState([fn]).positional).toBe(false);
  });
});

describe('endRetries', () => {
  it("sets ky 1's live retry limit to 0", () => {
    const options: HookOptions = { retry: { limit: 3 } };
    endRetries(options);
    expect(options.retry).toEqual({ limit: 0 });
  });

  it('leaves options without a retry object alone, and a frozen one does not throw', () => {
    const none: HookOptions = {};
    endRetries(none);
    expect(none).toEqual({});
    const numeric = { retry: 2 } as unknown as HookOptions;
    endRetries(numeric);
    expect(numeric).toEqual({ retry: 2 });
    const frozen: HookOptions = { retry: Object.freeze({ limit: 3 }) };
    expect(() => endRetries(frozen)).not.toThrow();
    expect(frozen.retry).toEqual({ limit: 3 });
  });
});

describe('replayable', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  // (Without ReadableStream, Node's own Request cannot be built: that case is not testable here.)
  it.each(['FormData'])('a runtime without %s: a sent request is built again all the same', async (name) => {
    const request = new Request('https://api.test/rooms', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    await request.text();
    vi.stubGlobal(name, undefined);
    const replay = replayable(request, { body: 'hello' })!;
    vi.unstubAllGlobals();
    expect(replay.headers.get('content-type')).toBe('text/plain');
    expect(await replay.text()).toBe('hello');
  });

  it('a request whose body was not read: a clone', async () => {
    const request = new Request('https://api.test/rooms', { method: 'POST', body: 'hello' });
    const replay = replayable(request, { body: 'ignored' })!;
    expect(replay).not.toBe(request);
    expect(replay.method).toBe('POST');
    expect(await replay.text()).toBe('hello');
    expect(request.bodyUsed).toBe(false);
  });

  it('a sent request: a new one with the body ky kept, and its headers', async () => {
    const request = new Request('https://api.test/rooms', { method: 'PUT', body: 'hello', headers: { 'x-a': '1', 'content-type': 'text/plain' } });
    await request.text();
    const replay = replayable(request, { body: 'hello' })!;
    expect(replay.method).toBe('PUT');
    expect(replay.url).toBe('https://api.test/rooms');
    expect(replay.headers.get('x-a')).toBe('1');
    expect(replay.headers.get('content-type')).toBe('text/plain');
    expect(await replay.text()).toBe('hello');
  });

  it('a sent FormData request: a new multipart boundary, so the old content-type goes', async () => {
    const form = new FormData();
    form.set('a', '1');
    const request = new Request('https://api.test/upload', { method: 'POST', body: form });
    const oldType = request.headers.get('content-type')!;
    await request.arrayBuffer();
    const replay = replayable(request, { body: form })!;
    expect(replay.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(replay.headers.get('content-type')).not.toBe(oldType);
    expect((await replay.formData()).get('a')).toBe('1');
  });

  it.each([
    ['no body kept', undefined],
    ['a null body', null],
    ['a stream, already read', new ReadableStream()],
  ])('undefined for a sent request with %s', async (_label, body) => {
    const request = new Request('https://api.test/rooms', { method: 'POST', body: 'x' });
    await request.text();
    expect(replayable(request, { body })).toBeUndefined();
  });
});
