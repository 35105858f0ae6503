/** One second, in ms. */
export declare const SEC: number;
/** One minute, in ms. */
export declare const MIN: number;
/** One hour, in ms. */
export declare const HOUR: number;
/** One day, in ms. */
export declare const DAY: number;
/** 23 November 2026, 12:00 UTC (ms since the epoch): where a `ManualClock` starts unless told otherwise. */
export declare const START: number;
