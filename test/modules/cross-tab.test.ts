// The cross-tab transport alone (openCrossTab) on the stand-in BroadcastChannel and Web Locks of tab-env.mjs and
// the manual clock: what it posts, what it hands on, how often it answers, when ask() settles, and the lock it
// keeps after a fetch. (test/cross-tab/ tests the same link through whole managers.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ANSWER_INTERVAL_MS, openCrossTab, type CrossTabLink } from '../../src/cross-tab.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { installTabEnv, type TabEnv, type TestBroadcastChannel } from '../helpers/tab-env.mjs';

let env: TabEnv;
let clock: ManualClock;
let links: CrossTabLink[];

beforeEach(() => {
  env = installTabEnv();
  clock = new ManualClock(1_000_000);
  links = [];
});
afterEach(() => {
  for (const link of links) link.close();
  env.uninstall();
});

interface Opened {
  link: CrossTabLink;
  received: Array<[string, number | undefined]>;
  /** Another tab's end of the channel. */
  peer: TestBroadcastChannel;
  /** What reached `peer`. */
  heard: unknown[];
  state: { token: string | undefined; skew: number };
}

function open(state: Opened['state'] = { token: undefined, skew: 0 }): Opened {
  const received: Opened['received'] = [];
  const link = openCrossTab('x', clock, (token, skew) => received.push([token, skew]), () => state.token, () => state.skew)!;
  links.push(link);
  const peer = new BroadcastChannel('token-warden:x') as unknown as TestBroadcastChannel;
  const heard: unknown[] = [];
  peer.onmessage = (event) => heard.push(event.data);
  return { link, received, peer, heard, state };
}

describe('openCrossTab', () => {
  it.each([
    ['BroadcastChannel', { broadcastChannel: false }],
    ['navigator.locks', { locks: false }],
  ])('is undefined without %s', (_label, options) => {
    env.uninstall();
    env = installTabEnv(options);
    expect(openCrossTab('x', clock, () => {}, () => undefined, () => 0)).toBeUndefined();
    expect(env.channels).toHaveLength(0);
  });

  it('opens token-warden:<name> and asks the other tabs once, noting when', () => {
    const { link } = open();
    expect(env.posts).toEqual([{ name: 'token-warden:x', from: 1, data: { t: 'ask' } }]);
    expect(link.lastAskAt).toBe(1_000_000);
  });
});

