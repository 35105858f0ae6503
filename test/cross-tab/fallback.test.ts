// "Without those APIs it silently works per tab", and "tokens are never written to localStorage/sessionStorage/
// IndexedDB": the only way a token leaves a tab is the BroadcastChannel.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, type Tab, errors, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

// Some tests stub globals of their own (navigator, indexedDB, caches).
afterEach(() => {
  vi.unstubAllGlobals();
});

describe.each([
  { missing: 'BroadcastChannel', env: { broadcastChannel: false } },
  { missing: 'navigator.locks', env: { locks: false } },
  { missing: 'both', env: { broadcastChannel: false, locks: false } },
])('without $missing', ({ env: apis }) => {
  it('each tab works on its own, silently: fetches at once, refreshes, never throws', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, ...apis });
    const server = tokenServer(clock);
    const start = clock.now();
    const tabs: Tab[] = [];
    expect(() => {
      tabs.push(openTab('a', clock, { fetchToken: server.fetcherFor('a') }));
      tabs.push(openTab('b', clock, { fetchToken: server.fetcherFor('b'), crossTab: { name: 'x' } }));
    }).not.toThrow();
    // No 200 ms wait for peers that cannot answer.
    expect(server.fetches.map((f) => [f.tab, f.reason, f.at])).toEqual([
      ['a', 'initial', start],
      ['b', 'initial', start],
    ]);
    await clock.advance(100);
    for (const tab of tabs) expect(updates(tab).map((e) => e.source), tab.name).toEqual(['fetch']);

    const manual = mintToken({ at: clock.now() + 1000 });
    await tabs[0]!.manager.updateToken(manual);
    await clock.advance(100);
    expect(tabs[1]!.manager.token).not.toBe(manual);

    await clock.advance(60 * MIN);
    expect(server.fetches.map((f) => f.tab).sort()).toEqual(['a', 'a', 'b', 'b']);
    for (const tab of tabs) expect(errors(tab), tab.name).toEqual([]);
    expect(env.posts).toEqual([]);
    expect(env.lockState()).toEqual({ held: [], waiting: {} });
  });
});

it('without a navigator at all, it works per tab', async () => {
  const clock = new ManualClock();
  useTabEnv({ clock });
  vi.stubGlobal('navigator', undefined);
  const server = tokenServer(clock);
  const tab = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
  expect(server.fetches).toHaveLength(1);
  await clock.advance(100);
  expect(tab.manager.state).toBe('valid');
});

it('a BroadcastChannel that throws on postMessage (closed, page unloading) is not an error', async () => {
  const clock = new ManualClock();
  const env = useTabEnv({ clock });
  const server = tokenServer(clock);
  const tab = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
  const channel = env.channels[0]!;
  vi.spyOn(channel, 'postMessage').mockImplementation(() => {
    throw new DOMException('closed', 'InvalidStateError');
  });
  await clock.advance(PEER_WAIT_MS + 100);
  await expect(tab.manager.updateToken(mintToken({ at: clock.now() + 1000 }))).resolves.toBeUndefined();
  expect(errors(tab)).toEqual([]);
});

describe('storage', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    localStorage.clear();
    sessionStorage.clear();
  });

  it('no token is ever written to localStorage, sessionStorage, IndexedDB or cookies', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, latencyMs: 2 });
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const indexedDB = { open: vi.fn(), deleteDatabase: vi.fn(), databases: vi.fn(async () => []) };
    vi.stubGlobal('indexedDB', indexedDB);
    const caches = { open: vi.fn(), keys: vi.fn(async () => []) };
    vi.stubGlobal('caches', caches);
    const server = tokenServer(clock);

    // Everything the cross-tab link does: bootstrap, peers, lifetimes, manual tokens, a disposed tab.
    const tabs = ['a', 'b', 'c'].map((name) => openTab(name, clock, { fetchToken: server.fetcherFor(name) }));
    await clock.advance(1000);
    openTab('late', clock, { fetchToken: server.fetcherFor('late') });
    await clock.advance(1000);
    await tabs[1]!.manager.updateToken(mintToken({ at: clock.now() }));
    await clock.advance(2 * 60 * MIN);
    tabs[0]!.manager.dispose();
    await clock.advance(60 * MIN);
    expect(server.fetches.length).toBeGreaterThanOrEqual(3);
    expect(env.tokenPosts().length).toBeGreaterThan(0);

    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(indexedDB.open).not.toHaveBeenCalled();
    expect(caches.open).not.toHaveBeenCalled();
    expect(document.cookie).toBe('');
    // The only other place a token goes: the channel, to the same origin's tabs.
    expect(new Set(env.posts.map((post) => post.name))).toEqual(new Set(['token-warden:default']));
  });
});
