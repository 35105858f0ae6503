// connectTwilioClient with the real AccessManager, real-format Twilio tokens and the manual clock: three SDK
// look-alikes share one token, one fetch serves them all however many of them shout at once.
import { describe, expect, it } from 'vitest';
import type { AccessManager, AccessManagerError, FetchReason } from '../../src/index.js';
import { connectTwilioClient } from '../../src/twilio/index.js';
import { flush, ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { HOUR } from '../helpers/time.mjs';
import { mintToken, type GrantName } from '../helpers/tokens.mjs';
import {
  FakeConversationsClient,
  FakeDevice,
  FakeSyncClient,
  listenerTotal,
  twilsockConnectionError,
  voiceTwilioError,
} from './fakes.js';

const ABOUT = 180_000;

interface Setup {
  clock: ManualClock;
  manager: AccessManager;
  reasons: FetchReason[];
  errors: AccessManagerError[];
  /** Every token the fetcher handed out, in order. */
  fetched: string[];
  conversations: FakeConversationsClient;
  sync: FakeSyncClient;
  device: FakeDevice;
  disconnects: Array<() => void>;
}


/**
 * A manager whose fetcher mints a fresh token at the manual clock's time, with the three clients connected. By
 * default it starts from a token issued ten minutes ago, so every fetched token is newer.
 */
function setup(
  options: {
    initial?: 'none' | GrantName[];
    fetchGrants?: GrantName[];
    fetchError?: unknown;
    withFetcher?: boolean;
    /** Time each fetch takes on the manual clock. */
    latencyMs?: number;
    /** Default 0 (refresh at the about-to-expire moment). */
    refreshSpreadMs?: number;
    /** A fixed `clock.random()`, for the spread. */
    random?: number;
  } = {},
): Setup {
  const clock = new ManualClock();
  if (options.random !== undefined) Object.assign(clock, { random: () => options.random });
  const reasons: FetchReason[] = [];
  const fetched: string[] = [];
  const errors: AccessManagerError[] = [];
  const initial = options.initial ?? ['chat', 'sync', 'voice'];
  const { latencyMs = 0 } = options;
  const fetchToken = async ({ reason }: { reason: FetchReason }) => {
    reasons.push(reason);
    if (latencyMs > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, latencyMs));
    if (options.fetchError !== undefined) throw options.fetchError;
    const token = mintToken({ at: clock.now(), grants: options.fetchGrants ?? ['chat', 'sync', 'voice'] });
    fetched.push(token);
    return token;
  };
  const manager = createManager({
    clock,
    retry: false,
    refreshSpreadMs: options.refreshSpreadMs ?? 0,
    ...(initial === 'none' ? {} : { token: mintToken({ at: clock.now() - 10 * 60_000, grants: initial }) }),
    ...(options.withFetcher === false ? {} : { fetchToken }),
  });
  manager.on('error', (error) => errors.push(error));
  const conversations = new FakeConversationsClient();
  const sync = new FakeSyncClient();
  const device = new FakeDevice();
  const disconnects = [
    connectTwilioClient(manager, conversations, { grants: ['chat'] }),
    connectTwilioClient(manager, sync, { grants: ['data_sync'] }),
    connectTwilioClient(manager, device, { grants: ['voice'] }),
  ];
  return { clock, manager, reasons, errors, fetched, conversations, sync, device, disconnects };
}

