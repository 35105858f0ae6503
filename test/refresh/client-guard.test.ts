// Refreshes that clients cause (token errors, their own token events) cannot loop: a rejection that no new token
// fixes is recognised as such, and a fresh token rejected again waits for the backoff, reported by name.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchContext } from '../../src/index.js';
import { connectTwilioClient, isTwilioTokenError } from '../../src/twilio/index.js';
import { FakeSyncClient } from '../twilio/fakes.js';
import { MIN, SEC, START } from '../helpers/time.mjs';
import { create, flush, tokenAt } from './support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A token endpoint that answers at once with a fresh token (a new one each time, also within one second). */
function freshServer(clock: { now(): number }) {
  const reasons: string[] = [];
  const at: number[] = [];
  const fetchToken = vi.fn(async (ctx: FetchContext) => {
    reasons.push(ctx.reason);
    at.push(clock.now());
    return tokenAt(clock.now(), 3600 + at.length);
  });
  return { fetchToken, reasons, at };
}

describe('which client errors refresh', () => {
  // What Conversations and Sync really emit: `httpStatusCode` and `errorCode` side by side, and Twilio answers
  // every authentication failure with 401, also those that no new token fixes.
  it.each([
    ['bad signature', { httpStatusCode: 401, errorCode: 20107, message: 'Invalid Access Token signature' }],
    ['wrong account', { httpStatusCode: 401, errorCode: 20151, message: 'Authentication Failed' }],
    ['ttl above 24 h', { httpStatusCode: 401, errorCode: 20157, message: 'Expiration Time Exceeds Maximum' }],
    ['ky-like error with a final code in its cause', { response: { status: 401 }, cause: { code: 20103 } }],
  ])('%s: 401 with a known final Twilio code is not a token error, like isTwilioTokenError says', async (_label, error) => {
    const { clock, manager } = create({ token: tokenAt(START), fetchToken: vi.fn() });
    expect(isTwilioTokenError(error)).toBe(false);
    expect(manager.handleClientError(error)).toBe(false);
    await clock.advance(MIN);
    expect(manager.state).toBe('valid');
  });

  it.each([
    ["twilsock's token-expired close (410 + 51207)", { httpStatusCode: 410, errorCode: 51207, message: 'Token expired' }],
    ['401 with a refreshable code', { httpStatusCode: 401, errorCode: 20104 }],
    ['401 with an unknown code', { httpStatusCode: 401, errorCode: 12345 }],
  ])('%s: refreshes once', async (_label, error) => {
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock });
    expect(manager.handleClientError(error)).toBe(true);
    await flush();
    expect(server.reasons).toEqual(['clientError']);
  });
});

describe('the client-error guard', () => {
  it('a server that rejects every token: fetches follow the backoff schedule, each rejection reported by name', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager: m, errors: reported } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock });
    // The SDK reports a 20104 for every token it gets, as soon as it gets it.
    const rejecting = {
      updateToken: () => {
        queueMicrotask(() => m.handleClientError({ httpStatusCode: 401, errorCode: 20104 }, 'chat'));
      },
    };
    m.addClient(rejecting, { name: 'chat' });
    m.handleClientError({ httpStatusCode: 401, errorCode: 20104 }, 'chat');
    // 3 seconds at network speed used to be 25 fetches.
    await clock.advance(3 * SEC);
    const gaps = server.at.slice(1).map((t, i) => t - server.at[i]!);
    // First at once; then half of 1 s, 2 s, 4 s ... (random 0.5 of the full-jitter cap).
    expect(gaps).toEqual([500, 1000]);
    expect(reported.map((e) => [e.code, e.clientName, e.attempt, e.retryInMs, e.twilioCode])).toEqual([
      ['CLIENT_TOKEN_REJECTED', 'chat', 1, 500, 20104],
      ['CLIENT_TOKEN_REJECTED', 'chat', 2, 1000, 20104],
      ['CLIENT_TOKEN_REJECTED', 'chat', 3, 2000, 20104],
    ]);
    expect(server.reasons.every((r) => r === 'clientError')).toBe(true);
    await clock.advance(10 * MIN);
    // Capped at maxDelayMs (30 s, half of it with random 0.5): never faster than the schedule.
    const later = server.at.slice(1).map((t, i) => t - server.at[i]!);
    expect(later.every((gap, i) => gap >= Math.min(30_000, 1000 * 2 ** i) / 2)).toBe(true);
    expect(reported[0]!.message).toBe('Client "chat" rejected a fresh token again; next refresh in 500 ms.');
  });

  it('at most one refresh per held token: more errors for the same token join it', async () => {
    const { clock } = create({ token: tokenAt(START) });
    let answer!: (token: string) => void;
    const fetchToken = vi.fn(() => new Promise<string>((resolve) => (answer = resolve)));
    const { manager, errors } = create({ token: tokenAt(clock.now()), fetchToken, clock });
    for (let i = 0; i < 5; i++) expect(manager.handleClientError({ code: 20104 })).toBe(true);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    answer(tokenAt(clock.now()));
    await flush();
    expect(errors).toEqual([]);
  });

  it('a client error a minute after the last client refresh is a new problem: refreshed at once again', async () => {
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager, errors } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock });
    manager.handleClientError({ code: 20104 });
    await clock.advance(61 * SEC);
    manager.handleClientError({ code: 20104 });
    await flush();
    expect(server.at.map((t) => t - server.at[0]!)).toEqual([0, 61 * SEC]);
    expect(errors).toEqual([]);
  });

  it('a token from elsewhere cancels a held-back client refresh', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager, errors } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock });
    manager.handleClientError({ code: 20104 });
    await flush();
    manager.handleClientError({ code: 20104 });
    expect(errors.map((e) => [e.code, e.retryInMs])).toEqual([['CLIENT_TOKEN_REJECTED', 1000]]);
    await manager.updateToken(tokenAt(clock.now() + SEC));
    await clock.advance(5 * SEC);
    expect(server.reasons).toEqual(['clientError']);
  });

  it("an SDK's tokenExpired refreshes with reason 'client', once per held token, then on the backoff", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager, errors } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock });
    const sdk = new FakeSyncClient();
    connectTwilioClient(manager, sdk, { name: 'sync' });
    sdk.emit('tokenExpired');
    sdk.emit('tokenExpired');
    await flush();
    expect(server.reasons).toEqual(['client']);
    // An SDK that says so again right after every update must not become a loop (no error: it rejected nothing).
    sdk.emit('tokenExpired');
    await flush();
    expect(server.reasons).toEqual(['client']);
    await clock.advance(SEC);
    expect(server.reasons).toEqual(['client', 'client']);
    expect(errors).toEqual([]);
  });

  it("an SDK's warning about a token the manager no longer needs (a stale timer) is ignored", async () => {
    const { clock } = create({ token: tokenAt(START) });
    const server = freshServer(clock);
    const { manager } = create({ token: tokenAt(clock.now()), fetchToken: server.fetchToken, clock, autoRefresh: false });
    const sdk = new FakeSyncClient();
    connectTwilioClient(manager, sdk, { name: 'sync' });
    sdk.emit('tokenAboutToExpire');
    sdk.emit('tokenWillExpire');
    await clock.advance(56 * MIN);
    expect(server.reasons).toEqual([]);
    // Inside the held token's own window (here without automatic refresh), a warning refreshes.
    await clock.advance(2 * MIN);
    sdk.emit('tokenAboutToExpire');
    await flush();
    expect(server.reasons).toEqual(['client']);
  });
});
