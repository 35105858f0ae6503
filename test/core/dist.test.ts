// @vitest-environment node
// The built files, not the TypeScript source, are what users import: load each format in plain Node.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../helpers/tokens.mjs';

const dist = resolve(__dirname, '../../dist');
const require = createRequire(import.meta.url);
const CORE_EXPORTS = ['AccessManager', 'AccessManagerError', 'decodeToken', 'isAccessManagerError'];

interface Core {
  AccessManager: new (options: object) => { token?: string; identity?: string; state: string; dispose(): void };
  decodeToken: (token: string) => { identity?: string };
}

function exercise(core: Core) {
  const token = mintToken({ identity: 'zoë' });
  expect(core.decodeToken(token).identity).toBe('zoë');
  const manager = new core.AccessManager({ token });
  expect(manager.identity).toBe('zoë');
  expect(manager.state).toBe('valid');
  manager.dispose();
  expect(manager.state).toBe('disposed');
}

describe('built package', () => {
  it('has every file of the exports map', () => {
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8'));
    const files: string[] = JSON.stringify(pkg.exports).match(/\.\/dist\/[^"]+/g) ?? [];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(existsSync(resolve(__dirname, '../..', file)), file).toBe(true);
  });

  it('loads the ESM entry', async () => {
    const core = await import(/* @vite-ignore */ `${dist}/index.mjs`);
    expect(Object.keys(core).sort()).toEqual(CORE_EXPORTS);
    exercise(core);
  });

  it('loads the CJS entry', () => {
    const core = require(`${dist}/index.cjs`);
    expect(Object.keys(core).sort()).toEqual(CORE_EXPORTS);
    exercise(core);
  });

  it('exposes window.TokenWarden from the UMD file, with eventemitter3 inlined', () => {
    const code = readFileSync(`${dist}/token-warden.umd.min.js`, 'utf8');
    expect(code).not.toMatch(/require\(["']eventemitter3/);
    const window: Record<string, unknown> = {};
    runInNewContext(code, { window, self: window, globalThis: window, Date, setTimeout, clearTimeout, atob, TextDecoder });
    const ns = (window as { TokenWarden?: Core }).TokenWarden ?? (runInNewContext(`${code};TokenWarden`, {}) as Core);
    expect(Object.keys(ns).sort()).toEqual(CORE_EXPORTS);
    exercise(ns);
  });

  it('keeps ky and the Twilio SDKs out of the core bundles', () => {
    for (const file of ['index.mjs', 'index.cjs', 'token-warden.umd.min.js']) {
      const code = readFileSync(`${dist}/${file}`, 'utf8');
      expect(code).not.toMatch(/from ['"]ky['"]|require\(['"]ky['"]\)/);
      expect(code).not.toMatch(/@twilio\/|twilio-sync|twilio-video/);
    }
  });
});
