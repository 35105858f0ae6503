// Shared plumbing of the browser tests: Debian's Chromium through playwright-core, the demo server in-process,
// and small helpers that read the demo page's state (`window.demo`) from Node.
//
// Time: the server mints tokens from its real clock; the page runs on Playwright's fake clock, installed at the
// real current time, so both start in agreement. Moving the page clock forward (runFor, fastForward) puts the page
// ahead of the server, exactly like a browser whose clock is fast; the page's fetcher returns the server's time
// with each token and the library's skew correction has to absorb the difference.
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemoServer, type DemoServer, type FaultKind } from '../../examples/server.mjs';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const VIEWPORT = { width: 1200, height: 800 };

export interface LogEntry {
  at: number;
  type: 'tokenUpdated' | 'tokenAboutToExpire' | 'tokenExpired' | 'error' | 'info';
  message: string;
  code?: string;
  source?: string;
  attempt?: number;
  retryInMs?: number;
  fingerprint?: string;
}

/** What demo.js puts on `window.demo`. */
interface DemoWindow {
  demo: {
    manager: { token?: string; state: string; identity?: string };
    clients: Array<{ name: string; token?: string; updates: number }>;
    log: LogEntry[];
    fingerprint(token: string | undefined): string;
    tabId: string;
  };
}

export interface DemoSnapshot {
  state: string;
  /** Fingerprint of the manager's token (the tests never need the token itself). */
  token?: string;
  identity?: string;
  clients: Array<{ name: string; token?: string; updates: number }>;
  log: LogEntry[];
  tabId: string;
  /** The page's (fake) Date.now(). */
  now: number;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

export async function startServer(): Promise<DemoServer> {
  return startDemoServer({ port: 0, quiet: true });
}

/**
 * A fresh browser context (its own storage, so its own BroadcastChannel and lock namespace) with Playwright's
 * fake clock installed at the real current time: page time and server time agree until a test moves the page's.
 * `clockOffsetMs` starts the page clock that far ahead (a machine whose clock is fast); time then flows naturally.
 */
export async function newDemoContext(browser: Browser, clockOffsetMs = 0): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.clock.install({ time: Date.now() + clockOffsetMs });
  return context;
}

const pageErrors = new WeakMap<Page, string[]>();

/** Uncaught exceptions and unhandled rejections seen in the page so far. */
export function errorsOf(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export function watchPage(page: Page): Page {
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (error) => errors.push(error.stack ?? error.message));
  return page;
}

/** Opens the demo and waits until the manager holds a token and every client has received it. */
export async function openDemo(context: BrowserContext, server: DemoServer, query = ''): Promise<Page> {
  const page = watchPage(await context.newPage());
  await page.goto(`${server.url}${query}`);
  await waitForSettled(page);
  return page;
}

/** Waits for a page opened by the demo itself (the "open another tab" button) to settle. */
export async function adoptPage(page: Page): Promise<Page> {
  watchPage(page);
  await page.waitForLoadState('domcontentloaded');
  await waitForSettled(page);
  return page;
}

export async function snapshot(page: Page): Promise<DemoSnapshot> {
  return page.evaluate(() => {
    const { demo } = window as unknown as DemoWindow;
    if (!demo) return { state: 'loading', clients: [], log: [], tabId: '', now: Date.now() };
    const token = demo.manager?.token;
    return {
      state: demo.manager?.state ?? 'no manager',
      token: token === undefined ? undefined : demo.fingerprint(token),
      identity: demo.manager?.identity,
      clients: demo.clients.map((c) => ({
        name: c.name,
        token: c.token === undefined ? undefined : demo.fingerprint(c.token),
        updates: c.updates,
      })),
      log: demo.log.map((entry) => ({ ...entry })),
      tabId: demo.tabId,
      now: Date.now(),
    };
  });
}

