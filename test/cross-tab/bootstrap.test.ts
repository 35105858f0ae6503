// "A new tab with no token asks peers and waits at most 200 ms for an answer before fetching."
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, errors, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

describe('a new tab', () => {
  it.each([undefined, 20])('without a token takes a peer’s token without fetching (latency %s)', async (latencyMs) => {
    const clock = new ManualClock();
    useTabEnv(latencyMs === undefined ? {} : { clock, latencyMs });
    const server = tokenServer(clock);
    const first = openTab('first', clock, { fetchToken: server.fetcherFor('first') });
    await clock.advance(5 * MIN);
    const token = first.manager.token!;

    const late = openTab('late', clock, { fetchToken: server.fetcherFor('late') });
    expect(late.manager.state).toBe('idle');
    const got = late.manager.getToken(); // waits for the peers' answer, not for a fetch
    expect(late.manager.state).toBe('idle'); // no refresh starts while the peers may still answer
    await clock.advance(2 * (latencyMs ?? 0));
    expect(late.manager.token).toBe(token);
    await expect(got).resolves.toBe(token);
    expect(updates(late)).toMatchObject([{ token, source: 'peer' }]);
    expect(late.manager.state).toBe('valid');
    expect(server.fetches.map((f) => f.tab)).toEqual(['first']);
    expect(errors(late)).toEqual([]);

    // It then takes part in the next lifetime like any other tab.
    await clock.advance(60 * MIN);
    expect(server.fetches).toHaveLength(2);
    expect(late.manager.token).toBe(first.manager.token);
  });

  it('without a token fetches 200 ms after asking when no tab exists', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 1 });
    const server = tokenServer(clock);
    const start = clock.now();
    const lone = openTab('lone', clock, { fetchToken: server.fetcherFor('lone') });
    await clock.advance(PEER_WAIT_MS - 1);
    expect(server.fetches).toEqual([]);
    await clock.advance(1);
    expect(server.fetches).toMatchObject([{ tab: 'lone', reason: 'initial', at: start + PEER_WAIT_MS }]);
    await clock.advance(100);
    expect(updates(lone)).toMatchObject([{ source: 'fetch' }]);
  });

  it('without a token fetches after 200 ms when the peers that answer have no usable token either', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 3 });
    const server = tokenServer(clock);
    // One peer whose token expired (and cannot fetch), one that is itself still waiting for a token.
    const stale = openTab('stale', clock, { token: mintToken({ at: clock.now() - 2 * 60 * MIN, ttl: 3600 }) });
    const waiting = openTab('waiting', clock, { fetchToken: server.fetcherFor('waiting') });
    await clock.advance(50);
    const start = clock.now();
    const fresh = openTab('fresh', clock, { fetchToken: server.fetcherFor('fresh') });
    await clock.advance(PEER_WAIT_MS + 20);
    // 'waiting' asked 50 ms earlier and fetched first; 'fresh' waited its 200 ms, then found the lock taken and
    // the token on its way, so it made no fetch of its own.
    expect(server.fetches.map((f) => f.tab)).toEqual(['waiting']);
    expect(server.fetches[0]!.at).toBe(start - 50 + PEER_WAIT_MS);
    const token = server.fetches[0]!.token;
    for (const tab of [stale, waiting, fresh]) expect(tab.manager.token, tab.name).toBe(token);
    expect(updates(stale)).toMatchObject([{ source: 'peer' }]);
    expect(updates(fresh)).toMatchObject([{ source: 'peer' }]);
  });

  it('alone among token-less peers it fetches at 200 ms, not later', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 3 });
    const server = tokenServer(clock);
    // A peer without fetcher and with an expired token: it answers 'hi' and never fetches.
    const mute = openTab('mute', clock, { token: mintToken({ at: clock.now() - 2 * 60 * MIN, ttl: 3600 }) });
    await clock.advance(10);
    const start = clock.now();
    openTab('new', clock, { fetchToken: server.fetcherFor('new') });
    await clock.advance(PEER_WAIT_MS - 1);
    expect(server.fetches).toEqual([]);
    await clock.advance(1);
    expect(server.fetches).toMatchObject([{ tab: 'new', at: start + PEER_WAIT_MS }]);
    await clock.advance(50);
    expect(mute.manager.token).toBe(server.fetches[0]!.token);
  });

  it('waits for a peer that is mid-fetch instead of fetching in parallel', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock, { delayMs: 2000 });
    const a = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
    await clock.advance(PEER_WAIT_MS + 500); // a's fetch is in flight
    expect(server.fetches.map((f) => f.tab)).toEqual(['a']);
    const b = openTab('b', clock, { fetchToken: server.fetcherFor('b') });
    const got = b.manager.getToken();
    await clock.advance(3000);
    expect(server.fetches.map((f) => f.tab)).toEqual(['a']);
    await expect(got).resolves.toBe(a.manager.token);
    expect(updates(b)).toMatchObject([{ source: 'peer' }]);
  });

  it('a tab that starts with an older token adopts a peer’s newer one on opening', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock);
    const rendered = mintToken({ at: clock.now() });
    const a = openTab('a', clock, { token: rendered, fetchToken: server.fetcherFor('a') });
    await clock.advance(58 * MIN); // a refreshed
    expect(server.fetches).toHaveLength(1);
    // A second tab opens with the token rendered into the page an hour ago: still valid, but older.
    const b = openTab('b', clock, { token: rendered, fetchToken: server.fetcherFor('b') });
    await clock.advance(10);
    expect(b.manager.token).toBe(a.manager.token);
    expect(updates(b)).toMatchObject([{ source: 'peer' }]);
    await clock.advance(30 * MIN);
    expect(server.fetches).toHaveLength(1);
    expect(errors(b)).toEqual([]);
  });

  it('a tab that starts with an older token, far from its expiry, adopts a peer’s newer one at once', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock);
    const rendered = mintToken({ at: clock.now() });
    const a = openTab('a', clock, { token: rendered, fetchToken: server.fetcherFor('a') });
    await clock.advance(10 * MIN);
    await a.manager.updateToken(mintToken({ at: clock.now() })); // a's token now lives 10 minutes longer
    await clock.advance(10 * MIN);
    const b = openTab('b', clock, { token: rendered, fetchToken: server.fetcherFor('b') });
    await clock.advance(10);
    expect(b.manager.token).toBe(a.manager.token);
    expect(updates(b)).toMatchObject([{ source: 'peer' }]);
    // Had b kept the rendered token, it would have fetched at minute 57, ten minutes before a.
    await clock.advance(50 * MIN);
    expect(server.fetches).toHaveLength(1);
    expect(server.fetches[0]!.reason).toBe('aboutToExpire');
    expect(b.manager.token).toBe(a.manager.token);
    expect(env.handlerErrors).toEqual([]);
  });

  it('a tab that starts with an expired token takes a peer’s valid one instead of fetching', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 5 });
    const server = tokenServer(clock);
    const a = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
    await clock.advance(2 * 60 * MIN); // two lifetimes: a's first token is long expired
    expect(server.fetches).toHaveLength(3);
    const expired = server.fetches[0]!.token!;
    const b = openTab('b', clock, { token: expired, fetchToken: server.fetcherFor('b') });
    await clock.advance(PEER_WAIT_MS);
    expect(server.fetches).toHaveLength(3);
    expect(b.manager.token).toBe(a.manager.token);
    expect(b.events.map((e) => e.code ?? e.type)).toEqual(['TOKEN_EXPIRED', 'tokenAboutToExpire', 'tokenExpired', 'tokenUpdated']);
    expect(updates(b)).toMatchObject([{ source: 'peer' }]);
  });
});

