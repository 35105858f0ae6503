// The vitest configuration Stryker runs each mutant against (stryker.config.mjs): the `unit` project of
// vitest.config.ts without the type tests (tsc does not run mutated code) and without the tests that load dist/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/**/dist.test.ts', 'test/size.test.ts', 'test/core/umd-emitter.test.ts', 'node_modules/**'],
    environment: 'happy-dom',
  },
  resolve: {
    // Fewer random cases per property (see the file): mutants of module-level code run every test.
    alias: [{ find: /^fast-check$/, replacement: fileURLToPath(new URL('./test/helpers/fast-check-capped.ts', import.meta.url)) }],
  },
});
