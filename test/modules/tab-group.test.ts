// @vitest-environment node
// One tab's rules in its group, alone: which peer tokens it takes, when a token answers a refresh, and fetching
// under the group's lock with a fake link (its `ask` waits on the manual clock like the real one).
import { describe, expect, it } from 'vitest';
import type { CrossTabLink } from '../../src/cross-tab.js';
import { decodeToken } from '../../src/decode.js';
import { holdToken } from '../../src/held-token.js';
import { PEER_WAIT_MS, acceptsPeerToken, answersRefresh, fetchUnderLock } from '../../src/tab-group.js';
import type { FetchReason } from '../../src/types.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { HOUR, START as T } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';

const aliceToken = mintToken({ at: T, identity: 'alice' });
const alice = decodeToken(aliceToken);
const held = holdToken(aliceToken, alice);
const aliceLater = decodeToken(mintToken({ at: T + 60_000, identity: 'alice' }));
const aliceEarlier = decodeToken(mintToken({ at: T - 60_000, identity: 'alice' }));
/** Alice with exactly the held token's exp, but another token (other grants). */
const aliceSameExp = decodeToken(mintToken({ at: T, identity: 'alice', grants: ['video'] }));
const bobLater = decodeToken(mintToken({ at: T + 60_000, identity: 'bob' }));

describe('acceptsPeerToken', () => {
  const rows: Array<[string, ReturnType<typeof decodeToken>, typeof held | undefined, string | undefined, number, number, boolean]> = [
    ['a valid token, nothing held', alice, undefined, undefined, T, T, true],
    ["expired by the peer's skew", alice, undefined, undefined, T + HOUR, T, false],
    ["valid by the peer's skew, expired by this tab's own clock", alice, undefined, undefined, T, T + HOUR, false],
    ['one ms before exp by both clocks', alice, undefined, undefined, T + HOUR - 1, T + HOUR - 1, true],
    ['the identity option matches', alice, undefined, 'alice', T, T, true],
    ['another identity than the identity option, nothing held', bobLater, undefined, 'alice', T, T, false],
    ['another identity than the held one, even newer', bobLater, held, undefined, T, T, false],
    ['newer, same identity', aliceLater, held, undefined, T, T, true],
    ['the same exp keeps the current token', aliceSameExp, held, undefined, T, T, false],
    ['older', aliceEarlier, held, undefined, T, T, false],
    ['another identity, nothing held, no identity option', bobLater, undefined, undefined, T, T, true],
  ];
  it.each(rows)('%s', (_label, decoded, current, identity, serverNow, ownServerNow, expected) => {
    expect(acceptsPeerToken(decoded, current, identity, serverNow, ownServerNow)).toBe(expected);
  });
});

describe('answersRefresh', () => {
  const other = holdToken(mintToken({ at: T + 60_000 }), aliceLater);
  const asked: FetchReason[] = ['manual', 'client', 'clientError'];
  const scheduled: FetchReason[] = ['initial', 'aboutToExpire', 'expired'];

  it.each([...asked, ...scheduled])('%s: nothing held, or the token the refresh began with, answers nothing', (reason) => {
    for (const insideWindow of [false, true]) {
      expect(answersRefresh(reason, undefined, undefined, false, insideWindow)).toBe(false);
      expect(answersRefresh(reason, aliceToken, held, false, insideWindow)).toBe(false);
    }
  });

  it.each([...asked, ...scheduled])('%s: a changed but expired token answers nothing', (reason) => {
    expect(answersRefresh(reason, aliceToken, other, true, false)).toBe(false);
    expect(answersRefresh(reason, aliceToken, other, true, true)).toBe(false);
  });

  it.each(asked)('%s (someone asked for a new token): any changed valid token answers, also inside its window', (reason) => {
    expect(answersRefresh(reason, aliceToken, other, false, false)).toBe(true);
    expect(answersRefresh(reason, aliceToken, other, false, true)).toBe(true);
    expect(answersRefresh(reason, undefined, other, false, true)).toBe(true);
  });

  it.each(scheduled)('%s (the schedule): only a changed valid token outside its window answers', (reason) => {
    expect(answersRefresh(reason, aliceToken, other, false, false)).toBe(true);
    expect(answersRefresh(reason, aliceToken, other, false, true)).toBe(false);
    expect(answersRefresh(reason, undefined, other, false, false)).toBe(true);
  });
});

