// What goes on the channel: fetched and manual tokens are broadcast once by the tab that got them, a token
// adopted from a peer is never sent on again, and `crossTab: { name }` keeps groups apart.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import type { Post } from '../helpers/tab-env.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, type Tab, errors, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

/** Three tabs sharing one fetched token, with the channel quiet afterwards. Channel ids follow tab order. */
async function threeTabs(latencyMs?: number) {
  const clock = new ManualClock();
  const env = useTabEnv(latencyMs === undefined ? {} : { clock, latencyMs });
  const server = tokenServer(clock);
  const tabs: Tab[] = [];
  for (const name of ['a', 'b', 'c']) {
    tabs.push(openTab(name, clock, { fetchToken: server.fetcherFor(name) }));
    await clock.advance(1000);
  }
  expect(server.fetches).toHaveLength(1);
  return { clock, env, server, tabs };
}

/**
 * Every token (or 'hi') channel `id` sent answered an ask another tab had sent: it never broadcast a token on its
 * own. From the start of the log its first post is its introduction (asks sent before it existed never reached it);
 * from `since`, the channel is taken as open.
 */
function expectOnlyAnswers(posts: Post[], id: number, since = 0): void {
  let asks = 0;
  let opened = since > 0;
  for (const [index, post] of posts.entries()) {
    if (index < since) continue;
    const t = (post.data as { t: string }).t;
    if (post.from !== id) {
      if (opened && t === 'ask') asks++;
    } else if (!opened) {
      expect(t, `channel ${id} introduces itself`).toBe('ask');
      opened = true;
    } else if (t !== 'ask') {
      expect(asks, `post ${index} from channel ${id} answers an ask`).toBeGreaterThan(0);
      asks--;
    }
  }
}

describe('broadcasting', () => {
  it('a manual updateToken() is broadcast once and adopted by every peer with source "peer"', async () => {
    const { clock, env, tabs } = await threeTabs();
    const [a, b, c] = tabs as [Tab, Tab, Tab];
    await clock.advance(10 * MIN);
    const manual = mintToken({ at: clock.now() });
    await a.manager.updateToken(manual);
    await clock.advance(10);
    for (const tab of tabs) expect(tab.manager.token, tab.name).toBe(manual);
    expect(updates(a).at(-1)).toMatchObject({ token: manual, source: 'manual' });
    expect(updates(b).at(-1)).toMatchObject({ token: manual, source: 'peer' });
    expect(updates(c).at(-1)).toMatchObject({ token: manual, source: 'peer' });
    // Sent by a (channel 1) exactly once; b and c did not pass it on.
    expect(env.tokenPosts(manual).map((post) => post.from)).toEqual([1]);
  });

  it.each([undefined, 30])('a peer-adopted token is not re-broadcast: peers only answer asks (latency %s)', async (latencyMs) => {
    const { clock, env, server, tabs } = await threeTabs(latencyMs);
    const first = server.fetches[0]!.token!;
    // a fetched it and sent it; b sent it only to answer c's ask on opening.
    expect(env.tokenPosts(first).map((post) => post.from)).toEqual([1, 1, 1, 2]);
    expectOnlyAnswers(env.posts, 2);
    expectOnlyAnswers(env.posts, 3);

    await clock.advance(10 * MIN);
    const refreshed = tabs[1]!.manager.refresh(); // b fetches the next token itself
    await clock.advance(PEER_WAIT_MS + 100);
    const second = await refreshed;
    expect(server.fetches.map((f) => f.tab)).toEqual(['a', 'b']);
    for (const tab of tabs) expect(tab.manager.token, tab.name).toBe(second);
    expect(updates(tabs[0]!).at(-1)!.source).toBe('peer');
    expect(env.tokenPosts(second).map((post) => post.from)).toEqual([2]);

    // The next lifetime: whoever fetched is the only one to send that token unasked.
    const since = env.posts.length;
    await clock.advance(60 * MIN);
    const third = server.fetches.at(-1)!;
    expect(server.fetches).toHaveLength(3);
    const fetcher = ['a', 'b', 'c'].indexOf(third.tab) + 1;
    expect(env.tokenPosts(third.token).filter((post) => post.from === fetcher).length).toBeGreaterThanOrEqual(1);
    for (const id of [1, 2, 3].filter((id) => id !== fetcher)) expectOnlyAnswers(env.posts, id, since);
  });

  it('only ever sends { t: "ask" }, { t: "hi" } and { t: "token", token, skew? } on "token-warden:<name>"', async () => {
    const { clock, env, tabs } = await threeTabs();
    await tabs[0]!.manager.updateToken(mintToken({ at: clock.now() + 5000 }));
    await clock.advance(2 * 60 * MIN);
    expect(env.posts.length).toBeGreaterThan(0);
    for (const post of env.posts) {
      expect(post.name).toBe('token-warden:default');
      const data = post.data as Record<string, unknown>;
      if (data.t === 'token') {
        expect(['t,token', 'skew,t,token']).toContain(Object.keys(data).sort().join());
        expect(typeof data.token).toBe('string');
        // The manual token below was issued 5 s in the local future: the clock is behind by that much.
        if ('skew' in data) expect(data.skew).toBe(5000);
      } else {
        expect(data).toEqual({ t: expect.stringMatching(/^(ask|hi)$/) });
      }
    }
  });
});

