// Stands in for `fast-check` under mutation testing only (stryker.vitest.config.ts aliases it). Each mutant runs
// every test that reaches it, and a mutant in module-level code (a table, a constant) runs them all: there the
// async properties (random timelines and scenarios, a few ms per case) are most of the time. A mutant that breaks
// an invariant shows within the first cases, so here an async property stops after TIME_LIMIT_MS of cases and
// passes if none failed; its `examples` run first. Synchronous properties are fast and run in full (some check how
// many of their cases were accepted).
import * as real from '../../node_modules/fast-check/lib/fast-check.js';

export * from '../../node_modules/fast-check/lib/fast-check.js';

const TIME_LIMIT_MS = 500;

export const assert = ((property: Parameters<typeof real.assert>[0], params?: Parameters<typeof real.assert>[1]) =>
  real.assert(
    property,
    property.isAsync() ? { ...params, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } : params,
  )) as typeof real.assert;

export default { ...real.default, assert };
