// Two tabs of the demo (crossTab: true) in one browser context: one fetch per token lifetime, shared by both.
//
// Time here differs from demo.test.ts on purpose. Running the page clock forward puts it ahead of the (honest)
// server clock by the amount run; a tab that fetches learns that offset from the server's time, but a tab that
// only adopts tokens from its peer cannot. Real clocks don't gain 25 s per token lifetime, so the lifetime test
// keeps page and server clocks in agreement: a short TTL (`?ttl=10&warn=6`, a refresh every ~4 s) in real time.
// A clock that is off by a constant amount (a fast machine clock) is its own test.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../examples/server.mjs';
import {
  adoptPage,
  errorsOf,
  isSettled,
  launchBrowser,
  newDemoContext,
  nextServerSecond,
  ofType,
  openDemo,
  runClock,
  sleep,
  snapshot,
  startServer,
  waitFor,
  watchPage,
  type DemoSnapshot,
} from './support.js';

let browser: Browser;
let server: DemoServer;
let context: BrowserContext | undefined;
const pages: Page[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer()]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), server?.close()]);
});

afterEach(async () => {
  const errors = pages.flatMap((page) => errorsOf(page));
  pages.length = 0;
  await context?.close();
  context = undefined;
  expect(errors, 'uncaught errors in the pages').toEqual([]);
});

async function newContext(clockOffsetMs = 0): Promise<BrowserContext> {
  server.reset();
  context = await newDemoContext(browser, clockOffsetMs);
  return context;
}

const fetches = () => server.stats().fetches;

/** Opens tab A, then tab B through the page's own "Open another tab" button; waits until both are settled. */
async function openTwoTabs(ctx: BrowserContext, query = ''): Promise<[Page, Page]> {
  const a = await openDemo(ctx, server, query);
  pages.push(a);
  const [popup] = await Promise.all([ctx.waitForEvent('page'), a.click('#btn-tab')]);
  const b = await adoptPage(popup);
  pages.push(b);
  return [a, b];
}

/** Both tabs settled on the same token, different from `previous`. */
async function bothOn(a: Page, b: Page, previous: string | undefined, what: string): Promise<[DemoSnapshot, DemoSnapshot]> {
  return waitFor(
    () => Promise.all([snapshot(a), snapshot(b)]),
    ([sa, sb]) => isSettled(sa) && isSettled(sb) && sa.token === sb.token && sa.token !== previous,
    { timeout: 15_000, what },
  );
}

describe('two tabs (crossTab: true)', () => {
  it('share one fetch per token lifetime', async () => {
    const ctx = await newContext();
    // 10 s tokens, refreshed 6 s before expiry: a new lifetime every ~4 s of real (and page) time.
    const [a, b] = await openTwoTabs(ctx, '?ttl=10&warn=6');
    const [a1, b1] = await bothOn(a, b, undefined, 'both tabs on a token');
    expect(a1.tabId).not.toBe(b1.tabId);
    // The new tab asked its peer instead of fetching.
    expect(ofType(b1.log, 'tokenUpdated')).toMatchObject([{ source: 'peer', fingerprint: a1.token }]);

    // Two more lifetimes: each refreshed by one fetch, in one tab, adopted by the other.
    const [a2] = await bothOn(a, b, a1.token, 'both tabs on the next token');
    await bothOn(a, b, a2.token, 'both tabs on the token after that');
    await sleep(1_000); // still well inside this lifetime
    const [sa, sb] = [await snapshot(a), await snapshot(b)];

    // One fetch per token, whichever tab made it; every token reached both tabs. (Tab B normally opens during
    // the first lifetime; on a slow machine it may open later and simply start from A's token of the moment.)
    const tokensA = ofType(sa.log, 'tokenUpdated').map((e) => e.fingerprint);
    const tokensB = ofType(sb.log, 'tokenUpdated').map((e) => e.fingerprint);
    expect(new Set(tokensA).size).toBe(tokensA.length);
    expect(tokensB).toEqual(tokensA.slice(tokensA.indexOf(a1.token)));
    expect(fetches()).toBe(tokensA.length);
    expect(server.stats().recent.map((r) => r.reason)).toEqual(['initial', ...tokensA.slice(1).map(() => 'aboutToExpire')]);
    for (const s of [sa, sb]) {
      expect(s.token).toBe(tokensA.at(-1));
      expect(ofType(s.log, 'error')).toEqual([]);
      expect(s.clients.every((c) => c.token === s.token)).toBe(true);
    }
  });

  it('a tab opened on a fast clock adopts its peer token without fetching again', async () => {
    // The machine's clock is 60 s ahead of the server's. Tab A learns that from the server's time when it
    // fetches; tab B gets a 200 s token with ~198 s left from its peer and must not treat it as about to expire.
    const ctx = await newContext(60_000);
    const a = await openDemo(ctx, server);
    pages.push(a);
    const a1 = await snapshot(a);
    const [popup] = await Promise.all([ctx.waitForEvent('page'), a.click('#btn-tab')]);
    const b = watchPage(popup);
    pages.push(b);
    await waitFor(() => snapshot(b), (s) => s.token !== undefined, { what: 'a token in tab B' });
    await runClock(b, 2_000, 1_000); // room for any refresh tab B might wrongly start

    const b1 = await snapshot(b);
    expect(fetches(), "tab B fetched although its peer's token had ~198 s left").toBe(1);
    expect(ofType(b1.log, 'tokenUpdated')).toMatchObject([{ source: 'peer', fingerprint: a1.token }]);
    expect(ofType(b1.log, 'tokenAboutToExpire'), 'tokenAboutToExpire in tab B, ~160 s early').toEqual([]);
    expect(b1.state).toBe('valid');
  });

  it('keeps refreshing in the remaining tab after the other one closes', async () => {
    const ctx = await newContext();
    // No refresh spread here (Math.random() = 0): the refresh comes at the about-to-expire moment, 20 s in. A
    // spread of up to 90 s run on the page clock would put it that far ahead of the server's clock.
    await ctx.addInitScript(() => {
      Math.random = () => 0;
    });
    const [a, b] = await openTwoTabs(ctx);
    const [a1] = await bothOn(a, b, undefined, 'both tabs on the first token');
    expect(fetches()).toBe(1);

    await a.close();
    await nextServerSecond(server);
    await b.clock.runFor(25_000);
    const next = await waitFor(() => snapshot(b), (s) => isSettled(s) && s.token !== a1.token, {
      timeout: 15_000,
      what: 'a new token in the remaining tab',
    });
    expect(ofType(next.log, 'tokenUpdated').at(-1)).toMatchObject({ source: 'fetch' });
    expect(fetches()).toBe(2);
  });
});
