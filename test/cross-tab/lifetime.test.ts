// "Exactly one fetch per token lifetime however many tabs are open": the tab that holds the lock fetches, the
// others adopt its token with `source: 'peer'`, lifetime after lifetime.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, type Tab, errors, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

// Message delivery relative to lock hand-over: on microtasks (message first, usually), or some ms later on the
// clock, so the next tab in the lock queue gets the lock before the token the previous holder broadcast.
const DELIVERY = [
  { label: 'messages on microtasks', latencyMs: undefined },
  { label: 'messages 1 ms late', latencyMs: 1 },
  { label: 'messages 40 ms late', latencyMs: 40 },
] as const;

function expectOneTokenEverywhere(tabs: Tab[]): string {
  const token = tabs[0]!.manager.token!;
  expect(token).toBeDefined();
  for (const tab of tabs) expect(tab.manager.token, tab.name).toBe(token);
  return token;
}

describe.each(DELIVERY)('one fetch per token lifetime ($label)', ({ latencyMs }) => {
  const setup = (ttl = 3600) => {
    const clock = new ManualClock();
    const env = useTabEnv(latencyMs === undefined ? {} : { clock, latencyMs });
    const server = tokenServer(clock, { ttl });
    return { clock, env, server };
  };

  it.each([3, 5])('across %i tabs that bootstrapped from the first, for three lifetimes', async (count) => {
    const { clock, env, server } = setup();
    const tabs: Tab[] = [];
    for (let i = 0; i < count; i++) {
      const name = `tab${i + 1}`;
      tabs.push(openTab(name, clock, { fetchToken: server.fetcherFor(name) }));
      await clock.advance(1000);
    }
    expect(server.fetches.map((f) => `${f.tab}:${f.reason}`)).toEqual(['tab1:initial']);
    expectOneTokenEverywhere(tabs);
    expect(updates(tabs[0]!).map((e) => e.source)).toEqual(['fetch']);
    for (const tab of tabs.slice(1)) expect(updates(tab).map((e) => e.source), tab.name).toEqual(['peer']);

    for (let lifetime = 1; lifetime <= 3; lifetime++) {
      const before = tabs.map((tab) => updates(tab).length);
      await clock.advance(60 * MIN);
      expect(server.fetches, `after lifetime ${lifetime}`).toHaveLength(1 + lifetime);
      const fetch = server.fetches.at(-1)!;
      expect(fetch.reason).toBe('aboutToExpire');
      const token = expectOneTokenEverywhere(tabs);
      expect(token).toBe(fetch.token);
      tabs.forEach((tab, i) => {
        const latest = updates(tab).slice(before[i]);
        expect(latest.map((e) => e.source), tab.name).toEqual([tab.name === fetch.tab ? 'fetch' : 'peer']);
      });
      // No tab ever saw its token expire.
      for (const tab of tabs) expect(tab.events.filter((e) => e.type === 'tokenExpired'), tab.name).toEqual([]);
    }
    for (const tab of tabs) expect(errors(tab), tab.name).toEqual([]);
    expect(env.handlerErrors).toEqual([]);
    expect(env.lockState()).toEqual({ held: [], waiting: {} });
  });

  it('across 4 tabs that all started with the same token and never spoke before', async () => {
    // A page that renders the token into each tab: no tab has asked anything, so none knows of the others
    // until the refresh moment, when all four queue for the lock at once.
    const { clock, server } = setup();
    const initial = mintToken({ at: clock.now() });
    const tabs = ['a', 'b', 'c', 'd'].map((name) => openTab(name, clock, { token: initial, fetchToken: server.fetcherFor(name) }));
    await clock.advance(58 * MIN);
    expect(server.fetches).toHaveLength(1);
    expect(expectOneTokenEverywhere(tabs)).toBe(server.fetches[0]!.token);
    for (const tab of tabs) {
      expect(updates(tab).map((e) => e.source), tab.name).toEqual([tab.name === server.fetches[0]!.tab ? 'fetch' : 'peer']);
    }
    await clock.advance(2 * 60 * MIN);
    expect(server.fetches).toHaveLength(3);
    expectOneTokenEverywhere(tabs);
    for (const tab of tabs) expect(errors(tab), tab.name).toEqual([]);
  });

  it('across 5 tabs opened at the same moment without a token', async () => {
    const { clock, server } = setup();
    const tabs = [1, 2, 3, 4, 5].map((i) => openTab(`t${i}`, clock, { fetchToken: server.fetcherFor(`t${i}`) }));
    await clock.advance(PEER_WAIT_MS - 1);
    expect(server.fetches).toEqual([]);
    await clock.advance(1000);
    expect(server.fetches).toHaveLength(1);
    expect(server.fetches[0]!.reason).toBe('initial');
    expect(expectOneTokenEverywhere(tabs)).toBe(server.fetches[0]!.token);
    await clock.advance(60 * MIN);
    expect(server.fetches).toHaveLength(2);
    expectOneTokenEverywhere(tabs);
    for (const tab of tabs) expect(errors(tab), tab.name).toEqual([]);
  });

  it('getToken() and refresh() in every tab at once still make one fetch', async () => {
    const { clock, server } = setup();
    const tabs = ['a', 'b', 'c'].map((name) => openTab(name, clock, { fetchToken: server.fetcherFor(name) }));
    const got = tabs.map((tab) => tab.manager.getToken());
    await clock.advance(1000);
    const first = await Promise.all(got);
    expect(new Set(first).size).toBe(1);
    expect(server.fetches).toHaveLength(1);

    await clock.advance(1000); // a new second: the next token is a different string
    const refreshed = tabs.map((tab) => tab.manager.refresh());
    await clock.advance(1000);
    const second = await Promise.all(refreshed);
    expect(server.fetches).toHaveLength(2);
    expect(new Set(second).size).toBe(1);
    expect(second[0]).not.toBe(first[0]);
    expectOneTokenEverywhere(tabs);
  });
});