describe('one token for Conversations, Sync and Voice', () => {
  it('serves all three clients with the first fetch', async () => {
    const { reasons, fetched, errors, conversations, sync, device, manager } = setup({ initial: 'none' });
    await flush();
    expect(reasons).toEqual(['initial']);
    expect(fetched).toHaveLength(1);
    expect(manager.token).toBe(fetched[0]);
    expect(conversations.tokens).toEqual(fetched);
    expect(sync.tokens).toEqual(fetched);
    expect(device.tokens).toEqual(fetched);
    expect(errors).toEqual([]);
  });

  it('refreshes once at the about-to-expire moment even when every SDK also says its token is expiring', async () => {
    const { clock, reasons, fetched, errors, conversations, sync, device } = setup({ initial: 'none', latencyMs: 500 });
    await clock.advance(500);
    expect(fetched).toHaveLength(1);
    await clock.advance(HOUR - ABOUT - 500);
    expect(reasons).toEqual(['initial', 'aboutToExpire']);
    // The SDKs run their own timers on the same token and fire while the manager's fetch is under way.
    conversations.emit('tokenAboutToExpire');
    sync.emit('tokenAboutToExpire');
    device.emit('tokenWillExpire', device);
    await clock.advance(500);
    expect(reasons).toEqual(['initial', 'aboutToExpire']);
    expect(fetched).toHaveLength(2);
    for (const client of [conversations, sync, device]) expect(client.tokens).toEqual(fetched);
    expect(errors).toEqual([]);
  });

  it('with the default spread, SDK events at the about-to-expire moment wait for the spread refresh', async () => {
    const { clock, reasons, fetched, errors, conversations, sync, device } = setup({
      initial: 'none',
      refreshSpreadMs: 90_000,
      random: 0.5,
    });
    await flush();
    await clock.advance(HOUR - ABOUT);
    expect(reasons).toEqual(['initial']);
    conversations.emit('tokenAboutToExpire');
    sync.emit('tokenAboutToExpire');
    device.emit('tokenWillExpire', device);
    await clock.advance(45_000 - 1);
    expect(reasons).toEqual(['initial']);
    await clock.advance(1);
    expect(reasons).toEqual(['initial', 'aboutToExpire']);
    for (const client of [conversations, sync, device]) expect(client.tokens).toEqual(fetched);
    expect(errors).toEqual([]);
  });

  it('makes one fetch when all three SDKs report their token expiring before the manager would', async () => {
    const { reasons, fetched, errors, conversations, sync, device, manager } = setup();
    conversations.emit('tokenAboutToExpire');
    sync.emit('tokenExpired');
    device.emit('tokenWillExpire', device);
    await flush();
    expect(reasons).toEqual(['client']);
    expect(fetched).toHaveLength(1);
    expect(manager.token).toBe(fetched[0]);
    for (const client of [conversations, sync, device]) expect(client.tokens).toEqual(fetched);
    expect(errors).toEqual([]);
  });
});

describe('SDK warnings with autoRefresh: false', () => {
  it('a refresh that brought back the same token inside the window leaves the next SDK warning to refresh', async () => {
    const clock = new ManualClock();
    const reasons: FetchReason[] = [];
    let answer = mintToken({ at: clock.now(), grants: ['voice'] });
    const manager = createManager({
      clock,
      token: answer,
      autoRefresh: false,
      fetchToken: async ({ reason }) => {
        reasons.push(reason);
        return answer;
      },
    });
    const device = new FakeDevice();
    connectTwilioClient(manager, device, { grants: ['voice'] });
    await clock.advance(HOUR - ABOUT + 60_000); // two minutes left; nothing refreshes on its own
    expect(reasons).toEqual([]);
    // A cached endpoint answers with the token the manager holds. With the automatic refresh off, no refresh is
    // armed for the end of the storm hold, so the SDK's next warning is not left waiting for one: it refreshes.
    await manager.refresh();
    expect(reasons).toEqual(['manual']);
    answer = mintToken({ at: clock.now(), grants: ['voice'] });
    device.emit('tokenWillExpire', device);
    await flush();
    expect(reasons).toEqual(['manual', 'client']);
    expect(manager.token).toBe(answer);
    expect(device.tokens).toEqual([answer]);
  });
});

