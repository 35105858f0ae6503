// A stranger on the cross-tab channel (a confused or hostile page of the same origin) posting anything:
// - no message makes a handler throw;
// - a tab adopts only a well-formed token that is newer than its own, of the same identity (and of the `identity`
//   option's), and not expired by its own clock: never a malformed, expired, older or other-identity one;
// - a `skew` sent along never stretches a token's life by more than the token's own lifetime plus its age (the
//   server times the manager believes), and an absurd one is not learned at all: the token then expires on time;
// - asks are answered at a bounded rate, whatever their number and rhythm.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessManager, decodeToken } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { type TabEnv, type TestBroadcastChannel, installTabEnv } from '../helpers/tab-env.mjs';
import { HOUR, MIN, SEC, START as L } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { watchUnhandled } from './hostile.js';

const CHANNEL = 'token-warden:default';
/** Asks are answered at most this often. */
const ANSWER_INTERVAL_MS = 50;

// --- what the stranger sends

type TokenKind = 'newer' | 'older' | 'expired' | 'otherIdentity' | 'malformed' | 'same' | 'sameExp' | 'futureIat' | 'shortLived' | 'noExp';
const TOKEN_KINDS: TokenKind[] = ['newer', 'older', 'expired', 'otherIdentity', 'malformed', 'same', 'sameExp', 'futureIat', 'shortLived', 'noExp'];

type Message =
  | { m: 'token'; kind: TokenKind; skew: unknown; extra: boolean }
  | { m: 'raw'; value: unknown }
  | { m: 'ask' }
  | { m: 'hi' }
  | { m: 'advance'; ms: number };

const skewArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -2 * HOUR, max: 2 * HOUR }),
  fc.constantFrom(-1e12, 1e12, -Number.MAX_VALUE, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0, -0, 0.5),
  fc.constantFrom('1000', null, true, [], {}),
);

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ m: fc.constant('token' as const), kind: fc.constantFrom(...TOKEN_KINDS), skew: skewArb, extra: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('raw' as const),
      value: fc.oneof(
        fc.anything({ maxDepth: 2 }),
        fc.record({ t: fc.oneof(fc.constantFrom('token', 'ask', 'hi', 'TOKEN', ''), fc.anything({ maxDepth: 0 })), token: fc.anything({ maxDepth: 1 }), skew: fc.anything({ maxDepth: 0 }) }, { requiredKeys: [] }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'ask' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'hi' as const }) },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 10 * MIN }) }) },
);

/** Everything a stranger can post that is not plain data: exotic clonable objects. */
const EXOTIC: unknown[] = [
  new Map([['t', 'token']]),
  ['t', 'token'],
  new Date(0),
  /token/g,
  new Error('t'),
  new Uint8Array([1, 2]),
  Object.assign(Object.create(null) as object, { t: 'ask' }),
  { t: new String('token'), token: new String('x') },
  { t: 'token', token: ['a', 'b'] },
];

interface Tab {
  manager: AccessManager;
  channel: TestBroadcastChannel;
}

function openTab(env: TabEnv, clock: ManualClock, options: { token?: string; identity?: string; fetch: boolean }): Tab {
  const before = env.channels.length;
  const manager = new AccessManager({
    clock,
    crossTab: true,
    ...(options.token ? { token: options.token } : {}),
    ...(options.identity ? { identity: options.identity } : {}),
    // A token endpoint that never answers: whatever the tab holds came from its start or from the stranger.
    ...(options.fetch || !options.token ? { fetchToken: () => new Promise<string>(() => {}) } : {}),
  });
  const channel = env.channels[before]!;
  return { manager, channel };
}