it('a tab whose refresh is due while a peer is already fetching waits for the lock and takes the result', async () => {
  const clock = new ManualClock();
  const env = useTabEnv({ clock, latencyMs: 5 });
  const server = tokenServer(clock, { delayMs: 3000 });
  const initial = mintToken({ at: clock.now() });
  const a = openTab('a', clock, { token: initial, fetchToken: server.fetcherFor('a') });
  const b = openTab('b', clock, { token: initial, fetchToken: server.fetcherFor('b'), clockSkew: 1000 });
  // b's clock is one second ahead of the server, so its refresh starts a second before a's (and, as it has a
  // peer, it first asks for a newer token, for up to 200 ms).
  await clock.advance(57 * MIN - 1000 + PEER_WAIT_MS);
  expect(server.fetches.map((f) => f.tab)).toEqual(['b']);
  expect(b.manager.state).toBe('refreshing');
  await clock.advance(1000 - PEER_WAIT_MS);
  expect(env.lockState()).toEqual({ held: ['token-warden:default'], waiting: { 'token-warden:default': 1 } });
  expect(a.manager.state).toBe('refreshing');
  await clock.advance(5000);
  expect(server.fetches).toHaveLength(1);
  expect(a.manager.token).toBe(server.fetches[0]!.token);
  expect(updates(a).map((e) => e.source)).toEqual(['peer']);
  expect(a.manager.state).toBe('valid');
  expect(env.lockState()).toEqual({ held: [], waiting: {} });
});

