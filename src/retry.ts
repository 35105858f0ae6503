/** Resolved backoff settings. */
export interface RetryPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
}

/** The longest wait a server's `Retry-After` (a failure's `retryAfterMs`) may impose: 10 minutes. */
export const MAX_RETRY_AFTER_MS = 600_000;

export const DEFAULT_RETRY: RetryPolicy = { minDelayMs: 1000, maxDelayMs: 30_000, factor: 2 };

/** Upper bound of the delay after the `failures`-th consecutive failure: min(max, min * factor^(failures-1)). */
export function backoffCap(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** Math.max(0, failures - 1));
}

/**
 * Full jitter (a random delay in [0, cap]): clients that failed together do not retry together, which is what
 * keeps many tabs or devices from hammering a recovering token endpoint in lockstep.
 */
export function retryDelay(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  return Math.round(random() * backoffCap(policy, failures));
}
