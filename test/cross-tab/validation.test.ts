// "Messages are validated like any token": whatever arrives on the channel, a tab only adopts a token that
// updateToken() would accept, keeps its own on an equal `exp`, and never throws or reports an error.
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.mjs';
import type { TabEnv } from '../helpers/tab-env.mjs';
import { MIN } from '../helpers/time.mjs';
import { mintToken, rawToken } from '../helpers/tokens.mjs';
import { PEER_WAIT_MS, type Tab, openTab, tokenServer, updates, useTabEnv } from './tabs.js';

const START = new ManualClock().now();
let clock: ManualClock;
let env: TabEnv;
/** A stranger on the channel: another tab, an extension, a buggy older version of the app. */
let stranger: BroadcastChannel;

beforeEach(() => {
  clock = new ManualClock();
  env = useTabEnv();
  stranger = new BroadcastChannel('token-warden:default');
});

const now = () => clock.now();
const send = async (data: unknown) => {
  stranger.postMessage(data);
  await clock.advance(0);
};

/** Messages that are not a usable token at all (built when tests are collected, so on the clock's start time). */
function junk(): Array<[string, unknown]> {
  const now = () => START;
  return [
    ['null', null],
    ['a number', 42],
    ['a string', 'hello'],
    ['an array', [{ t: 'token', token: mintToken({ at: now() + 5000 }) }]],
    ['no type', { token: mintToken({ at: now() + 5000 }) }],
    ['an unknown type', { t: 'tokens', token: mintToken({ at: now() + 5000 }) }],
    ['a token message without token', { t: 'token' }],
    ['a non-string token', { t: 'token', token: 12345 }],
    ['an object token', { t: 'token', token: { exp: 1 } }],
    ['an empty token', { t: 'token', token: '' }],
    ['two parts', { t: 'token', token: 'abc.def' }],
    ['bad base64url', { t: 'token', token: '!!!.@@@.###' }],
    ['non-JSON payload', { t: 'token', token: `${btoa('{}')}.${btoa('not json')}.sig` }],
    ['no exp', { t: 'token', token: rawToken({ grants: { identity: 'alice' } }) }],
    ['exp not a number', { t: 'token', token: rawToken({ exp: 'tomorrow', grants: { identity: 'alice' } }) }],
    ['a payload that is an array', { t: 'token', token: rawToken([1, 2]) }],
  ];
}

describe('a tab holding a token ignores', () => {
  let tab: Tab;
  let held: string;
  beforeEach(async () => {
    held = mintToken({ at: now(), ttl: 3600 });
    tab = openTab('a', clock, { token: held, fetchToken: tokenServer(clock).fetcherFor('a') });
    await clock.advance(10 * MIN);
  });

  const expectUnchanged = () => {
    expect(tab.manager.token).toBe(held);
    expect(updates(tab)).toEqual([]);
    expect(tab.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(env.handlerErrors).toEqual([]);
  };

  it.each(junk())('%s', async (_label, data) => {
    await send(data);
    expectUnchanged();
  });

  it('an expired token', async () => {
    await send({ t: 'token', token: mintToken({ at: now() - 2 * 60 * MIN, ttl: 3600 }) });
    await send({ t: 'token', token: mintToken({ at: now() - 60 * MIN, ttl: 3600 }) }); // expires right now
    expectUnchanged();
  });

  it('another identity’s token, even a newer one', async () => {
    await send({ t: 'token', token: mintToken({ identity: 'mallory', at: now(), ttl: 7200 }) });
    await send({ t: 'token', token: mintToken({ identity: 'Alice', at: now(), ttl: 7200 }) });
    expectUnchanged();
    expect(tab.manager.identity).toBe('alice');
  });

  it('another identity’s token even with allowIdentityChange (that option is for the app’s own tokens)', async () => {
    const open = openTab('open', clock, { token: held, allowIdentityChange: true });
    await send({ t: 'token', token: mintToken({ identity: 'bob', at: now(), ttl: 7200 }) });
    expect(open.manager.token).toBe(held);
    expect(updates(open)).toEqual([]);
    // Its own app may still switch it, and then it tells the others (which keep alice's token).
    const bob = mintToken({ identity: 'bob', at: now() });
    await open.manager.updateToken(bob);
    await clock.advance(0);
    expect(open.manager.identity).toBe('bob');
    expect(env.tokenPosts(bob)).toHaveLength(1);
    expectUnchanged();
  });

  it('an older token (earlier exp)', async () => {
    await send({ t: 'token', token: mintToken({ at: now() - 20 * MIN, ttl: 3600 }) });
    await send({ t: 'token', token: mintToken({ at: now(), ttl: 1800 }) });
    expectUnchanged();
  });

  it('another token with the same exp: the current one stays', async () => {
    const twin = mintToken({ at: now() - 10 * MIN, ttl: 3600, grants: ['video'] });
    expect(twin).not.toBe(held);
    await send({ t: 'token', token: twin });
    await send({ t: 'token', token: held });
    expectUnchanged();
  });

  it('all of them in a burst, then adopts the next good one', async () => {
    for (const [, data] of junk()) stranger.postMessage(data);
    stranger.postMessage({ t: 'token', token: mintToken({ at: now() - 2 * 60 * MIN }) });
    stranger.postMessage({ t: 'token', token: mintToken({ identity: 'mallory', at: now() }) });
    await clock.advance(0);
    expectUnchanged();
    const newer = mintToken({ at: now() });
    await send({ t: 'token', token: newer });
    expect(tab.manager.token).toBe(newer);
    expect(updates(tab).map((e) => e.source)).toEqual(['peer']);
    expect(env.handlerErrors).toEqual([]);
  });

  it('and still answers an ask with its own token', async () => {
    const answers: unknown[] = [];
    stranger.onmessage = (event) => answers.push(event.data);
    await send({ t: 'ask' });
    expect(answers).toEqual([{ t: 'token', token: held }]);
  });
});

describe('a tab without a token', () => {
  it('ignores junk, expired tokens and hi while it waits, then fetches after 200 ms', async () => {
    const server = tokenServer(clock);
    const tab = openTab('new', clock, { fetchToken: server.fetcherFor('new') });
    for (const [, data] of junk()) stranger.postMessage(data);
    stranger.postMessage({ t: 'token', token: mintToken({ at: now() - 2 * 60 * MIN }) });
    stranger.postMessage({ t: 'hi' });
    await clock.advance(PEER_WAIT_MS - 1);
    expect(tab.manager.token).toBeUndefined();
    expect(server.fetches).toEqual([]);
    await clock.advance(1);
    expect(server.fetches.map((f) => f.reason)).toEqual(['initial']);
    await clock.advance(100);
    expect(tab.manager.token).toBe(server.fetches[0]!.token);
    expect(tab.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(env.handlerErrors).toEqual([]);
  });

  it('answers an ask with hi, not with an expired token', async () => {
    const answers: unknown[] = [];
    stranger.onmessage = (event) => answers.push(event.data);
    const expired = mintToken({ at: now() - 2 * 60 * MIN, ttl: 3600 });
    const tab = openTab('old', clock, { token: expired });
    tab.manager.on('error', () => {});
    await clock.advance(0);
    answers.length = 0; // its introduction
    await send({ t: 'ask' });
    expect(answers).toEqual([{ t: 'hi' }]);
  });
});
