// The token-warden demo server: mints real Twilio access tokens (offline, from fake credentials), serves the demo
// page and the built UMD bundle, and lets the page (or a test) inject faults into the token endpoint.
//
//   npm run demo                 # builds, then serves http://127.0.0.1:4173/
//   PORT=0 node examples/server.mjs   # any free port
//
// The server is deliberately honest about time: every token's `iat`/`exp` come from this process's Date.now(),
// and every token response carries the server's time (the `Date` header and, to the millisecond, `serverTime`
// in the JSON body), so a browser whose clock is off (or faked, as in the e2e tests) can correct for the skew.
// Like any Twilio token server, two requests for one identity within the same second get the very same token
// (`iat` has second resolution and `jti` is `<key sid>-<iat>`); the library then has nothing new to adopt.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../test/helpers/tokens.mjs';

const DEFAULT_TTL_S = 200; // with the default 180 s warning, the refresh comes ~20 s after each fetch
const MIN_TTL_S = 10;
const MAX_TTL_S = 86_400; // Twilio's limit (24 h)
const IDENTITY = /^[A-Za-z0-9_]{1,121}$/; // Voice identities: letters, digits and `_` only
const WRONG_IDENTITY = 'mallory';
const DEFAULT_SLOW_MS = 3_000;
const HANG_MS = 15_000; // longer than the library's default 10 s fetch timeout
const MAX_RECENT = 50;

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');

