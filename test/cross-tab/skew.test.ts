// Tabs share the machine's clock, so a skew one tab measured (from its fetcher's `serverTime`) holds for all: it
// travels with the token, and a tab that only ever adopts tokens from peers judges their expiry correctly.
import { describe, expect, it } from 'vitest';
import type { AccessManagerOptions } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, errors, openTab, updates, useTabEnv } from './tabs.js';

/** The machine's clock runs `aheadMs` ahead of the server's; the endpoint reports its own time. */
function skewedServer(clock: ManualClock, aheadMs: number) {
  const fetches: string[] = [];
  const fetcherFor =
    (tab: string): AccessManagerOptions['fetchToken'] =>
    async () => {
      fetches.push(tab);
      const serverTime = clock.now() - aheadMs;
      return { token: mintToken({ at: serverTime, ttl: 3600 }), serverTime };
    };
  return { fetches, fetcherFor };
}

describe('clock skew across tabs', () => {
  it('a tab that adopts a peer’s token takes the peer’s skew with it: no early refresh, one fetch per lifetime', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, latencyMs: 2 });
    const server = skewedServer(clock, 60_000);
    const a = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
    await clock.advance(PEER_WAIT_MS + 10);
    expect(server.fetches).toEqual(['a']);
    const b = openTab('b', clock, { fetchToken: server.fetcherFor('b') });
    const c = openTab('c', clock, { fetchToken: server.fetcherFor('c') });
    await clock.advance(10);
    expect(env.tokenPosts(a.manager.token).every((post) => (post.data as { skew?: number }).skew === -60_000)).toBe(true);
    for (const tab of [b, c]) {
      expect(tab.manager.token, tab.name).toBe(a.manager.token);
      expect(updates(tab)).toMatchObject([{ source: 'peer' }]);
    }

    // Seen from a clock 60 s fast, the token would have 60 s less to live: b and c would refresh a minute early.
    const aboutAt = a.manager.expiresAt!.getTime() + 60_000 - 3 * MIN;
    await clock.advance(aboutAt - clock.now() - 1);
    for (const tab of [a, b, c]) {
      expect(tab.events.filter((e) => e.type === 'tokenAboutToExpire'), tab.name).toEqual([]);
      expect(tab.manager.state, tab.name).toBe('valid');
    }
    expect(server.fetches).toHaveLength(1);
    await clock.advance(PEER_WAIT_MS + 100);
    expect(server.fetches).toHaveLength(2);
    for (const tab of [a, b, c]) {
      expect(tab.events.filter((e) => e.type === 'tokenAboutToExpire').map((e) => e.msLeft), tab.name).toEqual([3 * MIN]);
      expect(tab.manager.token, tab.name).toBe(a.manager.token);
      expect(errors(tab), tab.name).toEqual([]);
    }
  });

  it('a fixed clockSkew option is kept whatever the peers measured', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock, latencyMs: 2 });
    const server = skewedServer(clock, 60_000);
    const a = openTab('a', clock, { fetchToken: server.fetcherFor('a') });
    await clock.advance(PEER_WAIT_MS + 10);
    const b = openTab('b', clock, { fetchToken: server.fetcherFor('b'), clockSkew: 0 });
    await clock.advance(10);
    expect(b.manager.token).toBe(a.manager.token);
    // b believes its own clock: the token has a minute less to live for it, so b refreshes first.
    await clock.advance(a.manager.expiresAt!.getTime() - 3 * MIN - clock.now() + PEER_WAIT_MS + 10);
    expect(server.fetches).toEqual(['a', 'b']);
  });

  it.each([['a string', '-60000'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['null', null]])(
    'a skew that is %s is ignored; the token is still judged on the tab’s own clock',
    async (_label, skew) => {
      const clock = new ManualClock();
      const env = useTabEnv({ clock });
      const held = mintToken({ at: clock.now() - 10 * MIN });
      const tab = openTab('a', clock, { token: held });
      const stranger = new BroadcastChannel('token-warden:default');
      const newer = mintToken({ at: clock.now() });
      stranger.postMessage({ t: 'token', token: newer, skew });
      await clock.advance(0);
      expect(tab.manager.token).toBe(newer);
      expect(tab.manager.state).toBe('valid');
      expect(env.handlerErrors).toEqual([]);
      // Its own skew is still 0: it answers without one.
      const answers: unknown[] = [];
      stranger.onmessage = (event) => answers.push(event.data);
      stranger.postMessage({ t: 'ask' });
      await clock.advance(0);
      expect(answers).toEqual([{ t: 'token', token: newer }]);
    },
  );

  it('a peer’s skew that would make its token expired gets the token ignored', async () => {
    const clock = new ManualClock();
    useTabEnv({ clock });
    const held = mintToken({ at: clock.now() - 10 * MIN });
    const tab = openTab('a', clock, { token: held });
    new BroadcastChannel('token-warden:default').postMessage({ t: 'token', token: mintToken({ at: clock.now() }), skew: 2 * 60 * MIN });
    await clock.advance(0);
    expect(tab.manager.token).toBe(held);
    expect(updates(tab)).toEqual([]);
  });
});
