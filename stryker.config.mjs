// Mutation testing (`npm run test:mutation`); docs/testing.md says how to read and extend it.
// Not part of `npm test` or CI: a full run takes hours on two cores. Run it per module:
//   npm run test:mutation -- --mutate src/retry.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The unit tests only, without type tests and without the tests that load dist/ (they would test the build,
  // not the mutated source): see stryker.vitest.config.ts.
  vitest: { configFile: 'stryker.vitest.config.ts', related: false },
  // Each mutant runs only the tests that reached it.
  coverageAnalysis: 'perTest',
  mutate: ['src/**/*.ts', '!src/**/index.ts', '!src/types.ts'],
  // The state of the last runs, committed: a rerun only tests mutants of changed code or whose tests changed.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // Two cores shared with the rest of the machine.
  concurrency: 2,
  // The tests that use the manual clock are fast; a mutant that makes one loop is a timeout, counted as killed.
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 90, low: 80, break: null },
  ignoreStatic: false,
};