describe('answers', () => {
  it.each([
    ['the token with the skew', { token: 'tok', skew: -250 }, { t: 'token', token: 'tok', skew: -250 }],
    ['the token alone when the skew is 0', { token: 'tok', skew: 0 }, { t: 'token', token: 'tok' }],
    ['the token alone when the skew is not finite', { token: 'tok', skew: Number.NaN }, { t: 'token', token: 'tok' }],
    ['the token alone when the skew is infinite', { token: 'tok', skew: Infinity }, { t: 'token', token: 'tok' }],
    ['hi without a token', { token: undefined, skew: 100 }, { t: 'hi' }],
    ['hi for an empty token', { token: '', skew: 0 }, { t: 'hi' }],
  ])('an ask with %s', async (_label, state, answer) => {
    const { peer, heard } = open(state);
    peer.postMessage({ t: 'ask' });
    await flush();
    expect(heard).toEqual([answer]);
  });

  it('publish sends the token the same way', async () => {
    const { link, heard, state } = open({ token: undefined, skew: 40 });
    link.publish('a');
    state.skew = 0;
    link.publish('b');
    await flush();
    expect(heard).toEqual([
      { t: 'token', token: 'a', skew: 40 },
      { t: 'token', token: 'b' },
    ]);
  });

  it(`at most once per ${ANSWER_INTERVAL_MS} ms: later asks share one answer at the end of the interval`, async () => {
    const { peer, heard, state } = open({ token: 'first', skew: 0 });
    peer.postMessage({ t: 'ask' });
    await flush();
    expect(heard).toHaveLength(1);
    await clock.advance(20);
    peer.postMessage({ t: 'ask' });
    peer.postMessage({ t: 'ask' });
    await flush();
    expect(heard).toHaveLength(1);
    expect(clock.delays).toEqual([30]);
    state.token = 'second';
    await clock.advance(29);
    expect(heard).toHaveLength(1);
    await clock.advance(1);
    expect(heard).toEqual([
      { t: 'token', token: 'first' },
      { t: 'token', token: 'second' },
    ]);
    expect(clock.pending).toBe(0);
    // Exactly one interval after that answer: answered at once.
    await clock.advance(ANSWER_INTERVAL_MS);
    peer.postMessage({ t: 'ask' });
    await flush();
    expect(heard).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('close() drops an answer still waiting for its interval', async () => {
    const { link, peer, heard } = open({ token: 'tok', skew: 0 });
    peer.postMessage({ t: 'ask' });
    await flush();
    peer.postMessage({ t: 'ask' });
    await flush();
    expect(clock.pending).toBe(1);
    link.close();
    expect(clock.pending).toBe(0);
    await clock.advance(ANSWER_INTERVAL_MS);
    expect(heard).toHaveLength(1);
  });
});

describe('receives', () => {
  it.each([
    ['a token with its skew', { t: 'token', token: 'tok', skew: 1500 }, [['tok', 1500]]],
    ['a token without a skew', { t: 'token', token: 'tok' }, [['tok', undefined]]],
    ['a token with a skew that is not a number', { t: 'token', token: 'tok', skew: '1500' }, [['tok', undefined]]],
    ['a token with an infinite skew', { t: 'token', token: 'tok', skew: Infinity }, [['tok', undefined]]],
    ['a token that is not a string', { t: 'token', token: 42 }, []],
    ['a message of another type with a token', { t: 'hi', token: 'tok' }, []],
    ['null', null, []],
    ['a string', 'token', []],
  ])('%s', async (_label, message, expected) => {
    const { peer, received, heard } = open({ token: 'mine', skew: 0 });
    peer.postMessage(message);
    await flush();
    expect(received).toEqual(expected);
    // None of these is an ask.
    expect(heard).toEqual([]);
  });
});

describe('ask', () => {
  it('resolves true at once, posting nothing, when already satisfied', async () => {
    const { link } = open();
    await expect(link.ask(200, () => true)).resolves.toBe(true);
    expect(env.posts).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('asks again only when the last ask is at least waitMs old', async () => {
    const { link } = open();
    await clock.advance(199);
    void link.ask(200, () => false);
    expect(env.posts).toHaveLength(1);
    expect(link.lastAskAt).toBe(1_000_000);
    await clock.advance(1);
    void link.ask(200, () => false);
    expect(env.posts.map((post) => post.data)).toEqual([{ t: 'ask' }, { t: 'ask' }]);
    expect(link.lastAskAt).toBe(1_000_200);
  });

  it('resolves true on the first message after which satisfied() holds, and clears its timer', async () => {
    const { link, peer } = open();
    let satisfied = false;
    let result: boolean | undefined;
    void link.ask(200, () => satisfied).then((value) => (result = value));
    expect(clock.delays).toEqual([200]);
    peer.postMessage({ t: 'hi' });
    await flush();
    expect(result).toBeUndefined();
    satisfied = true;
    peer.postMessage({ t: 'hi' });
    await flush();
    expect(result).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('after waitMs resolves with satisfied() of that moment', async () => {
    const { link } = open();
    let satisfied = false;
    const never = link.ask(200, () => satisfied);
    const late = link.ask(300, () => satisfied);
    await clock.advance(200);
    await expect(never).resolves.toBe(false);
    satisfied = true;
    await clock.advance(100);
    await expect(late).resolves.toBe(true);
  });

  it('close() gives up the pending asks with false', async () => {
    const { link } = open();
    const pending = link.ask(200, () => false);
    link.close();
    await expect(pending).resolves.toBe(false);
    expect(clock.pending).toBe(0);
  });
});

describe('withLock', () => {
  const lock = 'token-warden:x';

  it('keeps the lock lingerMs after a task that sent a token, then releases it', async () => {
    const { link } = open();
    let done = false;
    void link.withLock(async () => true, new AbortController().signal, 500).then(() => (done = true));
    await clock.advance(0);
    expect(done).toBe(true);
    expect(env.lockState().held).toEqual([lock]);
    expect(clock.delays).toEqual([500]);
    await clock.advance(499);
    expect(env.lockState().held).toEqual([lock]);
    await clock.advance(1);
    expect(env.lockState().held).toEqual([]);
  });

  it('releases the lock at once after a task that sent nothing', async () => {
    const { link } = open();
    await link.withLock(async () => false, new AbortController().signal, 500);
    await flush();
    expect(env.lockState().held).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('close() lets go of the kept lock', async () => {
    const { link } = open();
    await link.withLock(async () => true, new AbortController().signal, 500);
    await flush();
    expect(env.lockState().held).toEqual([lock]);
    link.close();
    await flush();
    expect(env.lockState().held).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('keeps no lock when the link closed during the task', async () => {
    const { link } = open();
    const done = link.withLock(
      async () => {
        link.close();
        return true;
      },
      new AbortController().signal,
      500,
    );
    await done;
    await flush();
    expect(env.lockState().held).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('rejects with what the task throws, and releases the lock', async () => {
    const { link } = open();
    const boom = new Error('fetch failed');
    await expect(
      link.withLock(
        async () => {
          throw boom;
        },
        new AbortController().signal,
        500,
      ),
    ).rejects.toBe(boom);
    await flush();
    expect(env.lockState().held).toEqual([]);
  });

  it('rejects with the abort reason when the request is withdrawn while waiting', async () => {
    const { link } = open();
    void link.withLock(async () => true, new AbortController().signal, 500);
    await clock.advance(0);
    const controller = new AbortController();
    const waiting = link.withLock(async () => true, controller.signal, 500);
    const reason = new Error('gave up');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});

describe('close', () => {
  it('closes the channel: nothing more is received, and publishing is harmless', async () => {
    const { link, peer, received } = open();
    const clearTimeout = vi.spyOn(clock, 'clearTimeout');
    link.close();
    // No answer was waiting: no timer to clear.
    expect(clearTimeout).not.toHaveBeenCalled();
    expect(env.channels[0]!.closed).toBe(true);
    expect(env.channels[0]!.onmessage).toBeNull();
    expect(() => link.publish('tok')).not.toThrow();
    peer.postMessage({ t: 'token', token: 'tok' });
    await flush();
    expect(received).toEqual([]);
  });
});