describe('crossTab: { name }', () => {
  it('separates groups: each fetches once per lifetime and never adopts another group’s token', async () => {
    const clock = new ManualClock();
    const env = useTabEnv({ clock, latencyMs: 2 });
    // Same identity everywhere, but group y's tokens live longer: a leaked y token would be "newer" for x.
    const servers = { x: tokenServer(clock, { ttl: 3600 }), y: tokenServer(clock, { ttl: 7200 }), default: tokenServer(clock, { ttl: 5400 }) };
    const groups: Record<string, Tab[]> = { x: [], y: [], default: [] };
    for (let i = 1; i <= 3; i++) {
      for (const group of ['x', 'y', 'default'] as const) {
        const name = `${group}${i}`;
        const crossTab = group === 'default' ? true : { name: group };
        groups[group]!.push(openTab(name, clock, { crossTab, fetchToken: servers[group].fetcherFor(name) }));
      }
      await clock.advance(1000);
    }
    for (const group of ['x', 'y', 'default'] as const) {
      expect(servers[group].fetches, group).toHaveLength(1);
      for (const tab of groups[group]!) expect(tab.manager.token, tab.name).toBe(servers[group].fetches[0]!.token);
    }
    // A manual token in x stays in x.
    const manual = mintToken({ at: clock.now(), ttl: 9000 });
    await groups.x![0]!.manager.updateToken(manual);
    await clock.advance(100);
    expect(groups.x!.map((tab) => tab.manager.token)).toEqual([manual, manual, manual]);
    expect(groups.y!.map((tab) => tab.manager.token)).not.toContain(manual);
    expect(groups.default!.map((tab) => tab.manager.token)).not.toContain(manual);

    // 240 minutes: each group refreshes on its own schedule, through its own endpoint and lock.
    await clock.advance(240 * MIN);
    expect(servers.y.fetches).toHaveLength(3); // 120 min tokens: at 117 and 234 min
    expect(servers.default.fetches).toHaveLength(3); // 90 min tokens: at 87 and 174 min
    expect(servers.x.fetches).toHaveLength(3); // the 150 min manual token: at 147, then 204 min
    for (const group of ['x', 'y', 'default'] as const) {
      const latest = servers[group].fetches.at(-1)!.token;
      for (const tab of groups[group]!) expect(tab.manager.token, tab.name).toBe(latest);
    }
    expect(new Set(env.posts.map((post) => post.name))).toEqual(
      new Set(['token-warden:x', 'token-warden:y', 'token-warden:default']),
    );
    for (const tab of Object.values(groups).flat()) expect(errors(tab), tab.name).toEqual([]);
  });
});
