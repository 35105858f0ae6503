// A confused or hostile page of the same origin on the channel: it cannot make a tab adopt an expired token
// through an absurd skew, cannot hand a tab another user's token when the app says whose it expects, and cannot
// make tabs flood the channel with replies.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ANSWER_INTERVAL_MS } from '../../src/cross-tab.js';
import { ManualClock } from '../helpers/clock.mjs';
import type { TabEnv } from '../helpers/tab-env.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

let clock: ManualClock;
let env: TabEnv;
let stranger: BroadcastChannel;

beforeEach(() => {
  clock = new ManualClock();
  env = useTabEnv();
  stranger = new BroadcastChannel('token-warden:default');
});

const send = async (data: unknown) => {
  stranger.postMessage(data);
  await clock.advance(0);
};

describe("a peer's skew", () => {
  it('cannot make a token that this tab judges expired look valid', async () => {
    // The tab's own token expired 30 minutes ago: any newer valid token would be welcome.
    const held = mintToken({ at: clock.now() - 90 * MIN, ttl: 3600 });
    const tab = openTab('a', clock, { token: held });
    // Expired 5 minutes ago by this tab's clock; valid by a server 10 minutes behind, as the peer claims.
    const expired = mintToken({ at: clock.now() - 65 * MIN, ttl: 3600 });
    await send({ t: 'token', token: expired, skew: -10 * MIN });
    await send({ t: 'token', token: expired, skew: -1e12 });
    expect(tab.manager.token).toBe(held);
    expect(updates(tab)).toEqual([]);
  });

  it('an absurd skew with a valid token is not learned: the token still expires on time', async () => {
    const tab = openTab('a', clock, { token: mintToken({ at: clock.now() - 50 * MIN, ttl: 3600 }) });
    const newer = mintToken({ at: clock.now(), ttl: 3600 });
    await send({ t: 'token', token: newer, skew: -1e12 });
    expect(tab.manager.token).toBe(newer);
    expect(tab.manager.isExpired).toBe(false);
    await clock.advance(61 * MIN);
    expect(tab.manager.isExpired).toBe(true);
  });
});

describe('the identity option', () => {
  it('a new tab without a token ignores another identity offered by a peer, and fetches its own', async () => {
    const server = tokenServer(clock, { identity: 'bob' });
    const tab = openTab('bob', clock, { fetchToken: server.fetcherFor('bob'), identity: 'bob' });
    await send({ t: 'token', token: mintToken({ identity: 'alice', at: clock.now() }) });
    await clock.advance(PEER_WAIT_MS + 20);
    expect(tab.manager.identity).toBe('bob');
    expect(updates(tab).map((e) => e.source)).toEqual(['fetch']);
    expect(server.fetches).toHaveLength(1);
  });

  it('without it, a new tab takes whatever identity a peer offers (a tab cannot know better)', async () => {
    const server = tokenServer(clock, { identity: 'bob' });
    const tab = openTab('bob', clock, { fetchToken: server.fetcherFor('bob') });
    await send({ t: 'token', token: mintToken({ identity: 'alice', at: clock.now() }) });
    expect(tab.manager.identity).toBe('alice');
    expect(server.fetches).toHaveLength(0);
  });
});

describe('a flood of asks', () => {
  it('10,000 asks cost a handful of replies, and a tab asking during the flood still hears the token in time', async () => {
    const held = mintToken({ at: clock.now() });
    openTab('a', clock, { token: held });
    await clock.advance(0);
    const before = env.tokenPosts(held).length;
    for (let i = 0; i < 10_000; i++) stranger.postMessage({ t: 'ask' });
    await clock.advance(0);
    await clock.advance(ANSWER_INTERVAL_MS);
    const replies = env.tokenPosts(held).length - before;
    expect(replies).toBeGreaterThanOrEqual(1);
    expect(replies).toBeLessThanOrEqual(2);
    // A real new tab during the flood: answered within its 200 ms wait, so it does not fetch.
    for (let i = 0; i < 1000; i++) stranger.postMessage({ t: 'ask' });
    const fetchToken = vi.fn(async () => mintToken({ at: clock.now() }));
    const fresh = openTab('b', clock, { fetchToken });
    await clock.advance(PEER_WAIT_MS + 10);
    expect(fresh.manager.token).toBe(held);
    expect(fetchToken).not.toHaveBeenCalled();
    await clock.advance(10 * MIN);
  });
});
