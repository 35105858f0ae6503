// The demo page in real Chromium against the real demo server: one tab, time moved with Playwright's clock.
// Besides tokens and clients: the state badge (driven by `manager.subscribe`) and the manager's debug log (the
// `logger` option) in the page's event log, which never shows a token.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemoServer } from '../../examples/server.mjs';
import {
  advanceUntilSettled,
  errorsOf,
  launchBrowser,
  nextServerSecond,
  newDemoContext,
  ofType,
  openDemo,
  refreshIntoFault,
  runClock,
  screenshot,
  sleep,
  snapshot,
  startServer,
  waitFor,
  waitForSettled,
  type LogEntry,
} from './support.js';

let browser: Browser;
let server: DemoServer;
let context: BrowserContext;
const pages: Page[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer()]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), server?.close()]);
});

beforeEach(async () => {
  server.reset();
  context = await newDemoContext(browser);
});

afterEach(async () => {
  const errors = pages.flatMap((page) => errorsOf(page));
  pages.length = 0;
  await context.close();
  expect(errors, 'uncaught errors in the page').toEqual([]);
});

async function open(query = ''): Promise<Page> {
  const page = await openDemo(context, server, query);
  pages.push(page);
  return page;
}

const fetches = () => server.stats().fetches;

/** An entry of the manager's `logger` in the page's event log. */
interface LoggedEntry {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  message: string;
  details: Record<string, unknown>;
}

/** The `logger` entries of a page's log, of one `event` when given. */
const logged = (log: LogEntry[], event?: string): LoggedEntry[] =>
  (log as unknown as LoggedEntry[]).filter((e) => e.type === 'log' && (event === undefined || e.event === event));

/** Every state the badge has shown so far, oldest first. */
const badges = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { demo: { badges: Array<{ state: string }> } }).demo.badges.map((b) => b.state));

/** Keeps the manager's current token in the page, for {@link leaks} to look for later. */
const rememberToken = (page: Page): Promise<void> =>
  page.evaluate(() => {
    const w = window as unknown as { demo: { manager: { token: string } }; seenTokens?: string[] };
    (w.seenTokens ??= []).push(w.demo.manager.token);
  });

/**
 * How many of the remembered tokens and the current one, or any of their three parts, appear in the page's log
 * (its entries with every detail, and the list on screen) or anywhere else on the page.
 */
const leaks = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const w = window as unknown as { demo: { manager: { token: string }; log: unknown[] }; seenTokens?: string[] };
    const tokens = [...(w.seenTokens ?? []), w.demo.manager.token];
    const text = JSON.stringify(w.demo.log) + document.documentElement.outerHTML;
    return tokens.flatMap((token, i) =>
      [token, ...token.split('.')].filter((part) => text.includes(part)).map((part) => `token ${i}: ${part.length} chars`),
    );
  });