/** A link whose `ask` waits on the manual clock and re-checks on `deliver()` (a peer's message arriving). */
function fakeLink(clock: ManualClock, lastAskAt: number) {
  const asks: number[] = [];
  const locks: Array<{ signal: AbortSignal; lingerMs: number }> = [];
  const sent: boolean[] = [];
  let checks: Array<() => void> = [];
  const link: CrossTabLink = {
    lastAskAt,
    publish() {},
    ask(waitMs, satisfied) {
      asks.push(waitMs);
      if (satisfied()) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        let done = false;
        const finish = (result: boolean) => {
          if (done) return;
          done = true;
          checks = checks.filter((c) => c !== check);
          clock.clearTimeout(timer);
          resolve(result);
        };
        const check = () => {
          if (satisfied()) finish(true);
        };
        checks.push(check);
        const timer = clock.setTimeout(() => finish(satisfied()), waitMs);
      });
    },
    async withLock(task, signal, lingerMs) {
      locks.push({ signal, lingerMs });
      sent.push(await task());
    },
    close() {},
  };
  return { link, asks, locks, sent, deliver: () => [...checks].forEach((check) => check()) };
}

function run(lastAskAgo: number, options: { answered?: boolean; signal?: AbortSignal; fetch?: () => Promise<void> } = {}) {
  const clock = new ManualClock(T);
  const fake = fakeLink(clock, T - lastAskAgo);
  const state = { answered: options.answered ?? false, fetchedAt: [] as number[] };
  const signal = options.signal ?? new AbortController().signal;
  const outcome: { status: 'pending' | 'resolved' | 'rejected'; value?: unknown } = { status: 'pending' };
  fetchUnderLock(
    fake.link,
    clock,
    signal,
    () => state.answered,
    options.fetch ??
      (async () => {
        state.fetchedAt.push(clock.now());
      }),
  ).then(
    (value) => Object.assign(outcome, { status: 'resolved', value }),
    (value: unknown) => Object.assign(outcome, { status: 'rejected', value }),
  );
  return { clock, ...fake, state, outcome, signal };
}

describe('fetchUnderLock', () => {
  it('PEER_WAIT_MS is 200', () => {
    expect(PEER_WAIT_MS).toBe(200);
  });

  it('asks for the lock with the signal and a 200 ms linger', async () => {
    const controller = new AbortController();
    const r = run(10_000, { signal: controller.signal });
    await flush();
    expect(r.locks).toEqual([{ signal: controller.signal, lingerMs: 200 }]);
  });

  it('answered before the lock: no ask, no fetch, nothing sent', async () => {
    const r = run(0, { answered: true });
    await flush();
    expect(r.asks).toEqual([]);
    expect(r.state.fetchedAt).toEqual([]);
    expect(r.sent).toEqual([false]);
    expect(r.outcome).toEqual({ status: 'resolved', value: undefined });
  });

  it('a tab that asked long ago fetches at once and reports the token sent', async () => {
    const r = run(PEER_WAIT_MS);
    await flush();
    expect(r.asks).toEqual([]);
    expect(r.state.fetchedAt).toEqual([T]);
    expect(r.sent).toEqual([true]);
    expect(r.outcome.status).toBe('resolved');
  });

  it('a tab that just opened waits the rest of the 200 ms for its peers, then fetches', async () => {
    const r = run(50);
    await flush();
    expect(r.asks).toEqual([150]);
    await r.clock.advance(149);
    expect(r.state.fetchedAt).toEqual([]);
    await r.clock.advance(1);
    expect(r.state.fetchedAt).toEqual([T + 150]);
    expect(r.sent).toEqual([true]);
  });

  it('199 ms after its ask a tab still waits 1 ms', async () => {
    const r = run(199);
    await flush();
    expect(r.asks).toEqual([1]);
  });

  it("a peer's token during the wait answers: no fetch", async () => {
    const r = run(0);
    await flush();
    expect(r.asks).toEqual([200]);
    await r.clock.advance(120);
    r.state.answered = true;
    r.deliver();
    await flush();
    expect(r.state.fetchedAt).toEqual([]);
    expect(r.sent).toEqual([false]);
    expect(r.outcome.status).toBe('resolved');
    expect(r.clock.pending).toBe(0);
  });

  it('a signal aborted during the wait (the refresh was answered or cancelled): no fetch', async () => {
    const controller = new AbortController();
    const r = run(0, { signal: controller.signal });
    await flush();
    controller.abort();
    await r.clock.advance(200);
    expect(r.state.fetchedAt).toEqual([]);
    expect(r.sent).toEqual([false]);
    expect(r.outcome.status).toBe('resolved');
  });

  it('a signal aborted before the lock is granted: no fetch', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = run(10_000, { signal: controller.signal });
    await flush();
    expect(r.state.fetchedAt).toEqual([]);
    expect(r.sent).toEqual([false]);
  });

  it("the fetch's rejection is fetchUnderLock's", async () => {
    const failure = new Error('endpoint down');
    const r = run(10_000, {
      fetch: async () => {
        throw failure;
      },
    });
    await flush();
    expect(r.outcome).toEqual({ status: 'rejected', value: failure });
    expect(r.sent).toEqual([]);
  });
});
