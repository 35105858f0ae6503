// Browser bundles for the real-SDK tests, made with rollup from node_modules exactly as an app's bundler would:
// - the three Twilio SDKs (their package "browser" entries), as one IIFE exposing `window.RealSdks`. This takes a
//   few seconds, so it is cached under node_modules/.cache, keyed by the installed versions;
// - the built token-warden (dist/index.mjs and dist/twilio.mjs, what `token-warden` and `token-warden/twilio`
//   resolve to) with eventemitter3, as an IIFE exposing `window.TokenWardenE2E`. Always rebuilt: dist/ changes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import commonjs from '@rollup/plugin-commonjs';
import nodeResolve from '@rollup/plugin-node-resolve';
import { type Plugin, type RollupLog, rollup } from 'rollup';

const ROOT = resolve(import.meta.dirname, '../../..');
const CACHE_DIR = resolve(ROOT, 'node_modules/.cache/token-warden-e2e');

/** The SDK packages bundled, and the packages whose version decides whether the cached bundle is still good. */
const SDK_ENTRY = `
export { Client as ConversationsClient } from '@twilio/conversations';
export { SyncClient } from 'twilio-sync';
export { Device } from '@twilio/voice-sdk';
`;
const VERSIONED = ['@twilio/conversations', 'twilio-sync', '@twilio/voice-sdk', 'twilsock', 'rollup'];

const TOKEN_WARDEN_ENTRY = `
export { AccessManager } from 'token-warden';
export { connectTwilioClient } from 'token-warden/twilio';
`;

function version(name: string): string {
  // Read from node_modules directly: some packages do not export their package.json.
  const file = resolve(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** A virtual entry module, plus `token-warden` subpaths pointing at the built files. */
function entry(code: string): Plugin {
  return {
    name: 'e2e-entry',
    resolveId(id) {
      if (id === '\0entry') return id;
      if (id === 'token-warden') return resolve(ROOT, 'dist/index.mjs');
      if (id === 'token-warden/twilio') return resolve(ROOT, 'dist/twilio.mjs');
      return null;
    },
    load(id) {
      return id === '\0entry' ? code : null;
    },
  };
}

// The SDKs are large CommonJS builds: circular imports and top-level `this` are theirs, not ours.
const QUIET = new Set(['CIRCULAR_DEPENDENCY', 'THIS_IS_UNDEFINED', 'EVAL', 'SOURCEMAP_ERROR']);

async function bundle(code: string, name: string, treeshake = true): Promise<string> {
  const build = await rollup({
    input: '\0entry',
    treeshake,
    plugins: [entry(code), nodeResolve({ browser: true, preferBuiltins: false, rootDir: ROOT }), commonjs()],
    onwarn(warning: RollupLog, warn) {
      if (!QUIET.has(warning.code ?? '')) warn(warning);
    },
  });
  try {
    const { output } = await build.generate({ format: 'iife', name });
    return output[0].code;
  } finally {
    await build.close();
  }
}

/** `window.RealSdks = { ConversationsClient, SyncClient, Device }`, from the cache when the versions match. */
export async function sdkBundle(): Promise<string> {
  const key = createHash('sha256')
    .update(VERSIONED.map((name) => `${name}@${version(name)}`).join('\n') + SDK_ENTRY)
    .digest('hex')
    .slice(0, 16);
  const file = resolve(CACHE_DIR, `real-sdks-${key}.js`);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  // Without tree-shaking: a third faster on 2 MB of SDK code, and removing unused code changes nothing that runs.
  const code = await bundle(SDK_ENTRY, 'RealSdks', false);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(file, code);
  return code;
}

/** `window.TokenWardenE2E = { AccessManager, connectTwilioClient }`, from the built dist/ files. */
export async function tokenWardenBundle(): Promise<string> {
  for (const file of ['dist/index.mjs', 'dist/twilio.mjs']) {
    if (!existsSync(resolve(ROOT, file))) throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  return bundle(TOKEN_WARDEN_ENTRY, 'TokenWardenE2E');
}

/** The SDK versions under test, for messages and docs. */
export function sdkVersions(): Record<string, string> {
  return Object.fromEntries(VERSIONED.filter((name) => name !== 'rollup').map((name) => [name, version(name)]));
}