describe('a refresh with the lock free', () => {
  it('in a tab that never heard of a peer fetches at once', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock);
    const lone = openTab('lone', clock, { token: mintToken({ at: clock.now() }), fetchToken: server.fetcherFor('lone') });
    await clock.advance(10 * MIN);
    const at = clock.now();
    const refreshed = lone.manager.refresh();
    await clock.advance(0);
    expect(server.fetches).toMatchObject([{ tab: 'lone', reason: 'manual', at }]);
    await clock.advance(20);
    await expect(refreshed).resolves.toBe(server.fetches[0]!.token);
  });

  it('with peers fetches at once too, then keeps the lock 200 ms so its token reaches the others first', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock);
    const tabs = ['a', 'b', 'c'].map((name) => openTab(name, clock, { fetchToken: server.fetcherFor(name) }));
    await clock.advance(1000);
    await clock.advance(10 * MIN);
    const at = clock.now();
    const posts = env.posts.length;
    const refreshed = tabs[2]!.manager.refresh();
    await clock.advance(0);
    expect(server.fetches.at(-1)).toMatchObject({ tab: 'c', reason: 'manual', at });
    await clock.advance(10); // the fetch takes 10 ms
    const token = await refreshed;
    expect(env.posts.slice(posts).map((post) => [post.from, post.data])).toEqual([[3, { t: 'token', token }]]);
    await clock.advance(PEER_WAIT_MS - 1);
    expect(env.lockState().held).toEqual(['token-warden:default']);
    await clock.advance(1);
    expect(env.lockState()).toEqual({ held: [], waiting: {} });
    for (const tab of tabs) expect(tab.manager.token, tab.name).toBe(token);
  });
});
