// @vitest-environment node
// When the automatic refresh starts, alone: open/fetched/due/cancel on plain numbers, and the storm guard's hold
// growing on the backoff caps (1 s, 2 s, 4 s, ... 30 s with the default policy) while fetched tokens keep
// arriving inside their window.
import { describe, expect, it } from 'vitest';
import { createAutoRefresh } from '../../src/auto-refresh.js';
import { DEFAULT_RETRY } from '../../src/retry.js';

const T = 1_000_000;

describe('createAutoRefresh: arming', () => {
  it('starts with nothing armed', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    expect(auto.nextDeadline()).toBeUndefined();
    expect(auto.due(Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('open(now) arms for now; due is true once, at or after it, then disarmed', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.open(T);
    expect(auto.nextDeadline()).toBe(T);
    expect(auto.due(T - 1)).toBe(false);
    expect(auto.nextDeadline()).toBe(T);
    expect(auto.due(T)).toBe(true);
    expect(auto.nextDeadline()).toBeUndefined();
    expect(auto.due(T)).toBe(false);
  });

  it('a late check still finds it due', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.open(T);
    expect(auto.due(T + 3_600_000)).toBe(true);
  });

  it('opening again re-arms for the later moment', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.open(T);
    auto.open(T + 500);
    expect(auto.nextDeadline()).toBe(T + 500);
  });

  it('cancel() disarms', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.open(T);
    auto.cancel();
    expect(auto.nextDeadline()).toBeUndefined();
    expect(auto.due(T + 1)).toBe(false);
  });
});

describe('createAutoRefresh: the storm guard', () => {
  it('a fetched token outside its window arms nothing and holds nothing', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, false, false);
    expect(auto.nextDeadline()).toBeUndefined();
    auto.open(T + 10);
    expect(auto.nextDeadline()).toBe(T + 10);
  });

  it('a fetched token inside its window holds the next open() back by the first backoff cap', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, true, false);
    // Its window has not opened yet (windowOpen false): nothing is armed until it does.
    expect(auto.nextDeadline()).toBeUndefined();
    auto.open(T + 200);
    expect(auto.nextDeadline()).toBe(T + 1000);
    expect(auto.due(T + 999)).toBe(false);
    expect(auto.due(T + 1000)).toBe(true);
  });

  it('open() after the hold ended arms at once', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, true, false);
    auto.open(T + 5000);
    expect(auto.nextDeadline()).toBe(T + 5000);
  });

  it('windowOpen (the same token came back): armed for the end of the hold directly', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, true, true);
    expect(auto.nextDeadline()).toBe(T + 1000);
  });

  it('the hold grows with the streak, up to maxDelayMs: 1, 2, 4, 8, 16, 30, 30 s', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    const holds: number[] = [];
    let now = T;
    for (let i = 0; i < 7; i++) {
      auto.fetched(now, true, true);
      holds.push(auto.nextDeadline()! - now);
      now = auto.nextDeadline()!;
      expect(auto.due(now)).toBe(true);
    }
    expect(holds).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('a token fetched outside its window resets the streak', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, true, true);
    auto.fetched(T, true, true);
    expect(auto.nextDeadline()).toBe(T + 2000);
    auto.fetched(T + 10_000, false, false);
    auto.fetched(T + 20_000, true, true);
    expect(auto.nextDeadline()).toBe(T + 21_000);
  });

  it('cancel() drops what is armed but not the hold: the next open() still waits for it', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY);
    auto.fetched(T, true, true);
    auto.cancel();
    expect(auto.nextDeadline()).toBeUndefined();
    auto.open(T + 10);
    expect(auto.nextDeadline()).toBe(T + 1000);
  });

  it('follows the given policy', () => {
    const auto = createAutoRefresh({ minDelayMs: 250, maxDelayMs: 1000, factor: 3 });
    const holds: number[] = [];
    for (let i = 0; i < 3; i++) {
      auto.fetched(T, true, true);
      holds.push(auto.nextDeadline()! - T);
    }
    expect(holds).toEqual([250, 750, 1000]);
  });
});

describe('createAutoRefresh: the spread', () => {
  const SPREAD = 90_000;

  it.each([
    [0, 0],
    [0.5, 45_000],
    [0.25, 22_500],
    [0.99999, 89_999],
  ])('random %d arms %i ms into the window', (draw, offset) => {
    const auto = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => draw);
    auto.open(T);
    expect(auto.nextDeadline()).toBe(T + offset);
  });

  it('draws once per open, and not at all without a spread', () => {
    let draws = 0;
    const spread = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => (draws++, 0.5));
    spread.open(T);
    spread.due(T + SPREAD);
    spread.open(T + 1);
    expect(draws).toBe(2);
    const none = createAutoRefresh(DEFAULT_RETRY, 0, () => (draws++, 0.5));
    none.open(T);
    expect(draws).toBe(2);
    expect(none.nextDeadline()).toBe(T);
  });

  it('never later than latest (a window noticed late)', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => 0.5);
    auto.open(T, T + 10_000);
    expect(auto.nextDeadline()).toBe(T + 10_000);
  });

  it('a latest already past (noticed after the spread) arms at once', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => 0.5);
    auto.open(T, T - 30_000);
    expect(auto.nextDeadline()).toBe(T);
  });

  it('a storm hold still wins over an earlier spread moment', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => 0);
    auto.fetched(T, true, false);
    auto.open(T);
    expect(auto.nextDeadline()).toBe(T + 1000);
  });

  it('a storm hold also wins over latest', () => {
    const auto = createAutoRefresh(DEFAULT_RETRY, SPREAD, () => 0.5);
    auto.fetched(T, true, false);
    auto.open(T, T + 500);
    expect(auto.nextDeadline()).toBe(T + 1000);
  });
});