describe('demo page', () => {
  it('loads with a token for the identity, fetched once and handed to all three clients', async () => {
    const page = await open('?identity=alice');
    const s = await snapshot(page);

    expect(s.state).toBe('valid');
    expect(s.identity).toBe('alice');
    expect(fetches()).toBe(1);
    expect(server.stats().recent[0]).toMatchObject({ identity: 'alice', reason: 'initial', outcome: 'ok' });
    expect(s.clients.map((c) => [c.name, c.token, c.updates])).toEqual([
      ['Chat', s.token, 1],
      ['Sync', s.token, 1],
      ['Voice', s.token, 1],
    ]);
    expect(ofType(s.log, 'tokenUpdated')).toMatchObject([{ source: 'fetch', fingerprint: s.token }]);
    expect(ofType(s.log, 'error')).toEqual([]);

    await expect.poll(() => page.textContent('#identity')).toBe('alice');
    await expect.poll(() => page.textContent('#state')).toBe('valid');
    await expect.poll(() => page.textContent('#fingerprint')).toBe(s.token);
    await expect.poll(() => page.textContent('#fetch-count')).toBe('1');
    // 200 s TTL: the countdown starts at 3:20 and is read within a few seconds.
    expect(await page.textContent('#countdown')).toMatch(/^3:[12]\d$/);

    // The manager's debug log explains the start, naming the token by the fingerprint the page shows.
    expect(logged(s.log, 'fetch.start')).toMatchObject([{ level: 'info', details: { reason: 'initial' } }]);
    expect(logged(s.log, 'fetch.done')).toMatchObject([{ details: { reason: 'initial', attempt: 1, outcome: 'new' } }]);
    expect(`#${logged(s.log, 'fetch.done')[0]!.details.fingerprint}`).toBe(s.token);
    expect(logged(s.log, 'state').map((e) => e.message)).toEqual(['idle → refreshing', 'refreshing → valid']);
    await expect.poll(() => badges(page)).toEqual(['idle', 'refreshing', 'valid']);
    await rememberToken(page);

    // A manual refresh: the badge goes valid -> refreshing -> valid, and the log says why.
    await nextServerSecond(server);
    await page.click('#btn-refresh');
    const refreshed = await waitForSettled(page, s.token);
    expect(await badges(page)).toEqual(['idle', 'refreshing', 'valid', 'refreshing', 'valid']);
    expect(await page.textContent('#state')).toBe('valid');
    expect(logged(refreshed.log, 'fetch.start').map((e) => e.details.reason)).toEqual(['initial', 'manual']);
    expect(logged(refreshed.log, 'clients.push').map((e) => `#${e.details.fingerprint}`)).toEqual([s.token, refreshed.token]);
    expect(logged(refreshed.log).length).toBeGreaterThan(8);
    // On screen: info entries by default, the debug ones too once "debug" is ticked.
    const shown = () => page.$$eval('#log .log-log', (items) => items.filter((item) => item.getClientRects().length > 0).length);
    const infoOnly = await shown();
    expect(infoOnly).toBeGreaterThan(3);
    await page.check('#log-debug');
    expect(await shown()).toBe(logged((await snapshot(page)).log).length);

    // Only fingerprints reach the log and the screen, never a token or one of its parts.
    expect(await leaks(page)).toEqual([]);
  });

  it('refreshes at the about-to-expire moment: one more fetch, all clients get the new token', async () => {
    // `spread=5`: the refresh starts within 5 s of the about-to-expire moment instead of up to 90 s later (with
    // `spread=0` it would start in the same instant, and the badge would go from valid straight to refreshing).
    const page = await open('?spread=5');
    const first = await snapshot(page);

    // 200 s TTL, 180 s warning: the refresh is due 20 s after issue. The page clock now runs ahead of the server's
    // (whose own clock must at least leave the first token's second, or it would mint that same token again).
    await nextServerSecond(server);
    await page.clock.runFor(25_000);
    const second = await waitForSettled(page, first.token);

    expect(fetches()).toBe(2);
    expect(server.stats().recent[1]).toMatchObject({ reason: 'aboutToExpire', outcome: 'ok' });
    expect(second.clients.every((c) => c.updates === 2)).toBe(true);
    expect(ofType(second.log, 'tokenAboutToExpire')).toMatchObject([{ fingerprint: first.token }]);
    expect(ofType(second.log, 'tokenUpdated').map((e) => [e.source, e.fingerprint])).toEqual([
      ['fetch', first.token],
      ['fetch', second.token],
    ]);
    expect(ofType(second.log, 'error')).toEqual([]);
    expect(await badges(page)).toEqual(['idle', 'refreshing', 'valid', 'aboutToExpire', 'refreshing', 'valid']);
    expect(logged(second.log, 'fetch.start').map((e) => e.details.reason)).toEqual(['initial', 'aboutToExpire']);
    // Server time minus page time, learned from the token response: the page runs ahead by as much as it had run
    // when the response came, between the refresh moment (20 s, plus the spread) and the end of the run (25 s).
    const skews = logged(second.log, 'skew').map((e) => e.details.skew as number);
    expect(skews).toHaveLength(1);
    expect(skews[0]).toBeGreaterThan(-27_000);
    expect(skews[0]).toBeLessThan(-19_000);

    // The new token was minted by a server 25 s "behind" the page; with skew correction it has its full
    // lifetime, so nothing else happens for a while.
    await runClock(page, 10_000);
    const later = await snapshot(page);
    expect(later.state).toBe('valid');
    expect(later.token).toBe(second.token);
    expect(fetches()).toBe(2);
  });

  it('recovers from three 500s: FETCH_FAILED errors with backoff, then a new token', async () => {
    const page = await open();
    const first = await snapshot(page);

    await refreshIntoFault(page, server, 'fail500', { count: 3 });

    const recovered = await advanceUntilSettled(page, first.token, 'recovery after three 500s');

    expect(fetches()).toBe(5);
    expect(server.stats().recent.map((r) => r.outcome)).toEqual(['ok', 'fail500', 'fail500', 'fail500', 'ok']);
    const errors = ofType(recovered.log, 'error');
    expect(errors.map((e) => [e.code, e.attempt])).toEqual([
      ['FETCH_FAILED', 1],
      ['FETCH_FAILED', 2],
      ['FETCH_FAILED', 3],
    ]);
    for (const error of errors) expect(error.retryInMs).toBeGreaterThanOrEqual(0);
    // The debug log gives each backoff and why (the retry policy: a 500 carries no Retry-After).
    expect(logged(recovered.log, 'fetch.backoff').map((e) => [e.details.retryInMs, e.details.why])).toEqual(
      errors.map((e) => [e.retryInMs, 'policy']),
    );
    expect(ofType(recovered.log, 'tokenUpdated').at(-1)).toMatchObject({ source: 'fetch', fingerprint: recovered.token });
    expect(recovered.clients.every((c) => c.updates === 2)).toBe(true);
    await expect.poll(() => page.textContent('#state')).toBe('valid');
  });

  it('shows the fatal state on a 401 (FETCH_UNAUTHORIZED, no retries) until the next refresh', async () => {
    const page = await open();
    const first = await snapshot(page);

    await refreshIntoFault(page, server, 'unauthorized', { nextSecond: false });

    const failed = await waitFor(() => snapshot(page), (s) => s.state === 'failed', { what: "state 'failed'" });
    expect(ofType(failed.log, 'error').map((e) => e.code)).toEqual(['FETCH_UNAUTHORIZED']);
    expect(failed.log.some((e) => e.type === 'info' && e.message === 'refresh() rejected: FETCH_UNAUTHORIZED')).toBe(true);
    await expect.poll(() => page.textContent('#state')).toBe('failed');
    expect((await badges(page)).slice(-3)).toEqual(['valid', 'refreshing', 'failed']);
    expect(await page.getAttribute('#state', 'title')).toBe('last error: FETCH_UNAUTHORIZED');
    expect(logged(failed.log, 'error')).toMatchObject([{ level: 'error', details: { code: 'FETCH_UNAUTHORIZED' } }]);
    expect(logged(failed.log, 'state').at(-1)?.message).toBe('refreshing → failed');
    // The old token is still valid and still held by every client.
    expect(failed.token).toBe(first.token);
    expect(failed.clients.every((c) => c.token === first.token)).toBe(true);

    // No retries: well past the first backoff delays, still one failed attempt. (The token's own
    // about-to-expire moment is ~20 s after load, so stay before it.)
    await runClock(page, 10_000);
    expect(fetches()).toBe(2);
    expect((await snapshot(page)).state).toBe('failed');

    // An explicit refresh (the user signed in again) recovers.
    await nextServerSecond(server);
    await page.click('#btn-refresh');
    await waitForSettled(page, first.token);
    expect(fetches()).toBe(3);
    expect((await badges(page)).slice(-3)).toEqual(['failed', 'refreshing', 'valid']);
    expect(await page.getAttribute('#state', 'title')).toBe('');
  });

  it('recovers from a long sleep with exactly one fetch', async () => {
    const page = await open();
    const first = await snapshot(page);

    // Laptop lid closed for 10 minutes: every timer is overdue and fires at most once on wake.
    await nextServerSecond(server);
    await page.clock.fastForward('10:00');
    const woken = await waitForSettled(page, first.token);

    expect(ofType(woken.log, 'tokenExpired')).toMatchObject([{ fingerprint: first.token }]);
    expect(ofType(woken.log, 'tokenUpdated').at(-1)).toMatchObject({ source: 'fetch', fingerprint: woken.token });
    expect(fetches()).toBe(2);

    // The page is now 10 minutes ahead of the server that minted the token; skew correction keeps it valid.
    await runClock(page, 10_000);
    const later = await snapshot(page);
    expect(later.state).toBe('valid');
    expect(later.token).toBe(woken.token);
    expect(fetches()).toBe(2);
    expect(ofType(later.log, 'error')).toEqual([]);
  });

  it('retries a malformed response (TOKEN_MALFORMED) and adopts the next token', async () => {
    const page = await open();
    const first = await snapshot(page);

    await refreshIntoFault(page, server, 'malformed');

    const recovered = await advanceUntilSettled(page, first.token, 'recovery after a malformed token');
    expect(ofType(recovered.log, 'error').map((e) => e.code)).toEqual(['TOKEN_MALFORMED']);
    expect(fetches()).toBe(3);
  });

  it('refuses a token for another identity (IDENTITY_MISMATCH) without retrying', async () => {
    const page = await open();
    const first = await snapshot(page);

    await refreshIntoFault(page, server, 'wrongIdentity', { nextSecond: false });

    const refused = await waitFor(
      () => snapshot(page),
      (s) => s.log.some((e) => e.message === 'refresh() rejected: IDENTITY_MISMATCH'),
      { what: 'refresh() to reject' },
    );
    expect(ofType(refused.log, 'error').map((e) => e.code)).toEqual(['IDENTITY_MISMATCH']);
    expect(refused.token).toBe(first.token);
    expect(refused.identity).toBe('alice');
    expect(refused.clients.every((c) => c.token === first.token && c.updates === 1)).toBe(true);

    await runClock(page, 6_000);
    expect(fetches()).toBe(2);
  });

  it('times out a hanging request (FETCH_TIMEOUT) and retries', async () => {
    const page = await open();
    const first = await snapshot(page);

    await refreshIntoFault(page, server, 'hang');
    await waitFor(() => snapshot(page), (s) => s.state === 'refreshing', { what: "state 'refreshing'" });

    const recovered = await advanceUntilSettled(page, first.token, 'recovery after a timeout');
    expect(ofType(recovered.log, 'error')).toMatchObject([{ code: 'FETCH_TIMEOUT', attempt: 1 }]);
    expect(fetches()).toBe(3);
  });

  it('looks right (screenshot in .artifacts/demo.png)', async () => {
    // Start the page clock 25 s behind the server's, so that running it 25 s forward to the about-to-expire
    // moment leaves both clocks level: the picture then shows no clock skew, only the token's life.
    await context.close();
    context = await newDemoContext(browser, -25_000);
    const page = await open('?spread=0');
    const first = await snapshot(page);
    await nextServerSecond(server);
    await page.clock.runFor(25_000);
    const second = await waitForSettled(page, first.token);

    // Three failures and a recovery, in real time (full-jitter backoff: at most 1 + 2 + 4 s).
    await refreshIntoFault(page, server, 'fail500', { count: 3 });
    await waitForSettled(page, second.token, 20_000);
    await expect.poll(() => page.textContent('#fetch-count')).toBe(String(fetches()));
    await expect.poll(() => page.textContent('#skew')).toBe('none');
    await sleep(1_000); // the clients' highlight fades (page time flows with real time here)

    await screenshot(page, '.artifacts/demo.png');
  });
});