/** URL path → file on disk. A fixed list: nothing else on disk is reachable. */
const STATIC = {
  '/': join(here, 'index.html'),
  '/index.html': join(here, 'index.html'),
  '/demo.css': join(here, 'demo.css'),
  '/demo.js': join(here, 'demo.js'),
  '/dist/token-warden.umd.min.js': join(root, 'dist', 'token-warden.umd.min.js'),
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/** Fault counters: each applies to the next N token requests, in the order listed here. */
const FAULT_KINDS = ['unauthorized', 'fail500', 'malformed', 'wrongIdentity', 'slow', 'hang'];

function emptyFaults() {
  return { unauthorized: 0, fail500: 0, malformed: 0, wrongIdentity: 0, slow: 0, hang: 0, slowMs: DEFAULT_SLOW_MS };
}

/**
 * Mints a Twilio access token with Chat, Sync and Voice grants, issued now (server time), from the fake
 * credentials the tests use too: real format, no account behind them.
 */
export function mintDemoToken(identity, ttl = DEFAULT_TTL_S, at = Date.now()) {
  return mintToken({ identity, ttl, grants: ['chat', 'sync', 'voice'], at });
}

/**
 * Starts the demo server. Resolves once it listens.
 * @param {{ port?: number; host?: string; quiet?: boolean }} [options] `port: 0` picks a free port.
 */
export async function startDemoServer({ port = 4173, host = '127.0.0.1', quiet = false } = {}) {
  let fetches = 0;
  let faults = emptyFaults();
  let recent = [];

  const stats = () => ({ fetches, faults: { ...faults }, recent: recent.slice(), serverTime: Date.now() });
  const reset = () => {
    fetches = 0;
    faults = emptyFaults();
    recent = [];
  };
  /** Adds to the fault counters. Unknown keys and non-numbers are refused (returns an error message). */
  const addFaults = (input) => {
    for (const [key, value] of Object.entries(input)) {
      const n = Number(value);
      if (key === 'slowMs') {
        if (!Number.isInteger(n) || n < 0 || n > 60_000) return 'slowMs must be an integer between 0 and 60000';
        faults.slowMs = n;
      } else if (FAULT_KINDS.includes(key)) {
        if (!Number.isInteger(n) || n < 0 || n > 100) return `${key} must be an integer between 0 and 100`;
        faults[key] += n;
      } else {
        return `unknown fault "${key}" (known: ${FAULT_KINDS.join(', ')}, slowMs)`;
      }
    }
    return undefined;
  };
  const takeFault = () => {
    const kind = FAULT_KINDS.find((k) => faults[k] > 0);
    if (kind) faults[kind] -= 1;
    return kind;
  };

  const pendingTimers = new Set();
  const delay = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve();
      }, ms);
      pendingTimers.add(timer);
    });

  async function handleToken(req, res, url) {
    fetches += 1;
    const identity = url.searchParams.get('identity') ?? 'alice';
    const ttlParam = url.searchParams.get('ttl');
    const ttl = ttlParam === null ? DEFAULT_TTL_S : Number(ttlParam);
    const entry = {
      n: fetches,
      at: Date.now(),
      identity,
      reason: String(req.headers['x-fetch-reason'] ?? ''),
      attempt: Number(req.headers['x-fetch-attempt'] ?? 0) || undefined,
      tab: String(req.headers['x-tab-id'] ?? ''),
      outcome: 'ok',
    };
    recent = [...recent, entry].slice(-MAX_RECENT);

    if (!IDENTITY.test(identity)) {
      entry.outcome = 'badRequest';
      return sendJson(res, 400, { error: 'identity may contain only letters, digits and _ (1 to 121 characters)' });
    }
    if (!Number.isInteger(ttl) || ttl < MIN_TTL_S || ttl > MAX_TTL_S) {
      entry.outcome = 'badRequest';
      return sendJson(res, 400, { error: `ttl must be a whole number of seconds from ${MIN_TTL_S} to ${MAX_TTL_S}` });
    }

    const fault = takeFault();
    if (fault) entry.outcome = fault;
    if (fault === 'slow') await delay(faults.slowMs);
    if (fault === 'hang') await delay(HANG_MS);
    if (res.destroyed || req.destroyed) return undefined; // the browser gave up (fetch timeout)

    const mint = (who) => {
      // One clock reading for the token and for the stats: read twice, they could fall in different seconds.
      const at = Date.now();
      entry.iat = Math.floor(at / 1000);
      return mintDemoToken(who, ttl, at);
    };
    switch (fault) {
      case 'unauthorized':
        return sendJson(res, 401, { error: 'session expired: sign in again' });
      case 'fail500':
        return sendJson(res, 500, { error: 'injected failure' });
      case 'malformed':
        return sendJson(res, 200, { token: 'this-is.not-a.jwt', serverTime: Date.now() });
      case 'wrongIdentity':
        return sendJson(res, 200, { token: mint(WRONG_IDENTITY), serverTime: Date.now() });
      default:
        return sendJson(res, 200, { token: mint(identity), serverTime: Date.now() });
    }
  }

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { pathname } = url;
    const method = req.method ?? 'GET';

    if (pathname === '/token' && (method === 'GET' || method === 'POST')) return handleToken(req, res, url);
    if (pathname === '/stats' && method === 'GET') return sendJson(res, 200, stats());
    if (pathname === '/reset' && method === 'POST') {
      reset();
      return sendJson(res, 200, stats());
    }
    if (pathname === '/faults' && (method === 'GET' || method === 'POST')) {
      if (method === 'GET' && url.searchParams.size === 0) return sendJson(res, 200, { ...faults });
      const input = method === 'POST' ? await readJson(req) : Object.fromEntries(url.searchParams);
      if (input === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) {
        return sendJson(res, 400, { error: 'send a JSON object such as {"fail500": 3}' });
      }
      const problem = addFaults(input);
      if (problem) return sendJson(res, 400, { error: problem });
      return sendJson(res, 200, { ...faults });
    }

    const file = Object.hasOwn(STATIC, pathname) ? STATIC[pathname] : undefined;
    if (file && (method === 'GET' || method === 'HEAD')) {
      let body;
      try {
        body = await readFile(file);
      } catch {
        const hint = file.includes('dist') ? 'dist/ is missing: run `npm run build` first.' : 'file missing';
        return sendText(res, 503, hint);
      }
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
      });
      return res.end(method === 'HEAD' ? undefined : body);
    }
    if (file || ['/token', '/stats', '/reset', '/faults'].includes(pathname)) return sendText(res, 405, 'method not allowed');
    return sendText(res, 404, 'not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!quiet) console.error('token-warden demo:', error);
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const url = `http://${host}:${address.port}/`;
  if (!quiet) console.log(`token-warden demo: ${url}`);

  return {
    url,
    port: address.port,
    /** `{ fetches, faults, recent, serverTime }`: a snapshot. */
    stats,
    /** Adds fault counters, as `POST /faults` does. Throws on unknown keys. */
    faults(input) {
      const problem = addFaults(input);
      if (problem) throw new TypeError(problem);
    },
    reset,
    close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    // Node sets Date too; stated here because clients use it for clock-skew correction.
    Date: new Date().toUTCString(),
  });
  res.end(text);
}

function sendText(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) return undefined;
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
  const port = process.env.PORT === undefined || process.env.PORT === '' ? 4173 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`token-warden demo: PORT must be a port number, got "${process.env.PORT}"`);
    process.exit(1);
  }
  const demo = await startDemoServer({ port }).catch((error) => {
    console.error(`token-warden demo: cannot listen on 127.0.0.1:${port}: ${error.message}`);
    process.exit(1);
  });
  const stop = () => demo.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
