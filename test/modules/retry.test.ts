// @vitest-environment node
// Backoff arithmetic alone: the cap after n failures and the full-jitter draw within it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY, backoffCap, retryDelay } from '../../src/retry.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('retry policy', () => {
  it('defaults: 1 s, doubling, at most 30 s', () => {
    expect(DEFAULT_RETRY).toEqual({ minDelayMs: 1000, maxDelayMs: 30_000, factor: 2 });
  });

  it.each([
    [0, 1000],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [5, 16_000],
    [6, 30_000],
    [1000, 30_000],
  ])('backoffCap after %i failures = %i', (failures, cap) => {
    expect(backoffCap(DEFAULT_RETRY, failures)).toBe(cap);
  });

  it('factor 1 keeps the cap at minDelayMs; minDelayMs 0 keeps it at 0', () => {
    expect(backoffCap({ minDelayMs: 700, maxDelayMs: 5000, factor: 1 }, 9)).toBe(700);
    expect(backoffCap({ minDelayMs: 0, maxDelayMs: 5000, factor: 2 }, 9)).toBe(0);
  });

  it.each([
    [0, 1, 0],
    [0.5, 1, 500],
    [0.9996, 1, 1000],
    [0.25, 4, 2000],
    [0.999, 100, 29_970],
  ])('retryDelay with random %d after %i failures = %i (rounded)', (draw, failures, delay) => {
    expect(retryDelay(DEFAULT_RETRY, failures, () => draw)).toBe(delay);
  });

  it('draws from Math.random by default, looked up at call time', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    expect(retryDelay(DEFAULT_RETRY, 3)).toBe(1000);
  });
});
