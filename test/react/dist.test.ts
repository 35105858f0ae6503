// The built files, as a user's bundler or Node loads them (run `npm run build` first; `npm test` does):
// dist/react.mjs and dist/react.cjs render with real React and the built core, React stays external to them,
// and the core bundles never contain or load React (it is an optional peer of `token-warden/react` only).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../helpers/tokens.mjs';
import { mount, step, unmountAll } from './render.js';

// happy-dom (React renders into its document) gives `import.meta.url` no file path: resolve from __dirname.
const dist = (file: string) => resolve(__dirname, '../../dist', file);
const require = createRequire(dist('index.cjs'));

type ReactEntry = typeof import('../../src/react/index.js');
type CoreEntry = typeof import('../../src/index.js');

afterEach(unmountAll);

/** A component with both hooks over a manager of the built core: it follows an `updateToken` and unsubscribes. */
async function renderWith(core: CoreEntry, react: ReactEntry): Promise<void> {
  const first = mintToken({ identity: 'zoë' });
  const manager = new core.AccessManager({ token: first });
  let renders = 0;
  function Status({ source }: { source: InstanceType<CoreEntry['AccessManager']> }) {
    renders++;
    const { state, identity } = react.useAccessManager(source);
    const token = react.useToken(source);
    return createElement('output', null, `${identity} ${state} ${token === first ? 'first' : 'second'}`);
  }
  try {
    const view = await mount(Status, { source: manager });
    expect(view.text()).toBe('zoë valid first');
    await step(() => manager.updateToken(mintToken({ identity: 'zoë', ttl: 3601 })));
    expect(view.text()).toBe('zoë valid second');
    expect(renders).toBe(2);
    await view.unmount();
    manager.dispose();
    expect(renders).toBe(2);
  } finally {
    manager.dispose();
  }
}

describe('dist/react', () => {
  it('dist/react.mjs renders with React and dist/index.mjs', async () => {
    const react = (await import(/* @vite-ignore */ dist('react.mjs'))) as ReactEntry;
    expect(Object.keys(react).sort()).toEqual(['useAccessManager', 'useToken']);
    await renderWith((await import(/* @vite-ignore */ dist('index.mjs'))) as CoreEntry, react);
  });

  it('dist/react.cjs renders with React and dist/index.cjs', async () => {
    const react = require(dist('react.cjs')) as ReactEntry;
    expect(Object.keys(react).sort()).toEqual(['useAccessManager', 'useToken']);
    await renderWith(require(dist('index.cjs')) as CoreEntry, react);
  });

  it('keeps React external to the react entry: imported, never inlined', () => {
    expect(readFileSync(dist('react.mjs'), 'utf8')).toMatch(/from ['"]react['"]/);
    expect(readFileSync(dist('react.cjs'), 'utf8')).toMatch(/require\(['"]react['"]\)/);
    for (const file of ['react.mjs', 'react.cjs']) {
      expect(readFileSync(dist(file), 'utf8'), file).not.toMatch(/__SECRET_INTERNALS|ReactSharedInternals|react\.development/);
    }
  });

  it('keeps React out of the core bundles', () => {
    for (const file of ['index.mjs', 'index.cjs', 'token-warden.umd.min.js']) {
      expect(readFileSync(dist(file), 'utf8'), file).not.toMatch(/from\s*['"]react|require\(['"]react|useSyncExternalStore/);
    }
  });

  it('declares no React types, so apps without @types/react type-check it too', () => {
    for (const file of ['react.d.mts', 'react.d.cts']) {
      expect(readFileSync(dist(file), 'utf8'), file).not.toMatch(/from ['"]react|@types\/react/);
    }
  });
});