describe('a stranger on the channel', () => {
  it('never makes a tab throw or adopt a malformed, expired, older or other-identity token', { timeout: 60_000 }, async () => {
    const unhandled = watchUnhandled();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            start: fc.constantFrom('token', 'token', 'none'),
            identityOption: fc.boolean(),
            messages: fc.array(messageArb, { minLength: 1, maxLength: 12 }),
            exotic: fc.boolean(),
          }),
          async (scenario) => {
            const clock = new ManualClock(L);
            const env = installTabEnv();
            const stranger = new BroadcastChannel(CHANNEL) as unknown as TestBroadcastChannel;
            let lastExp = Math.floor(L / SEC) + HOUR / SEC;
            const mint = (identity: string, at: number, exp: number) => mintToken({ identity, at, ttl: exp - Math.floor(at / SEC) });
            const initial = scenario.start === 'token' ? mint('alice', clock.now() - 10 * MIN, lastExp) : undefined;
            const tab = openTab(env, clock, { token: initial, identity: scenario.identityOption ? 'alice' : undefined, fetch: false });
            const updates: string[] = [];
            tab.manager.on('tokenUpdated', ({ token, source }) => {
              expect(source).toBe('peer');
              updates.push(token);
            });
            await flush();

            const tokenFor = (kind: TokenKind): string => {
              const now = clock.now();
              const held = tab.manager.token;
              const heldExp = held ? decodeToken(held).expiresAt.getTime() / SEC : Math.floor(now / SEC);
              switch (kind) {
                case 'newer':
                  return mint('alice', now, (lastExp = Math.max(lastExp, heldExp, Math.floor(now / SEC) + 600) + 60));
                case 'older':
                  return mint('alice', now - 30 * MIN, Math.max(Math.floor(now / SEC) + 60, heldExp - 60));
                case 'expired':
                  return mint('alice', now - 2 * HOUR, Math.floor(now / SEC) - 1);
                case 'otherIdentity':
                  return mint('bob', now, (lastExp = Math.max(lastExp, heldExp, Math.floor(now / SEC) + 600) + 60));
                case 'malformed':
                  return `${mint('alice', now, heldExp + 120).slice(0, -2)}=`;
                case 'same':
                  return held ?? mint('alice', now, heldExp + 60);
                case 'sameExp':
                  return mint('alice', now - 1000, heldExp);
                case 'futureIat':
                  // Issued an hour in the local future (a clock far behind, or a lie): newer, and valid.
                  return mint('alice', now + HOUR, (lastExp = Math.max(lastExp, heldExp, Math.floor((now + HOUR) / SEC)) + 60));
                case 'shortLived':
                  return mint('alice', now, Math.floor(now / SEC) + 2);
                case 'noExp':
                  return `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ grants: { identity: 'alice' }, iat: Math.floor(now / SEC) })).toString('base64url')}.c2ln`;
              }
            };

            // How far behind the local clock the tab may believe the server is: a skew it adopted along with a
            // peer's token (only those can make it judge a later token as not yet expired).
            let allowance = 0;
            const messages: Message[] = scenario.messages;
            for (const message of messages) {
              const before = tab.manager.token;
              let sent: unknown;
              if (message.m === 'advance') {
                await clock.advance(message.ms);
                continue;
              }
              if (message.m === 'token') {
                const token = tokenFor(message.kind);
                sent = { t: 'token', token, ...(message.skew === undefined ? {} : { skew: message.skew }), ...(message.extra ? { x: { token: 1 } } : {}) };
              } else if (message.m === 'raw') {
                sent = message.value;
              } else {
                sent = { t: message.m };
              }
              try {
                stranger.postMessage(sent);
              } catch {
                continue; // not clonable: a real BroadcastChannel refuses it too
              }
              await clock.advance(0);
              expect(env.handlerErrors).toEqual([]);
              const after = tab.manager.token;
              if (after === before) continue;
              // Adopted: only what the stranger sent just now, and only what the rules allow.
              const token = (sent as { token?: unknown }).token;
              expect(after).toBe(token);
              const decoded = decodeToken(after!);
              expect(decoded.expiresAt.getTime(), 'adopted an expired token').toBeGreaterThan(clock.now() - allowance);
              const skew = (sent as { skew?: unknown }).skew;
              if (typeof skew === 'number' && Number.isFinite(skew)) allowance = Math.max(allowance, -skew);
              if (before !== undefined) {
                const previous = decodeToken(before);
                expect(decoded.expiresAt.getTime(), 'adopted an older (or equally old) token').toBeGreaterThan(previous.expiresAt.getTime());
                expect(decoded.identity, 'adopted another identity').toBe(previous.identity);
              }
              if (scenario.identityOption) expect(decoded.identity).toBe('alice');
            }
            // The channel works at all: a newer token of the tab's identity, valid for 12 hours (beyond any skew
            // learned above), is taken. A tab without the identity option may have been handed bob's meanwhile.
            const identity = tab.manager.identity ?? 'alice';
            const newer = mint(identity, clock.now(), Math.max(lastExp, Math.floor(clock.now() / SEC)) + 12 * 3600);
            stranger.postMessage({ t: 'token', token: newer });
            await clock.advance(0);
            expect(tab.manager.token, 'a valid newer token was not adopted').toBe(newer);
            expect(updates.at(-1)).toBe(newer);

            for (const exotic of scenario.exotic ? EXOTIC : []) stranger.postMessage(exotic);
            await clock.advance(0);
            expect(env.handlerErrors).toEqual([]);

            tab.manager.dispose();
            stranger.close();
            await flush();
            expect(clock.pending).toBe(0);
            env.uninstall();
            await unhandled.settle();
            expect(unhandled.reasons).toEqual([]);
          },
        ),
        { numRuns: 120 },
      );
    } finally {
      unhandled.stop();
    }
  });

  it("a peer's skew stretches a token's life by at most its lifetime plus its age; an absurd one is not learned", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          skew: fc.oneof(
            fc.integer({ min: -3 * HOUR, max: 3 * HOUR }),
            fc.constantFrom(-1e12, 1e12, -56 * 365 * 24 * HOUR, -Number.MAX_VALUE, Number.MAX_VALUE, -2 * 24 * HOUR),
          ),
          issuedAgoMin: fc.integer({ min: 0, max: 59 }),
          ttlMin: fc.constantFrom(5, 60, 24 * 60),
          held: fc.boolean(),
        }),
        async ({ skew, issuedAgoMin, ttlMin, held }) => {
          const clock = new ManualClock(L);
          const env = installTabEnv();
          const stranger = new BroadcastChannel(CHANNEL) as unknown as TestBroadcastChannel;
          const old = mintToken({ at: L - 3 * HOUR + 10 * MIN, ttl: 3 * HOUR });
          const tab = openTab(env, clock, { token: held ? old : undefined, fetch: false });
          await flush();
          const at = L - Math.min(issuedAgoMin, ttlMin - 1) * MIN;
          const token = mintToken({ at, ttl: ttlMin * 60 });
          const exp = decodeToken(token).expiresAt.getTime();
          const lifetime = ttlMin * MIN;
          stranger.postMessage({ t: 'token', token, skew });
          await clock.advance(0);
          if (tab.manager.token === token) {
            // A server time is believed when it lies within one lifetime of the token's iat..exp, so a peer's skew
            // can delay this tab's expiry of the token by at most its lifetime plus its age; a skew beyond anything
            // a server time for this token could mean is not learned, and the token expires on time.
            const absurd = Math.abs(skew) > 2 * lifetime + HOUR;
            const stretch = absurd ? 0 : lifetime + (clock.now() - at);
            clock.jump(exp - clock.now() + stretch + SEC);
            expect(tab.manager.isExpired, `valid past exp + ${stretch} ms with a peer skew of ${skew} ms`).toBe(true);
          }
          tab.manager.dispose();
          stranger.close();
          env.uninstall();
        },
      ),
      { numRuns: 150 },
    );
  });

  // Known weakness: a peer's skew is believed whenever it is plausible for the token it came with (within one
  // lifetime of its iat..exp), so the more negative end lets a token with a minute left look valid for about two
  // lifetimes more. The tab then serves it from getToken(), starts no refresh, and judges later tokens (peer or
  // fetched without serverTime) with that skew too, so it may even adopt one that its own clock says is expired.
  it("a peer's skew does not make a token with a minute left look valid 99 minutes past its exp", async () => {
    const clock = new ManualClock(L);
    const env = installTabEnv();
    const stranger = new BroadcastChannel(CHANNEL) as unknown as TestBroadcastChannel;
    const fetches: string[] = [];
    const manager = new AccessManager({
      clock,
      crossTab: true,
      fetchToken: ({ reason }) => {
        fetches.push(reason);
        return new Promise<string>(() => {});
      },
    });
    try {
      const token = mintToken({ at: L - 59 * MIN, ttl: 3600 });
      stranger.postMessage({ t: 'token', token, skew: -118 * MIN });
      await clock.advance(0);
      expect(manager.token).toBe(token);
      clock.jump(100 * MIN);
      expect(manager.isExpired).toBe(true);
    } finally {
      manager.dispose();
      stranger.close();
      env.uninstall();
    }
  });

  it('asks are answered at a bounded rate, whatever their number and rhythm', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ asks: fc.integer({ min: 0, max: 2000 }), thenMs: fc.integer({ min: 0, max: 200 }) }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (bursts, withToken) => {
          const clock = new ManualClock(L);
          const env = installTabEnv();
          const stranger = new BroadcastChannel(CHANNEL) as unknown as TestBroadcastChannel;
          const tab = openTab(env, clock, { token: withToken ? mintToken({ at: L }) : undefined, fetch: false });
          await clock.advance(0);
          const start = clock.now();
          const own = () => env.posts.filter((post) => post.from === tab.channel.id).length;
          const before = own();
          for (const { asks, thenMs } of bursts) {
            for (let i = 0; i < asks; i++) stranger.postMessage({ t: 'ask' });
            await clock.advance(thenMs);
          }
          await clock.advance(ANSWER_INTERVAL_MS);
          const replies = own() - before;
          const elapsed = clock.now() - start;
          // One answer per interval at most (a tab without a token may also ask once itself).
          expect(replies).toBeLessThanOrEqual(Math.floor(elapsed / ANSWER_INTERVAL_MS) + 2);
          expect(env.handlerErrors).toEqual([]);
          tab.manager.dispose();
          stranger.close();
          env.uninstall();
        },
      ),
      {
        numRuns: 40,
        examples: [[[{ asks: 10_000, thenMs: 0 }], true]],
      },
    );
  });

  it('a flood of 10,000 asks at once costs a handful of replies', async () => {
    const clock = new ManualClock(L);
    const env = installTabEnv();
    const stranger = new BroadcastChannel(CHANNEL) as unknown as TestBroadcastChannel;
    const token = mintToken({ at: L });
    const tab = openTab(env, clock, { token, fetch: false });
    await clock.advance(0);
    const seen: unknown[] = [];
    stranger.onmessage = (event) => seen.push(event.data);
    for (let i = 0; i < 10_000; i++) stranger.postMessage({ t: 'ask' });
    await clock.advance(0);
    await clock.advance(ANSWER_INTERVAL_MS);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(3);
    tab.manager.dispose();
    stranger.close();
    env.uninstall();
  });
});
