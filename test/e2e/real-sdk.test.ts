// token-warden with the real Twilio SDK objects in Debian's Chromium: `@twilio/conversations` `Client`,
// `twilio-sync` `SyncClient` and `@twilio/voice-sdk` `Device`, bundled from node_modules by rollup together with
// the built dist/ (see real-sdk/bundle.ts), wired to one AccessManager with `connectTwilioClient` from
// `token-warden/twilio`.
//
// There is no internet here, so the SDKs' WebSockets are answered by small local stand-ins (Playwright's
// `routeWebSocket`): twilsock for Conversations and Sync (real-sdk/twilsock-stand-in.ts), the signaling server
// for Voice (real-sdk/voice-stand-in.ts). They speak just enough of each protocol for the SDKs to connect, take
// token updates, and report token trouble the way the real services do: twilsock's `token_about_to_expire` push,
// its 401/20104 refusal of an expired token and its close (410) of a live connection, Voice's `connected` (whose
// `ttl` arms the Device's own `tokenWillExpire` timer) and its 31205/31204 signaling errors. Tokens are real
// Twilio access tokens minted in this process with the `twilio` package and handed to the page one fetch at a
// time.
//
// Two tests pin SDK behaviours that the manager and connectTwilioClient absorb: a stale Voice timer that would
// fetch again (a warning counts only while the manager's own token is about to expire), and an update twilsock
// drops while its connection is closing (connectTwilioClient holds the token until the state moves on).
//
// The page side (real-sdk/harness.js) records every fetch with its reason, every manager error, every
// `updateToken` call on each client (a spy that calls through to the SDK) and the SDK events. Assertions prefer
// what the stand-in servers received: the token on the wire is the proof that the SDK really took it.
//
// `npm test` builds dist/ first; on its own, run `npm run build` before this file. The first run bundles the
// SDKs (about 5-10 s) into node_modules/.cache/token-warden-e2e; later runs reuse it.
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Bundles, CHROMIUM_ARGS, type PageOptions, type RealSdkPage, loadBundles, openRealSdkPage } from './real-sdk/page.js';
import type { TwilsockProduct } from './real-sdk/twilsock-stand-in.js';

type ClientName = 'conversations' | 'sync' | 'voice';
const ALL: ClientName[] = ['conversations', 'sync', 'voice'];

interface Summary {
  fetches: Array<{ reason: string; attempt: number; at: number }>;
  errors: Array<{ code: string; clientName?: string; twilioCode?: number; message: string; at: number; holding: string[] }>;
  updates: Array<{ source: string; token: string; at: number }>;
  calls: Array<{ client: ClientName; token: string; at: number; settled: string; settledAt?: number; error?: string }>;
  sdkEvents: Array<{ client: ClientName; event: string; at: number; code?: number }>;
  managerToken: string;
  states: Partial<Record<ClientName, string>>;
  holding: Partial<Record<ClientName, string>>;
}

interface SetupOptions {
  names?: ClientName[];
  manager?: Record<string, unknown>;
  voice?: Record<string, unknown>;
  register?: boolean;
}

/** What harness.js puts on `window.harness` (only what these tests call). */
interface Harness {
  setup(options: SetupOptions): Promise<void>;
  createManager(options?: Record<string, unknown>): Promise<string>;
  createClient(name: ClientName): unknown;
  spy(name: ClientName): void;
  connect(name: ClientName): void;
  disconnect(name: ClientName): void;
  listenerCounts(name: ClientName): Record<string, number>;
  summary(): Summary;
  now(): number;
  manager: { refresh(): Promise<string>; token: string };
  clients: {
    conversations: unknown;
    sync: unknown;
    voice: { register(): Promise<void>; destroy(): void; token: string; state: string };
  };
}
type HarnessWindow = { harness: Harness };

/** How the harness shortens tokens in its summary. */
const short = (token: string | undefined) => token?.slice(-8);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
/** How long to keep watching after the expected fetch, to be sure no second one follows. */
const QUIET_MS = 300;

