// @vitest-environment node
// The built files, as a user's Node or bundler loads them (run `npm run build` first; `npm test` does):
// dist/http.mjs and dist/http.cjs export the helpers and work against a real server with the built core, and the
// core bundles never contain or load ky (it is an optional peer of `token-warden/http` only).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../helpers/tokens.mjs';
import { KY_VERSIONS, type KyUnderTest } from './ky-under-test.js';
import { sendJson, startServer, type TestServer } from './server.js';

const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const require = createRequire(import.meta.url);

interface HttpEntry {
  createTokenFetcher: typeof import('../../src/http/index.js').createTokenFetcher;
  authorizedKy: typeof import('../../src/http/index.js').authorizedKy;
}
interface CoreEntry {
  AccessManager: typeof import('../../src/index.js').AccessManager;
}

let server: TestServer;
let t1: string;
let t2: string;

beforeAll(async () => {
  t1 = mintToken();
  t2 = mintToken({ at: Date.now() + 2000 });
  server = await startServer((req, res) => {
    if (req.url === '/token') return sendJson(res, 200, { accessToken: t2 });
    const ok = req.headers.authorization === `Bearer ${t2}`;
    sendJson(res, ok ? 200 : 401, { ok });
  });
});
afterAll(async () => {
  await server.close();
});

/** Runs the built entries through a whole 401 → refresh → retry round with `ky` itself, or the given ky. */
async function roundTrip(core: CoreEntry, http: HttpEntry, given?: KyUnderTest): Promise<void> {
  const manager = new core.AccessManager({
    token: t1,
    fetchToken: http.createTokenFetcher(`${server.origin}/token`, given && { ky: given.ky }),
    retry: { minDelayMs: 1, maxDelayMs: 5 },
  });
  try {
    const api = given ? http.authorizedKy(manager, given.ky) : http.authorizedKy(manager);
    expect(await api.get(`${server.origin}/api/me`).json()).toEqual({ ok: true });
    expect(manager.token).toBe(t2);
  } finally {
    manager.dispose();
  }
}

describe('dist/http', () => {
  it('dist/http.mjs exports the helpers and works with dist/index.mjs', async () => {
    const http = (await import(dist('http.mjs'))) as HttpEntry;
    expect(Object.keys(http).sort()).toEqual(['authorizedKy', 'createTokenFetcher']);
    await roundTrip((await import(dist('index.mjs'))) as CoreEntry, http);
  });

  it('dist/http.cjs exports the helpers and works with dist/index.cjs (ky is ESM-only)', async () => {
    const http = require(dist('http.cjs')) as HttpEntry;
    expect(Object.keys(http).sort()).toEqual(['authorizedKy', 'createTokenFetcher']);
    await roundTrip(require(dist('index.cjs')) as CoreEntry, http);
  });

  it.each(KY_VERSIONS)('dist/http.mjs works with an instance of $name', async (given) => {
    const http = (await import(dist('http.mjs'))) as HttpEntry;
    await roundTrip((await import(dist('index.mjs'))) as CoreEntry, http, given);
  });

  it('both load in plain Node, outside the test runner', () => {
    const script = `
      import { createRequire } from 'node:module';
      const esm = await import(${JSON.stringify(dist('http.mjs'))});
      const cjs = createRequire(import.meta.url)(${JSON.stringify(dist('http.cjs'))});
      const manager = { token: undefined, getToken: async () => 't', refresh: async () => 't' };
      const shape = (m) => [Object.keys(m).sort().join(), typeof m.authorizedKy(manager).get, typeof m.createTokenFetcher('/t')];
      console.log(JSON.stringify({ esm: shape(esm), cjs: shape(cjs) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const expected = ['authorizedKy,createTokenFetcher', 'function', 'function'];
    expect(JSON.parse(out)).toEqual({ esm: expected, cjs: expected });
  });

  it('keeps ky external in the http bundles and declarations', () => {
    for (const file of ['http.mjs', 'http.cjs']) {
      const code = readFileSync(dist(file), 'utf8');
      expect(code, file).toMatch(/from 'ky'|require\('ky'\)/);
      expect(code, file).not.toMatch(/class (HTTPError|Ky|TimeoutError)\b/);
    }
    for (const file of ['http.d.mts', 'http.d.cts']) {
      const types = readFileSync(dist(file), 'utf8');
      expect(types, file).toMatch(/from 'ky'/);
      // A structural TokenProvider, never a copy of the AccessManager class (it would not accept the real one).
      expect(types, file).not.toMatch(/class AccessManager\b/);
      expect(types, file).toMatch(/interface TokenProvider\b/);
    }
  });
});

describe('the core bundles do not contain ky', () => {
  it.each(['index.mjs', 'index.cjs', 'token-warden.umd.min.js', 'index.d.mts', 'index.d.cts'])('%s', (file) => {
    const code = readFileSync(dist(file), 'utf8');
    // Neither loaded (ESM import, require, dynamic import, UMD/AMD dependency) ...
    expect(code).not.toMatch(/(from|import|require|define)\s*\(?\s*\[?[^)\]]*['"]ky['"]/);
    expect(code).not.toMatch(/\bglobal(This)?\.ky\b/);
    // ... nor inlined: ky's classes, option types and error text.
    expect(code).not.toMatch(/class (HTTPError|TimeoutError|ForceRetryError|Ky)\b/);
    expect(code).not.toMatch(/KyOptions|KyInstance|Request failed with/);
  });
});
