import { defineConfig } from 'vitest/config';

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