async function until<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, what: string, timeout = 5_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value, null, 1)}`);
    await sleep(25);
  }
}

let browser: Browser;
let bundles: Bundles;
let current: RealSdkPage | undefined;

beforeAll(async () => {
  [browser, bundles] = await Promise.all([
    chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    loadBundles(),
  ]);
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await current?.context.close();
  current = undefined;
});

async function open(options?: PageOptions): Promise<RealSdkPage> {
  current = await openRealSdkPage(browser, bundles, options);
  return current;
}

const summary = (p: RealSdkPage) => p.page.evaluate(() => (window as unknown as HarnessWindow).harness.summary());

/**
 * Creates the manager and the named clients (spied on and connected), and waits until each SDK is online (the
 * Voice Device only when it registers), unless `online` is false.
 */
async function setup(p: RealSdkPage, options: SetupOptions = {}, online = true): Promise<Summary> {
  await p.page.evaluate((o) => (window as unknown as HarnessWindow).harness.setup(o), options);
  if (!online) return summary(p);
  const names = options.names ?? ALL;
  const ready: Record<ClientName, string> = { conversations: 'initialized', sync: 'connected', voice: 'registered' };
  return until(
    () => summary(p),
    (s) => names.every((name) => (name === 'voice' && options.register === false) || s.states[name] === ready[name]),
    `${names.join(', ')} online`,
  );
}

function refresh(p: RealSdkPage): Promise<string> {
  return p.page.evaluate(() => (window as unknown as HarnessWindow).harness.manager.refresh());
}

/** Waits for `count` fetches and for every updateToken call to settle, then watches a little longer. */
async function settledAfterFetches(p: RealSdkPage, count: number, what: string): Promise<Summary> {
  await until(() => summary(p), (s) => s.fetches.length >= count && s.calls.every((c) => c.settled !== 'pending'), what);
  await sleep(QUIET_MS);
  return summary(p);
}

/** The tokens each stand-in received from each SDK. */
function wire(p: RealSdkPage): Record<ClientName, string[]> {
  const twilsock = (product: TwilsockProduct) => p.twilsock.tokens.filter((t) => t.product === product).map((t) => t.token);
  return { conversations: twilsock('conversations'), sync: twilsock('sync'), voice: p.voice.tokens() };
}

const eventsOf = (s: Summary, client: ClientName, event: string) => s.sdkEvents.filter((e) => e.client === client && e.event === event);

describe('token-warden with the real Twilio SDKs (Chromium, stand-in servers)', () => {
  it('a manager refresh reaches the Conversations Client, the SyncClient and the Voice Device; their simultaneous reports then share one fetch', async () => {
    const p = await open();
    await setup(p);
    const [initial] = p.minted;
    // All three went online with the manager's first token.
    expect(wire(p)).toEqual({ conversations: [initial], sync: [initial], voice: [initial] });

    const refreshed = await refresh(p);
    expect(refreshed).toBe(p.minted[1]);

    // The new token on the wire: twilsock `update` from Conversations and Sync, a signaling `listen` from Voice.
    await until(() => wire(p), (w) => ALL.every((name) => w[name].at(-1) === refreshed), 'the new token at every stand-in');
    expect(p.twilsock.tokensOf('conversations', 'update')).toEqual([refreshed]);
    expect(p.twilsock.tokensOf('sync', 'update')).toEqual([refreshed]);

    const s = await settledAfterFetches(p, 1, 'updateToken calls to settle');
    expect(s.fetches.map((f) => f.reason)).toEqual(['manual']);
    expect(s.calls.map((c) => [c.client, c.token, c.settled])).toEqual([
      ['conversations', short(refreshed), 'resolved'],
      ['sync', short(refreshed), 'resolved'],
      ['voice', short(refreshed), 'returned'],
    ]);
    // Each SDK reports the new token as its own, and nothing went wrong.
    expect(s.holding).toEqual({ conversations: short(refreshed), sync: short(refreshed), voice: short(refreshed) });
    expect(s.errors).toEqual([]);

    // All three SDKs report token trouble at the same moment: one fetch, and its token reaches all three.
    p.twilsock.tokenAboutToExpire('sync');
    p.twilsock.tokenAboutToExpire('conversations');
    p.voice.error(31205, 'JWT token expired');
    await until(() => wire(p), (w) => ALL.every((name) => w[name].at(-1) === p.minted[2]), 'the next token at every stand-in');
    const after = await settledAfterFetches(p, 2, 'updateToken calls to settle');
    expect(eventsOf(after, 'sync', 'tokenAboutToExpire')).toHaveLength(1);
    expect(eventsOf(after, 'conversations', 'tokenAboutToExpire')).toHaveLength(1);
    expect(eventsOf(after, 'voice', 'error')).toHaveLength(1);
    expect(after.fetches).toHaveLength(2);
    expect(['client', 'clientError']).toContain(after.fetches[1]!.reason);
    expect(p.minted).toHaveLength(3);
    expect(after.errors).toEqual([]);
    expect(p.pageErrors).toEqual([]);
  });

  // Each scenario below starts from a fresh manager: the manager treats a second client report within a minute of
  // a client-caused refresh as "the fresh token did not help" and holds that refresh back, which is not what these
  // tests are about.

  it.each(['sync', 'conversations'] as const)(
    "%s: twilsock's token_about_to_expire becomes tokenAboutToExpire, which causes exactly one fetch",
    async (product) => {
      const p = await open();
      // A warning counts while the manager's own token is about to expire (one about an older token is ignored):
      // here the whole lifetime is the window and automatic refresh is off, so only the SDK can start the fetch.
      await setup(p, { names: [product], manager: { aboutToExpireMs: 3_600_000, autoRefresh: false } });
      expect(p.twilsock.tokenAboutToExpire(product)).toBe(1);

      const s = await settledAfterFetches(p, 1, 'the fetch after tokenAboutToExpire');
      expect(eventsOf(s, product, 'tokenAboutToExpire')).toHaveLength(1);
      expect(s.fetches.map((f) => f.reason)).toEqual(['client']);
      // The fetched token went out as a twilsock `update`, accepted.
      expect(p.twilsock.tokensOf(product, 'update')).toEqual([p.minted[1]]);
      expect(s.calls.map((c) => [c.token, c.settled])).toEqual([[short(p.minted[1]), 'resolved']]);
      expect(s.errors).toEqual([]);
    },
  );

  it.each(['sync', 'conversations'] as const)(
    '%s: a reconnect refused as expired (401, 20104) causes exactly one fetch, and the SDK comes back with its token',
    async (product) => {
      const p = await open();
      await setup(p, { names: [product] });
      // The connection drops; the SDK reconnects (after its own backoff, about a second) with the token it holds,
      // and the server refuses it as expired. The SDK emits tokenExpired and connectionError: one fetch for both.
      p.twilsock.rejectNextInit(product, { errorCode: 20104 });
      expect(p.twilsock.drop(product)).toBe(1);

      const s = await settledAfterFetches(p, 1, 'the fetch after the refused reconnect');
      expect(eventsOf(s, product, 'tokenExpired')).toHaveLength(1);
      expect(eventsOf(s, product, 'connectionError').map((e) => e.code)).toEqual([20104]);
      expect(s.fetches).toHaveLength(1);
      // twilsock emits tokenExpired first, so the refresh carries that event's reason.
      expect(s.fetches[0]!.reason).toBe('client');
      const inits = p.twilsock.tokens.filter((t) => t.product === product && t.via === 'init');
      expect(inits.map((t) => [t.token, t.accepted])).toEqual([
        [p.minted[0], true],
        [p.minted[0], false],
        [p.minted[1], true],
      ]);
      expect(s.calls.map((c) => [c.token, c.settled])).toEqual([[short(p.minted[1]), 'resolved']]);
      expect(s.errors).toEqual([]);
    },
  );

  // twilsock answers the server's `close` (410, expired token) by closing its socket with the close handler already
  // detached, so it sits in a closing state until its own 3 s timeout. An updateToken in that window (the fetch
  // after tokenExpired is usually faster) would be dropped by its state machine and never settle, and the SDK would
  // stay disconnected (it also ignores a token equal to the one it stored). connectTwilioClient holds the token
  // until the connection state moves on. Conversations shares the transport.
  it('sync: after the server closes the connection for an expired token (close 410), the fetched token brings it back', async () => {
    const p = await open();
    await setup(p, { names: ['sync'] });
    expect(p.twilsock.closeExpired('sync')).toBe(1);
    await until(() => summary(p), (x) => x.fetches.length === 1 && x.calls.length === 1, 'the fetch after tokenExpired');
    // twilsock's own closing timeout is 3 s; a fix would reconnect right after it.
    await sleep(3_400);
    expect(p.twilsock.tokens.map((t) => [t.via, t.token, t.accepted])).toEqual([
      ['init', p.minted[0], true],
      ['init', p.minted[1], true],
    ]);
  });

  it('conversations: a first connection refused as expired causes one fetch; the SDK fails its updateToken but comes online', async () => {
    const p = await open();
    p.twilsock.rejectNextInit('conversations', { errorCode: 20104 });
    await setup(p, { names: ['conversations'] }, false);

    await until(() => summary(p), (x) => x.states.conversations === 'initialized', 'Conversations initialized');
    const s = await settledAfterFetches(p, 1, 'the fetch after the refused first connection');
    expect(s.fetches).toHaveLength(1);
    expect(p.twilsock.tokens.map((t) => [t.via, t.token, t.accepted])).toEqual([
      ['init', p.minted[0], false],
      ['init', p.minted[1], true],
    ]);
    // An SDK quirk: after a refused first connection, Client.updateToken passes the token to twilsock (which
    // reconnects with it, as above), then fails on a part of the client that only initialization creates. The
    // manager reports that as CLIENT_UPDATE_FAILED; the client itself is fine and holds the new token.
    expect(s.calls).toMatchObject([{ token: short(p.minted[1]), settled: 'rejected', error: expect.stringContaining('updateToken') }]);
    expect(s.errors.map((e) => [e.code, e.clientName])).toEqual([['CLIENT_UPDATE_FAILED', 'conversations']]);
  });

  it("voice: the Device's own tokenWillExpire timer causes exactly one fetch", async () => {
    // A 12 s first token: the stand-in reports its ttl on `connected`, and the Device (tokenRefreshMs 11 s) warns
    // within a second. The manager's window covers that moment (a warning counts only inside it) and its automatic
    // refresh is off, so only the Device can start the fetch.
    const p = await open({ ttlSeconds: (n) => (n === 0 ? 12 : 3600 + n) });
    await setup(p, {
      names: ['voice'],
      manager: { aboutToExpireMs: 11_900, autoRefresh: false },
      voice: { tokenRefreshMs: 11_000 },
    });

    const s = await settledAfterFetches(p, 1, 'the fetch after tokenWillExpire');
    expect(eventsOf(s, 'voice', 'tokenWillExpire')).toHaveLength(1);
    expect(s.fetches.map((f) => f.reason)).toEqual(['client']);
    await until(() => p.voice.tokens(), (t) => t.at(-1) === p.minted[1], 'a listen with the new token');
    expect(p.voice.tokens()).toEqual(p.minted);
    expect(s.errors).toEqual([]);
  });

  it('voice: a listen refused with 31205 causes exactly one fetch, and the Device registers with the new token', async () => {
    const p = await open();
    p.voice.refuseNextListen(31205, 'JWT token expired');
    await setup(p, { names: ['voice'] });

    const s = await settledAfterFetches(p, 1, 'the fetch after 31205');
    // The Device reports 31205 as an `error` event with a TwilioError of code 20104 (AccessTokenExpired).
    expect(eventsOf(s, 'voice', 'error').map((e) => e.code)).toEqual([20104]);
    expect(s.fetches.map((f) => f.reason)).toEqual(['clientError']);
    expect(p.voice.listens).toEqual([
      { token: p.minted[0], accepted: false },
      { token: p.minted[1], accepted: true },
    ]);
    expect(s.states.voice).toBe('registered');
    expect(s.errors).toEqual([]);
  });

  // The Device arms a tokenWillExpire timer on every `connected` (every token it sends) and never clears the one
  // armed for the previous token. When the manager refreshes first (on its own schedule, or as here through
  // refresh()), the old token's timer still fires later, for a token that has an hour left. With the defaults
  // (manager 3 min ahead, Device 10 s ahead) that would be a second fetch in every token lifetime; the manager
  // ignores a warning while its own token is not about to expire.
  it("voice: a tokenWillExpire left over from the Device's previous token does not fetch again", async () => {
    // First token 14 s: the stand-in reports its ttl (whole seconds left: 12 or 13) on `connected`, so the Device
    // (tokenRefreshMs 11 s) arms a timer for 1-2 s later. The manager refreshes before that.
    const p = await open({ ttlSeconds: (n) => (n === 0 ? 14 : 3600 + n) });
    await setup(p, { names: ['voice'], manager: { aboutToExpireMs: 1_000 }, voice: { tokenRefreshMs: 11_000 } });
    await refresh(p);
    await until(() => summary(p), (x) => eventsOf(x, 'voice', 'tokenWillExpire').length > 0, 'the stale tokenWillExpire');
    const s = await settledAfterFetches(p, 1, 'fetches to settle');
    expect(s.fetches.map((f) => f.reason)).toEqual(['manual']);
  });

  it('a Voice server that refuses every token (31204) gets one fetch, then CLIENT_TOKEN_REJECTED and a backoff', async () => {
    const p = await open();
    for (let i = 0; i < 50; i++) p.voice.refuseNextListen(31204, 'Invalid JWT token');
    // A fixed jitter, so the backoff is its full 5 s: the retry schedule, not luck, spaces the fetches.
    await setup(p, {
      names: ['voice'],
      register: false,
      manager: { retry: { minDelayMs: 5_000, maxDelayMs: 5_000, factor: 1 }, random: 0.999 },
    });
    await p.page.evaluate(() => {
      const { harness } = window as unknown as HarnessWindow;
      harness.clients.voice.register().catch(() => {});
    });
    await until(() => summary(p), (x) => x.errors.length >= 1, 'CLIENT_TOKEN_REJECTED');
    await sleep(700);
    const s = await summary(p);
    // The first refusal fetched; the fresh token was refused too: instead of fetching again at once (and again,
    // and again: the Device reports every refused listen), the manager says so and waits for the backoff.
    expect(p.voice.listens.map((l) => [l.token, l.accepted])).toEqual([
      [p.minted[0], false],
      [p.minted[1], false],
    ]);
    expect(s.fetches.map((f) => f.reason)).toEqual(['clientError']);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ code: 'CLIENT_TOKEN_REJECTED', clientName: 'voice' });
    // The Device's TwilioError for 31204 is AccessTokenInvalid, code 20101.
    expect([20101, 31204]).toContain(s.errors[0]!.twilioCode);
  });

  it('the disconnect function leaves every listener count as it was and ends both directions', async () => {
    const p = await open();
    const counts = await p.page.evaluate(async (names) => {
      const { harness } = window as unknown as HarnessWindow;
      await harness.createManager();
      const before: Record<string, Record<string, number>> = {};
      const connected: Record<string, Record<string, number>> = {};
      const after: Record<string, Record<string, number>> = {};
      for (const name of names) {
        harness.createClient(name);
        harness.spy(name);
        before[name] = harness.listenerCounts(name);
        harness.connect(name);
        connected[name] = harness.listenerCounts(name);
      }
      await harness.clients.voice.register();
      for (const name of names) {
        harness.disconnect(name);
        after[name] = harness.listenerCounts(name);
      }
      return { before, connected, after };
    }, ALL);
    for (const name of ALL) {
      // Connected: one more listener on each event connectTwilioClient uses; disconnected: exactly as before.
      const plusOne = Object.fromEntries(Object.entries(counts.before[name]).map(([event, n]) => [event, n + 1]));
      expect(counts.connected[name], name).toEqual(plusOne);
      expect(counts.after[name], name).toEqual(counts.before[name]);
    }
    await until(() => summary(p), (s) => s.states.sync === 'connected' && s.states.conversations === 'initialized', 'twilsock SDKs online');

    // SDK -> manager: the SDKs still emit their events (the harness's own listeners see them), but nothing fetches.
    p.twilsock.tokenAboutToExpire('sync');
    p.twilsock.tokenAboutToExpire('conversations');
    p.voice.error(31205, 'JWT token expired');
    await until(() => summary(p), (s) => s.sdkEvents.length >= 3, 'the three SDK events');
    await sleep(QUIET_MS);
    expect((await summary(p)).fetches).toEqual([]);

    // manager -> SDK: a refresh no longer calls updateToken on any of them.
    const refreshed = await refresh(p);
    await sleep(QUIET_MS);
    const s = await summary(p);
    expect(s.fetches).toHaveLength(1);
    expect(s.calls).toEqual([]);
    expect(Object.values(wire(p)).flat()).not.toContain(refreshed);
    expect(s.errors).toEqual([]);
  });

  it('a destroyed Voice Device is let go: later refreshes do not call its updateToken', async () => {
    const p = await open();
    await setup(p, { names: ['voice'], register: false });
    await p.page.evaluate(() => (window as unknown as HarnessWindow).harness.clients.voice.destroy());
    await refresh(p);
    await sleep(QUIET_MS);
    const s = await summary(p);
    expect(s.states.voice).toBe('destroyed');
    expect(s.calls).toEqual([]);
    // updateToken on a destroyed Device throws; had it been called, this would be CLIENT_UPDATE_FAILED.
    expect(s.errors).toEqual([]);
  });

  it('Conversations and Sync without a connection never settle updateToken: CLIENT_UPDATE_TIMEOUT, and Voice is not delayed', async () => {
    const CLIENT_TIMEOUT_MS = 400;
    const p = await open();
    // The browser is offline and twilsock cannot be reached (Playwright's WebSocket routes ignore the offline
    // switch, so the stand-in refuses the sockets itself). The Voice Device is idle, not registered.
    await p.context.setOffline(true);
    p.twilsock.unreachable.add('all');
    await setup(p, { names: ALL, register: false, manager: { clientTimeoutMs: CLIENT_TIMEOUT_MS } }, false);

    const timing = await p.page.evaluate(async () => {
      const { harness } = window as unknown as HarnessWindow;
      const started = harness.now();
      await harness.manager.refresh();
      return { started, refreshedAfter: harness.now() - started };
    });
    const refreshed = p.minted[1];
    // refresh() does not wait for the clients.
    expect(timing.refreshedAfter).toBeLessThan(CLIENT_TIMEOUT_MS);

    let s = await until(() => summary(p), (x) => x.errors.length >= 2, 'two CLIENT_UPDATE_TIMEOUT errors');
    await sleep(QUIET_MS);
    s = await summary(p);
    expect(s.errors.map((e) => [e.code, e.clientName]).sort()).toEqual([
      ['CLIENT_UPDATE_TIMEOUT', 'conversations'],
      ['CLIENT_UPDATE_TIMEOUT', 'sync'],
    ]);
    for (const error of s.errors) expect(error.at - timing.started).toBeGreaterThanOrEqual(CLIENT_TIMEOUT_MS - 50);
    // Voice had the token at once, long before the others were given up on.
    const voiceCall = s.calls.find((c) => c.client === 'voice');
    expect(voiceCall).toMatchObject({ token: short(refreshed), settled: 'returned' });
    expect(voiceCall!.settledAt! - timing.started).toBeLessThan(CLIENT_TIMEOUT_MS / 2);
    for (const error of s.errors) expect(error.holding).toContain('voice');
    // The twilsock SDKs' own updateToken is still pending: it waits for a connection, however long that takes.
    expect(s.calls.filter((c) => c.client !== 'voice').map((c) => [c.client, c.settled])).toEqual([
      ['conversations', 'pending'],
      ['sync', 'pending'],
    ]);
    expect(wire(p)).toEqual({ conversations: [], sync: [], voice: [] });

    // Back online: twilsock reconnects on the browser's `online` event, and the pending updates finish late,
    // with the manager's token (Sync presents it in its init; Conversations connects with the token it was
    // constructed with, initializes, then sends the update). No new fetch, no new error.
    p.twilsock.unreachable.clear();
    await p.context.setOffline(false);
    await until(
      () => wire(p),
      (w) => w.sync.at(-1) === refreshed && w.conversations.at(-1) === refreshed,
      'Conversations and Sync to present the new token once online',
    );
    s = await until(() => summary(p), (x) => x.calls.every((c) => c.settled !== 'pending'), 'the late updates to settle');
    expect(s.calls.map((c) => [c.client, c.settled])).toEqual([
      ['conversations', 'resolved'],
      ['sync', 'resolved'],
      ['voice', 'returned'],
    ]);
    expect(p.twilsock.tokens.map((t) => [t.product, t.via, t.token === refreshed]).sort()).toEqual([
      ['conversations', 'init', false],
      ['conversations', 'update', true],
      ['sync', 'init', true],
    ]);
    expect(s.fetches).toHaveLength(1);
    expect(s.errors).toHaveLength(2);
  });
});
