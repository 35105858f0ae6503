// Cross-tab coordination in a real browser: Debian's Chromium (through playwright-core) opens pages of one
// origin, each loading the built UMD file and creating `new TokenWarden.AccessManager({ crossTab: true, ... })`,
// so the real BroadcastChannel and Web Locks do the work. A tiny node:http server in this process serves the page
// and a /token endpoint that mints real Twilio tokens, counts fetches and can hold one back.
//
// Time is real: 6 s tokens refreshed 3.5 s before expiry give a new lifetime every 1.5-2.5 s (`iat` has second
// resolution). Page and server share this machine's clock, so no skew is involved.
// `npm test` builds dist/ first; on its own, run `npm run build` before this file.
import { existsSync, readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../helpers/tokens.mjs';
import { CHROMIUM_ARGS } from './support.js';

const TTL_S = 6;
const ABOUT_TO_EXPIRE_MS = 3500;
const UMD = resolve(import.meta.dirname, '../../dist/token-warden.umd.min.js');

/** One request to /token. */
interface TokenRequest {
  tab: string;
  at: number;
  /** Set once the response was sent. */
  token?: string;
  /** The page went away before the (held back) response was sent. */
  aborted: boolean;
}

interface PageState {
  token?: string;
  state: string;
  updates: Array<{ token: string; source: string; at: number }>;
  errors: string[];
  /** ms from the script's start to its first token. */
  firstTokenAfterMs?: number;
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>token-warden cross-tab</title></head>
<body>
<script src="/token-warden.umd.min.js"></script>
<script>
  const started = performance.now();
  const tab = new URLSearchParams(location.search).get('tab');
  const probe = (window.probe = { updates: [], errors: [], firstTokenAfterMs: undefined });
  const manager = (window.manager = new TokenWarden.AccessManager({
    crossTab: true,
    aboutToExpireMs: ${ABOUT_TO_EXPIRE_MS},
    fetchToken: async ({ signal }) => {
      const response = await fetch('/token?tab=' + tab, { signal, cache: 'no-store' });
      if (!response.ok) throw Object.assign(new Error('HTTP ' + response.status), { status: response.status });
      return response.text();
    },
  }));
  manager.on('tokenUpdated', (info) => {
    probe.firstTokenAfterMs ??= performance.now() - started;
    probe.updates.push({ token: info.token, source: info.source, at: Date.now() });
  });
  manager.on('error', (error) => probe.errors.push(error.code + ': ' + error.message));
</script>
</body></html>`;

function startServer() {
  const requests: TokenRequest[] = [];
  /** Holds back the next /token response this long. */
  let holdNextMs = 0;
  const umd = readFileSync(UMD);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE_HTML);
    } else if (url.pathname === '/token-warden.umd.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(umd);
    } else if (url.pathname === '/token') {
      const request: TokenRequest = { tab: url.searchParams.get('tab') ?? '?', at: Date.now(), aborted: false };
      requests.push(request);
      const hold = holdNextMs;
      holdNextMs = 0;
      const timer = setTimeout(() => {
        request.token = mintToken({ identity: 'alice', ttl: TTL_S });
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(request.token);
      }, hold);
      res.on('close', () => {
        if (!res.writableEnded) {
          request.aborted = true;
          clearTimeout(timer);
        }
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return {
    requests,
    holdNext(ms: number) {
      holdNextMs = ms;
    },
    async listen(): Promise<string> {
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeout = 8000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

const stateOf = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const w = window as unknown as {
      manager?: { token?: string; state: string };
      probe?: { updates: PageState['updates']; errors: string[]; firstTokenAfterMs?: number };
    };
    return {
      token: w.manager?.token,
      state: w.manager?.state ?? 'loading',
      updates: w.probe?.updates ?? [],
      errors: w.probe?.errors ?? [],
      firstTokenAfterMs: w.probe?.firstTokenAfterMs,
    };
  });

let browser: Browser;
let context: BrowserContext;
let server: ReturnType<typeof startServer>;
let origin: string;
const pageErrors: string[] = [];
const tabs = new Map<string, Page>();

async function openTab(name: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  tabs.set(name, page);
  await page.goto(`${origin}/?tab=${name}`);
  return page;
}

/** Every open tab's state, by name. */
async function states(): Promise<Map<string, PageState>> {
  const entries = await Promise.all([...tabs].map(async ([name, page]) => [name, await stateOf(page)] as const));
  return new Map(entries);
}

/** Waits until every open tab holds `token` (or, without one, the same token) and returns their states. */
async function allOn(token: string | undefined, what: string): Promise<Map<string, PageState>> {
  return until(
    states,
    (all) => {
      const held = [...all.values()].map((s) => s.token);
      return held.every((t) => t !== undefined && t === (token ?? held[0]));
    },
    what,
  );
}

const served = () => server.requests.filter((r) => r.token !== undefined);

beforeAll(async () => {
  if (!existsSync(UMD)) throw new Error(`${UMD} is missing: run \`npm run build\` first.`);
  server = startServer();
  [origin, browser] = await Promise.all([
    server.listen(),
    chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    }),
  ]);
  // One context: one origin's storage partition, hence one BroadcastChannel namespace and one lock manager.
  context = await browser.newContext();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

