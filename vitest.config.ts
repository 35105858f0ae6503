import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// React 18 lives in test/react18/node_modules (test/react18/package.json, a `file:` devDependency, so `npm ci`
// installs it): there react-dom 18 finds react 18 beside it, away from the root's React 19.
const react18 = fileURLToPath(new URL('./test/react18/node_modules/', import.meta.url));

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'node_modules/**'],
          environment: 'happy-dom',
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
          provide: { reactMajor: 19 },
        },
      },
      {
        // The hook tests once more, with `react`, `react-dom` and their subpaths (`react-dom/client`, ...) resolving
        // to React 18, for the tests and for src/react alike.
        test: {
          name: 'react18',
          include: ['test/react/hooks.test.ts', 'test/react/version.test.ts'],
          environment: 'happy-dom',
          provide: { reactMajor: 18 },
        },
        resolve: {
          alias: [{ find: /^(react|react-dom)(\/.*)?$/, replacement: `${react18}$1$2` }],
        },
      },
      {
        // The http helpers' type tests once more, with `ky` resolving to ky 1's declarations.
        test: {
          name: 'types-ky1',
          typecheck: {
            enabled: true,
            only: true,
            include: ['test/http/*.test-d.ts'],
            tsconfig: './test/http/tsconfig.ky1.json',
          },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
