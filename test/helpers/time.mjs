// Durations in milliseconds, and the moment every manual clock starts at, for the tests, the benchmarks and the
// demo alike. Plain JavaScript (typed by time.d.mts) so that plain Node can import it too.

export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

/** 23 November 2026, 12:00 UTC: where a `ManualClock` starts unless told otherwise. */
export const START = Date.UTC(2026, 10, 23, 12, 0, 0);