it('a tab queued for the lock leaves the queue as soon as the holder’s token arrives', async () => {
  const clock = new ManualClock();
  const env = useTabEnv({ clock, latencyMs: 5 });
  const server = tokenServer(clock, { delayMs: 1000 });
  const initial = mintToken({ at: clock.now() });
  const [a, b, c] = ['a', 'b', 'c'].map((name) => openTab(name, clock, { token: initial, fetchToken: server.fetcherFor(name) })) as [Tab, Tab, Tab];
  await clock.advance(10 * MIN);
  const started = clock.now();
  const refreshes = [a, b, c].map((tab) => tab.manager.refresh());
  await clock.advance(0);
  expect(server.fetches.map((f) => f.tab)).toEqual(['a']);
  expect(env.lockState().waiting).toEqual({ 'token-warden:default': 2 });
  expect(b.manager.state).toBe('refreshing');
  await clock.advance(1000 + 5); // a's fetch, then its message
  const tokens = await Promise.all(refreshes);
  expect(new Set(tokens)).toEqual(new Set([server.fetches[0]!.token]));
  expect(clock.now() - started).toBe(1005);
  // b and c gave up their places: only a's 200 ms hold is left.
  expect(env.lockState()).toEqual({ held: ['token-warden:default'], waiting: {} });
  for (const tab of [b, c]) {
    expect(tab.manager.state, tab.name).toBe('valid');
    expect(updates(tab).map((e) => e.source), tab.name).toEqual(['peer']);
  }
  await clock.advance(PEER_WAIT_MS);
  expect(env.lockState()).toEqual({ held: [], waiting: {} });
  expect(server.fetches).toHaveLength(1);
});

it('a tab whose refresh comes just after a peer’s instant fetch, with the lock free and the token in flight, waits for it', async () => {
  // A fetcher that answers at once (a cached token endpoint) and a channel slower than that: the first tab is done
  // before the next tab's timer fires (timers due at the same moment fire one after another) while its token is
  // still on the way. It keeps the lock 200 ms after sending, so the others queue and get the token instead.
  const clock = new ManualClock();
  useTabEnv({ clock, latencyMs: 1 });
  const fetches: string[] = [];
  const instant = (tab: string) => async () => {
    fetches.push(tab);
    return mintToken({ at: clock.now() });
  };
  const initial = mintToken({ at: clock.now() });
  const tabs = ['a', 'b', 'c'].map((name) => openTab(name, clock, { token: initial, fetchToken: instant(name) }));
  await clock.advance(57 * MIN + 1000);
  expect(fetches).toHaveLength(1);
  expectOneTokenEverywhere(tabs);
  await clock.advance(60 * MIN);
  expect(fetches).toHaveLength(2);
  expectOneTokenEverywhere(tabs);
});

it('a failing endpoint: every tab in line tries and backs off on its own; the first success ends them all', async () => {
  const clock = new ManualClock();
  useTabEnv({ clock, latencyMs: 2 });
  let down = false;
  const attempts: string[] = [];
  const fetcherFor = (tab: string) => async () => {
    attempts.push(tab);
    if (down) throw Object.assign(new Error('Service Unavailable'), { status: 503 });
    return mintToken({ at: clock.now() });
  };
  const retry = { minDelayMs: 1000, maxDelayMs: 5000 };
  const tabs = ['a', 'b', 'c'].map((name) => openTab(name, clock, { fetchToken: fetcherFor(name), retry }));
  await clock.advance(1000);
  expect(attempts).toHaveLength(1);
  down = true;
  await clock.advance(57 * MIN + 1000);
  // The first round: each tab got the lock in turn, heard of no newer token, and tried itself.
  expect(new Set(attempts.slice(1, 4))).toEqual(new Set(['a', 'b', 'c']));
  for (const tab of tabs) expect(errors(tab).map((e) => e.code), tab.name).toContain('FETCH_FAILED');
  down = false;
  const before = attempts.length;
  await clock.advance(10_000);
  expect(attempts.length).toBe(before + 1);
  expectOneTokenEverywhere(tabs);
  for (const tab of tabs) expect(tab.manager.state, tab.name).toBe('valid');
  await clock.advance(60_000);
  expect(attempts.length).toBe(before + 1);
});