/** The manager holds a token, is `valid`, and every client holds that same token. */
export function isSettled(s: DemoSnapshot): boolean {
  return s.state === 'valid' && s.token !== undefined && s.clients.length === 3 && s.clients.every((c) => c.token === s.token);
}

export async function waitForSettled(page: Page, previousToken?: string, timeout = 15_000): Promise<DemoSnapshot> {
  return waitFor(
    () => snapshot(page),
    (s) => isSettled(s) && s.token !== previousToken,
    { timeout, what: previousToken ? 'a new token in the manager and all clients' : 'a token in the manager and all clients' },
  );
}

/**
 * Waits (in real time) until the server's clock has left the second of the last token it minted. The server is
 * honest and `iat` has second resolution: asked again within the same second it mints the very same token, which
 * the library rightly does not adopt again. The page clock can race minutes ahead; the server's cannot.
 */
export async function nextServerSecond(server: DemoServer): Promise<void> {
  const iat = server
    .stats()
    .recent.map((r) => r.iat)
    .filter((t): t is number => t !== undefined)
    .at(-1);
  if (iat === undefined) return;
  const wait = (iat + 1) * 1000 - Date.now();
  if (wait > 0) await sleep(wait + 5);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` (with Node's real timers: the page's are fake) until `accept` holds. */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeout = 10_000, interval = 50, what = 'condition' }: { timeout?: number; interval?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ${JSON.stringify(value, null, 1)}`);
    }
    await sleep(interval);
  }
}

/**
 * Moves the page clock forward in `step` ms slices (firing timers, like time passing quickly), letting real
 * network round trips finish between slices, until `accept` holds or `limitMs` of page time has gone by.
 * Slices stay well under the library's 10 s fetch timeout so a fetch in flight is never timed out by the jump.
 */
export async function advanceUntil<T>(
  page: Page,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { step = 2_000, limitMs = 60_000, what = 'condition' }: { step?: number; limitMs?: number; what?: string } = {},
): Promise<T> {
  let advanced = 0;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (advanced >= limitMs) {
      throw new Error(`still waiting for ${what} after ${advanced} ms of page time; last value: ${JSON.stringify(value, null, 1)}`);
    }
    await page.clock.runFor(step);
    advanced += step;
    await sleep(30);
  }
}

/** Runs the page clock (see {@link advanceUntil}) until the manager and every client hold a token other than `previous`. */
export async function advanceUntilSettled(page: Page, previous: string | undefined, what: string): Promise<DemoSnapshot> {
  return advanceUntil(page, () => snapshot(page), (s) => isSettled(s) && s.token !== previous, { what });
}

/**
 * The fault sequence of the demo tests: arms a fault with the page's own button (which arms `count` of it, as its
 * `data-count` says), waits until the server has them armed, and clicks "Refresh" so the next request meets the
 * fault. With `nextSecond` (the default) it first waits for the server's next second, so that the request that
 * finally succeeds mints a token the page does not hold yet; a fault that ends without a new token skips the wait.
 */
export async function refreshIntoFault(
  page: Page,
  server: DemoServer,
  fault: FaultKind,
  { count = 1, nextSecond = true }: { count?: number; nextSecond?: boolean } = {},
): Promise<void> {
  await page.click(`button[data-fault="${fault}"]`);
  await waitFor(() => server.stats().faults[fault], (n) => n === count, { what: 'the fault to be armed' });
  if (nextSecond) await nextServerSecond(server);
  await page.click('#btn-refresh');
}

/** Runs the page clock for `ms` in slices, with real pauses for network round trips. */
export async function runClock(page: Page, ms: number, step = 2_000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await page.clock.runFor(Math.min(step, ms - done));
    await sleep(30);
  }
}

export async function screenshot(page: Page, path: string): Promise<void> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  await page.screenshot({ path, animations: 'disabled' });
}

export const ofType = (log: LogEntry[], type: LogEntry['type']) => log.filter((entry) => entry.type === type);
