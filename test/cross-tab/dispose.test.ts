// A tab that goes away while it holds the lock (closed, navigated, disposed) must not leave the others stuck:
// its fetch is aborted, the lock is released, and the next tab in line fetches the one token everybody adopts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import { MIN } from '../helpers/time.mjs';
import { PEER_WAIT_MS, type Tab, errors, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

async function bootstrapped(count: number, delayMs: number, latencyMs = 2) {
  const clock = new ManualClock();
  const env = useTabEnv({ clock, latencyMs });
  const server = tokenServer(clock, { delayMs });
  const tabs: Tab[] = [];
  for (let i = 1; i <= count; i++) {
    tabs.push(openTab(`t${i}`, clock, { fetchToken: server.fetcherFor(`t${i}`) }));
    await clock.advance(delayMs + PEER_WAIT_MS + 100);
  }
  expect(server.fetches).toHaveLength(1);
  /** Moves to `ms` after the refresh moment of the tabs' token (3 minutes before it expires). */
  const pastRefreshMoment = (ms: number) => clock.advance(tabs[0]!.manager.expiresAt!.getTime() - 3 * MIN - clock.now() + ms);
  return { clock, env, server, tabs, pastRefreshMoment };
}

describe('a tab disposed mid-fetch', () => {
  it.each([3, 5])('releases the lock; one of the other %i-1 tabs fetches and all adopt that token', async (count) => {
    const { clock, env, server, tabs, pastRefreshMoment } = await bootstrapped(count, 5000);
    // The refresh moment: one tab holds the lock and fetches (slowly), the others queue behind it.
    await pastRefreshMoment(1000);
    expect(server.fetches).toHaveLength(2);
    const first = server.fetches[1]!;
    const holder = tabs.find((tab) => tab.name === first.tab)!;
    expect(env.lockState()).toEqual({ held: ['token-warden:default'], waiting: { 'token-warden:default': count - 1 } });

    const disposedAt = clock.now();
    holder.manager.dispose();
    expect(first.signal.aborted).toBe(true);
    // The next tab in line gets the lock and, with no newer token around, fetches at once.
    await clock.advance(0);
    expect(env.lockState()).toEqual({ held: ['token-warden:default'], waiting: { 'token-warden:default': count - 2 } });
    expect(server.fetches).toHaveLength(3);
    const second = server.fetches[2]!;
    expect(second.at).toBe(disposedAt);
    await clock.advance(5000 + PEER_WAIT_MS + 100);
    expect(second.tab).not.toBe(holder.name);
    expect(second.signal.aborted).toBe(false);
    const remaining = tabs.filter((tab) => tab !== holder);
    for (const tab of remaining) {
      expect(tab.manager.token, tab.name).toBe(second.token);
      expect(updates(tab).at(-1)!.source, tab.name).toBe(tab.name === second.tab ? 'fetch' : 'peer');
      expect(errors(tab), tab.name).toEqual([]);
      expect(tab.manager.state, tab.name).toBe('valid');
    }
    expect(env.lockState()).toEqual({ held: [], waiting: {} });

    // And the group goes on with one fetch per lifetime.
    await clock.advance(60 * MIN);
    expect(server.fetches).toHaveLength(4);
    for (const tab of remaining) expect(tab.manager.token, tab.name).toBe(server.fetches[3]!.token);
  });

  it('leaves the queue when disposed while waiting for the lock', async () => {
    const { clock, env, server, tabs, pastRefreshMoment } = await bootstrapped(3, 5000);
    await pastRefreshMoment(1000);
    const holder = tabs.find((tab) => tab.name === server.fetches[1]!.tab)!;
    const waiter = tabs.find((tab) => tab !== holder)!;
    waiter.manager.dispose();
    await clock.advance(0);
    expect(env.lockState()).toEqual({ held: ['token-warden:default'], waiting: { 'token-warden:default': 1 } });
    await clock.advance(6000);
    expect(server.fetches).toHaveLength(2);
    for (const tab of tabs.filter((tab) => tab !== waiter)) expect(tab.manager.token).toBe(server.fetches[1]!.token);
    expect(env.lockState()).toEqual({ held: [], waiting: {} });
  });

  it('a tab disposed while waiting for its peers’ answer never fetches', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 2 });
    const server = tokenServer(clock);
    const tab = openTab('gone', clock, { fetchToken: server.fetcherFor('gone') });
    const got = tab.manager.getToken();
    await clock.advance(50);
    tab.manager.dispose();
    await expect(got).rejects.toMatchObject({ code: 'DISPOSED' });
    await clock.advance(10 * MIN);
    expect(server.fetches).toEqual([]);
  });

  it('a disposed tab neither answers nor adopts', async () => {
    const { clock, env, tabs } = await bootstrapped(2, 10);
    const [a, b] = tabs as [Tab, Tab];
    const token = a.manager.token;
    a.manager.dispose();
    await clock.advance(1000); // a new second: the next token is a different string
    const posts = env.posts.length;
    new BroadcastChannel('token-warden:default').postMessage({ t: 'ask' }); // only b answers
    const refreshed = b.manager.refresh();
    await clock.advance(1000);
    await refreshed;
    // The stranger's ask, b's answer, b's new token: nothing from a.
    expect(env.posts.slice(posts).map((post) => post.from)).toEqual([3, 2, 2]);
    expect(b.manager.token).not.toBe(token);
    expect(a.manager.token).toBe(token);
    expect(a.manager.state).toBe('disposed');
    expect(env.handlerErrors).toEqual([]);
  });
});