describe('three pages of one origin (crossTab: true, real Chromium)', () => {
  it('share exactly one fetch per token lifetime, bootstrap a fourth page from peers, survive the lock holder closing mid-fetch', async () => {
    // --- three pages opened at once: one fetch between them
    await Promise.all(['1', '2', '3'].map(openTab));
    let all = await allOn(undefined, 'a token in pages 1-3');
    expect(server.requests).toHaveLength(1);
    const first = served()[0]!;
    for (const [name, s] of all) {
      expect(s.token, name).toBe(first.token);
      expect(s.updates.map((u) => u.source), name).toEqual([name === first.tab ? 'fetch' : 'peer']);
    }

    // --- two more lifetimes: each one fetch, by one page, adopted by the other two
    for (let lifetime = 1; lifetime <= 2; lifetime++) {
      const previous = served().at(-1)!.token!;
      await until(async () => served().length, (n) => n === 1 + lifetime, `the fetch of lifetime ${lifetime}`, 6000);
      const fetched = served().at(-1)!;
      expect(fetched.token).not.toBe(previous);
      all = await allOn(fetched.token, `lifetime ${lifetime}'s token in pages 1-3`);
      await sleep(300); // a second fetch for this lifetime would come within milliseconds: none does
      expect(server.requests, `fetches after lifetime ${lifetime}`).toHaveLength(1 + lifetime);
      for (const [name, s] of all) {
        expect(s.updates.at(-1), name).toMatchObject({ token: fetched.token, source: name === fetched.tab ? 'fetch' : 'peer' });
      }
    }

    // --- a fourth page, opened early in a lifetime: takes its peers' token without fetching
    const before = server.requests.length;
    const current = served().at(-1)!.token!;
    await openTab('4');
    const fourth = await until(() => stateOf(tabs.get('4')!), (s) => s.token !== undefined, 'a token in page 4');
    expect(fourth.token).toBe(current);
    expect(fourth.updates).toMatchObject([{ token: current, source: 'peer' }]);
    expect(fourth.firstTokenAfterMs).toBeLessThan(200);
    expect(server.requests).toHaveLength(before);
    expect(server.requests.some((r) => r.tab === '4')).toBe(false);

    // --- the next refresh is held back at the server; the page holding the lock closes mid-fetch
    server.holdNext(10_000);
    const held = await until(async () => server.requests.length, (n) => n === before + 1, 'the held-back fetch', 6000).then(
      () => server.requests.at(-1)!,
    );
    const holder = held.tab;
    await tabs.get(holder)!.close();
    tabs.delete(holder);
    // The browser releases the closed page's lock; the next page in line finds no newer token and fetches; the
    // remaining pages all adopt that one token.
    const takeover = await until(async () => served().at(-1)!, (r) => r !== undefined && r.at > held.at, 'the takeover fetch', 4000);
    expect(takeover.tab).not.toBe(holder);
    all = await allOn(takeover.token, 'the takeover token in the remaining pages');
    await sleep(300);
    expect(held.aborted).toBe(true);
    expect(held.token).toBeUndefined();
    expect(server.requests).toHaveLength(before + 2);
    expect(served().filter((r) => r.at >= held.at)).toEqual([takeover]);
    expect(all.size).toBe(3);
    for (const [name, s] of all) {
      expect(s.updates.at(-1), name).toMatchObject({ token: takeover.token, source: name === takeover.tab ? 'fetch' : 'peer' });
      expect(s.errors, name).toEqual([]);
      // 'refreshing' when its own queued refresh has not yet reached the lock to find the token already there.
      expect(['valid', 'aboutToExpire', 'refreshing'], name).toContain(s.state);
    }
    expect(pageErrors).toEqual([]);
  });
});