describe('SDK token errors', () => {
  const refreshable: Array<[string, (s: Setup) => void]> = [
    [
      'all three report 20104 at once',
      ({ conversations, sync, device }) => {
        conversations.emit('connectionError', twilsockConnectionError(20104, 401));
        sync.emit('connectionError', twilsockConnectionError(20104, 401));
        device.emit('error', voiceTwilioError(20104, 31205));
      },
    ],
    [
      'all three report 20101 at once, twice each',
      ({ conversations, sync, device }) => {
        for (let i = 0; i < 2; i++) {
          conversations.emit('connectionError', twilsockConnectionError(20101));
          sync.emit('connectionError', twilsockConnectionError(20101));
          device.emit('error', voiceTwilioError(20101, 31204));
        }
      },
    ],
    [
      'Conversations reports 20104 nested in cause',
      ({ conversations }) => conversations.emit('connectionError', new Error('wrapped', { cause: { code: 20104 } })),
    ],
    [
      'Voice reports 31205 only in originalError',
      ({ device }) => device.emit('error', voiceTwilioError(31000, 31205)),
    ],
    [
      'Sync reports errorCode "20104" as a string',
      ({ sync }) => sync.emit('connectionError', { terminal: false, message: 'x', errorCode: '20104' }),
    ],
    [
      'Conversations says tokenExpired and reports 20104 at the same time',
      ({ conversations }) => {
        conversations.emit('tokenExpired');
        conversations.emit('connectionError', twilsockConnectionError(20104));
      },
    ],
  ];

  it.each(refreshable)('refreshes exactly once when %s', async (_label, report) => {
    const s = setup();
    report(s);
    await flush();
    expect(s.reasons).toHaveLength(1);
    expect(s.fetched).toHaveLength(1);
    expect(s.manager.token).toBe(s.fetched[0]);
    for (const client of [s.conversations, s.sync, s.device]) expect(client.tokens).toEqual(s.fetched);
    expect(s.errors).toEqual([]);
  });

  it('starts the refresh with reason clientError', async () => {
    const s = setup();
    s.device.emit('error', voiceTwilioError(20104, 31205));
    await flush();
    expect(s.reasons).toEqual(['clientError']);
  });

  it.each([
    ['20102 (bad header)', voiceTwilioError(20102)],
    ['20157 (ttl above 24 h)', twilsockConnectionError(20157)],
    ['31005 (Voice connection error)', voiceTwilioError(31005)],
    ['a socket error without code', twilsockConnectionError(null)],
  ])('does not refresh on %s', async (_label, error) => {
    const s = setup();
    s.device.emit('error', error);
    s.conversations.emit('connectionError', error);
    await flush();
    expect(s.reasons).toEqual([]);
    for (const client of [s.conversations, s.sync, s.device]) expect(client.tokens).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('reports a failed SDK-triggered refresh through the manager error event only', async () => {
    const s = setup({ fetchError: Object.assign(new Error('Unauthorized'), { status: 401 }) });
    s.sync.emit('tokenExpired');
    s.device.emit('error', voiceTwilioError(20104, 31205));
    await flush();
    expect(s.reasons).toEqual(['client']);
    expect(s.errors.map((error) => error.code)).toEqual(['FETCH_UNAUTHORIZED']);
    expect(s.manager.state).toBe('failed');
  });

  it('does nothing more than answer when the manager has no fetcher', async () => {
    const s = setup({ withFetcher: false });
    expect(() => s.device.emit('tokenWillExpire', s.device)).not.toThrow();
    expect(() => s.device.emit('error', voiceTwilioError(20104, 31205))).not.toThrow();
    await flush();
    expect(s.reasons).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});

describe('grants', () => {
  it('reports GRANT_MISSING with the client name when the token lacks a connected client grant', async () => {
    const { errors } = setup({ initial: ['chat', 'sync'] });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'AccessManagerError', code: 'GRANT_MISSING', clientName: 'voice' });
    expect(errors[0]?.message).toContain('"voice"');
  });

  it('reports it again for a later token that still lacks the grant, and not once it is there', async () => {
    const { errors, manager, clock, conversations, sync, device } = setup({ initial: ['chat', 'sync', 'voice'] });
    expect(errors).toEqual([]);
    const withoutChat = mintToken({ at: clock.now(), grants: ['sync', 'voice'] });
    await manager.updateToken(withoutChat);
    expect(errors.map((error) => [error.code, error.clientName])).toEqual([['GRANT_MISSING', 'conversations']]);
    await clock.advance(1000);
    await manager.updateToken(mintToken({ at: clock.now(), grants: ['chat', 'sync', 'voice'] }));
    expect(errors).toHaveLength(1);
    for (const client of [conversations, sync, device]) expect(client.tokens).toHaveLength(2);
  });

  it('checks the first fetched token too, when the manager started without one', async () => {
    const { errors, conversations, sync, device } = setup({ initial: 'none', fetchGrants: ['chat', 'sync'] });
    expect(errors).toEqual([]);
    await flush();
    expect(errors.map((error) => [error.code, error.clientName])).toEqual([['GRANT_MISSING', 'voice']]);
    // A missing grant is reported, not enforced: the token still goes to every client.
    for (const client of [conversations, sync, device]) expect(client.tokens).toHaveLength(1);
  });

  it('uses the name given to connectTwilioClient', () => {
    const clock = new ManualClock();
    const manager = createManager({ clock, token: mintToken({ at: clock.now(), grants: ['chat'] }) });
    const errors: AccessManagerError[] = [];
    manager.on('error', (error) => errors.push(error));
    connectTwilioClient(manager, new FakeDevice(), { name: 'softphone', grants: ['voice'] });
    expect(errors.map((error) => [error.code, error.clientName])).toEqual([['GRANT_MISSING', 'softphone']]);
  });
});

describe('disconnect with the real manager', () => {
  it('leaves no listener and no subscription behind', async () => {
    const s = setup();
    for (const client of [s.conversations, s.sync, s.device]) expect(listenerTotal(client)).toBe(6);
    for (const disconnect of s.disconnects) disconnect();
    for (const disconnect of s.disconnects) disconnect();
    for (const client of [s.conversations, s.sync, s.device]) expect(listenerTotal(client)).toBe(0);

    await s.manager.updateToken(mintToken({ at: s.clock.now() }));
    s.device.emit('tokenWillExpire', s.device);
    await flush();
    expect(s.reasons).toEqual([]);
    for (const client of [s.conversations, s.sync, s.device]) expect(client.tokens).toEqual([]);
  });

  it('stops pushing to a destroyed Voice Device instead of failing every refresh', async () => {
    const s = setup();
    s.device.destroy();
    expect(listenerTotal(s.device)).toBe(0);
    await s.manager.refresh();
    await flush();
    expect(s.device.tokens).toEqual([]);
    expect(s.conversations.tokens).toEqual(s.fetched);
    expect(s.errors).toEqual([]);
  });

  it('names a failing Voice Device in CLIENT_UPDATE_FAILED and still updates the other two', async () => {
    const s = setup();
    const refusal = new Error('Attempt to "updateToken" when device is in state "destroyed".');
    s.device.updateToken = () => {
      throw refusal;
    };
    await s.manager.refresh();
    await flush();
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ code: 'CLIENT_UPDATE_FAILED', clientName: 'voice', cause: refusal });
    expect(s.conversations.tokens).toEqual(s.fetched);
    expect(s.sync.tokens).toEqual(s.fetched);
  });

  it('keeps SDK events harmless after the manager is disposed', () => {
    const s = setup();
    s.manager.dispose();
    expect(() => s.conversations.emit('tokenExpired')).not.toThrow();
    expect(() => s.device.emit('error', voiceTwilioError(20104, 31205))).not.toThrow();
    expect(() => s.disconnects.forEach((disconnect) => disconnect())).not.toThrow();
    for (const client of [s.conversations, s.sync, s.device]) expect(listenerTotal(client)).toBe(0);
  });
});
