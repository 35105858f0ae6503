// The vitest configuration Stryker runs each mutant against (stryker.config.mjs): the `unit` project of
// vitest.config.ts without the type tests (tsc does not run mutated code) and without the tests that load dist/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/**/dist.test.ts', 'test/size.test.ts', 'node_modules/**'],
    environment: 'happy-dom',
  },
});
