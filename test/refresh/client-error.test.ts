import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOUR, MIN, SEC, START } from '../helpers/time.mjs';
import { create, flush, manualFetcher, tokenAt } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('handleClientError', () => {
  it.each([
    ['{ status: 401 }', { status: 401 }],
    ['{ code: 20104 }', { code: 20104 }],
    ['{ twilioCode: 31205 }', { twilioCode: 31205 }],
    ['{ errorCode: 31204 }', { errorCode: 31204 }],
    ['{ cause: { code: 20101 } }', { message: 'wrapped', cause: { code: 20101 } }],
    ['an Error with a 20104 cause', new Error('connection lost', { cause: Object.assign(new Error('expired'), { code: 20104 }) })],
    ['{ response: { status: 401 } }', { response: { status: 401 } }],
  ])('%s: true and exactly one fetch (reason clientError), even when called 3 times at once', async (_label, error) => {
    const f = manualFetcher();
    const { clock, manager, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    expect([manager.handleClientError(error), manager.handleClientError(error), manager.handleClientError(error)]).toEqual([
      true,
      true,
      true,
    ]);
    await flush();
    expect(f.calls.map((c) => [c.ctx.reason, c.ctx.attempt])).toEqual([['clientError', 1]]);
    expect(manager.state).toBe('refreshing');
    const fresh = tokenAt(clock.now() + SEC);
    f.last().resolve(fresh);
    await flush();
    expect(manager.token).toBe(fresh);
    expect(events.map((e) => [e.type, e.source])).toEqual([['tokenUpdated', 'fetch']]);
    // The fresh token rejected at once: a new token did not help, so the next refresh waits for the backoff.
    expect(manager.handleClientError(error)).toBe(true);
    expect(f.calls).toHaveLength(1);
  });

  it.each([
    ['{ code: 20102 }', { code: 20102 }],
    ['{ status: 500 }', { status: 500 }],
    ['{ status: 403 }', { status: 403 }],
    ['{ code: 20157 }', { code: 20157 }],
    ['null', null],
    ['undefined', undefined],
    ["'20104'", '20104'],
    ["'401'", '401'],
    ['a plain Error', new Error('token expired')],
    ['a number', 20104],
  ])('%s: false and no fetch', async (_label, error) => {
    const f = manualFetcher();
    const { clock, manager, events } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    expect(manager.handleClientError(error)).toBe(false);
    await clock.advance(MIN);
    expect(f.calls).toHaveLength(0);
    expect(events).toEqual([]);
  });

  it('joins a refresh already in flight instead of starting another', async () => {
    const f = manualFetcher();
    const { manager } = create({ token: tokenAt(START), fetchToken: f.fetchToken });
    const pending = manager.refresh();
    expect(manager.handleClientError({ code: 20104 })).toBe(true);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['manual']);
    f.last().resolve(tokenAt(START + SEC));
    await pending;
    expect(f.calls).toHaveLength(1);
  });

  it('its refresh failing is reported through error only, never thrown', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = manualFetcher();
    const { manager, errors } = create({ token: tokenAt(START), fetchToken: f.fetchToken, retry: false });
    expect(manager.handleClientError({ code: 20104 })).toBe(true);
    f.last().reject(new Error('down'));
    await flush();
    expect(errors.map((e) => [e.code, e.attempt, e.retryInMs])).toEqual([['FETCH_FAILED', 1, undefined]]);
  });

  it('without fetchToken it only answers', async () => {
    const { clock, manager, events } = create({ token: tokenAt(START) });
    expect(manager.handleClientError({ status: 401 })).toBe(true);
    expect(manager.handleClientError({ cause: { code: 20101 } })).toBe(true);
    expect(manager.handleClientError({ code: 20102 })).toBe(false);
    await clock.advance(MIN);
    expect(events).toEqual([]);
    expect(manager.state).toBe('valid');
  });

  it('works while the token is already expired (e.g. a 20104 after a sleep) with one fetch', async () => {
    const f = manualFetcher();
    const { clock, manager } = create({ token: tokenAt(START), fetchToken: f.fetchToken, autoRefresh: false });
    await clock.advance(2 * HOUR);
    expect(manager.handleClientError({ code: 20104 })).toBe(true);
    expect(manager.handleClientError({ twilioCode: 31205 })).toBe(true);
    expect(f.calls.map((c) => c.ctx.reason)).toEqual(['clientError']);
  });
});
