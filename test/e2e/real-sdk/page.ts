// Opens a page with the real SDKs, the built token-warden and the harness, in a fresh browser context whose
// Twilio WebSockets are answered by the stand-ins and whose other network requests fail (no internet here; the
// Voice SDK's insights publisher, for one, tries). The page lives on a routed https origin so it is a secure
// context, like a deployed app.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { mintToken } from '../../helpers/tokens.mjs';
import { CHROMIUM_ARGS } from '../support.js';
import { sdkBundle, tokenWardenBundle } from './bundle.js';
import { TwilsockStandIn } from './twilsock-stand-in.js';
import { VoiceStandIn } from './voice-stand-in.js';

export { CHROMIUM_ARGS };

export const ORIGIN = 'https://app.token-warden.test';
export const IDENTITY = 'alice';

const HARNESS = readFileSync(resolve(import.meta.dirname, 'harness.js'), 'utf8');
const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>token-warden with the real Twilio SDKs</title></head>
<body>
<script src="/real-sdks.js"></script>
<script src="/token-warden.js"></script>
<script src="/harness.js"></script>
</body></html>`;

export interface Bundles {
  sdks: string;
  tokenWarden: string;
}

export async function loadBundles(): Promise<Bundles> {
  const [sdks, tokenWarden] = await Promise.all([sdkBundle(), tokenWardenBundle()]);
  return { sdks, tokenWarden };
}

export interface RealSdkPage {
  context: BrowserContext;
  page: Page;
  twilsock: TwilsockStandIn;
  voice: VoiceStandIn;
  /** Tokens handed to the page, in order (the first is the manager's initial token). */
  minted: string[];
  /** Uncaught errors and unhandled rejections in the page. */
  pageErrors: string[];
}

export interface PageOptions {
  /**
   * Lifetime in seconds of the n-th token handed to the page (0: the manager's initial token). Default
   * `3600 + n`: one more second than the one before, so each token is a distinct string and newer than every
   * earlier one (the `iat` has second resolution, the `exp` keeps growing).
   */
  ttlSeconds?: (n: number) => number;
}

function tokenMinter(minted: string[], ttlSeconds: (n: number) => number) {
  return () => {
    const ttl = ttlSeconds(minted.length);
    const token = mintToken({ identity: IDENTITY, ttl, grants: ['chat', 'sync', 'voice'] });
    minted.push(token);
    return token;
  };
}

export async function openRealSdkPage(browser: Browser, bundles: Bundles, options: PageOptions = {}): Promise<RealSdkPage> {
  const { ttlSeconds = (n) => 3600 + n } = options;
  const context = await browser.newContext();
  const twilsock = new TwilsockStandIn(IDENTITY);
  const voice = new VoiceStandIn();
  const minted: string[] = [];
  const pageErrors: string[] = [];
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html', body: HTML },
    '/real-sdks.js': { type: 'text/javascript', body: bundles.sdks },
    '/token-warden.js': { type: 'text/javascript', body: bundles.tokenWarden },
    '/harness.js': { type: 'text/javascript', body: HARNESS },
  };
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    const file = url.origin === ORIGIN ? files[url.pathname] : undefined;
    if (file) return route.fulfill({ status: 200, contentType: file.type, body: file.body });
    return route.abort('internetdisconnected');
  });
  await Promise.all([twilsock.install(context), voice.install(context)]);
  await context.exposeFunction('mintToken', tokenMinter(minted, ttlSeconds));
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => 'harness' in window);
  return { context, page, twilsock, voice, minted, pageErrors };
}
