// @vitest-environment node
// retryAfterMs alone: which statuses and header forms count, and the clamp.
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/http/retry-after.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const at = (ms: number) => new Date(ms).toUTCString();
const response = (status: number, headers: Record<string, string>) => ({ status, headers: new Headers(headers) });

describe('retryAfterMs', () => {
  it.each([
    ['seconds', 429, { 'retry-after': '30' }, 30_000],
    ['seconds with spaces around', 503, { 'retry-after': ' 30 ' }, 30_000],
    ['a fraction', 429, { 'retry-after': '0.25' }, 250],
    ['exactly the cap', 429, { 'retry-after': '600' }, 600_000],
    ['above the cap', 429, { 'retry-after': '601' }, 600_000],
    ['a date against the Date header', 503, { 'retry-after': at(NOW + 90_000), date: at(NOW - 10_000) }, 100_000],
    ['a date against now without a Date header', 503, { 'retry-after': at(NOW + 90_000) }, 90_000],
    ['a date against now when the Date header is unreadable', 429, { 'retry-after': at(NOW + 5_000), date: 'yesterday' }, 5_000],
    ['a date in the past', 429, { 'retry-after': at(NOW - 5_000) }, 0],
    ['a date beyond the cap', 429, { 'retry-after': at(NOW + 3_600_000) }, 600_000],
  ])('%s', (_label, status, headers, expected) => {
    expect(retryAfterMs(response(status, headers), NOW)).toBe(expected);
  });

  it.each([
    ['another status', 500, { 'retry-after': '30' }],
    ['a redirect', 301, { 'retry-after': '30' }],
    ['no header', 429, {}],
    ['an empty header', 429, { 'retry-after': '' }],
    ['a negative number', 429, { 'retry-after': '-5' }],
    ['a number with a unit', 429, { 'retry-after': '30s' }],
    ['a number after text', 429, { 'retry-after': 'in 30' }],
    ['a trailing dot', 429, { 'retry-after': '30.' }],
    ['a leading dot', 429, { 'retry-after': '.5' }],
    ['a date that starts with the day of month', 429, { 'retry-after': '1 Jan 2030 12:00:30 GMT' }],
    ['a word that is no date', 503, { 'retry-after': 'soon' }],
    ['two letters and a number', 503, { 'retry-after': 'in 2031' }],
  ])('undefined for %s', (_label, status, headers) => {
    expect(retryAfterMs(response(status, headers), NOW)).toBeUndefined();
  });

  it('trims the header value itself (a headers object that does not)', () => {
    const headers = { get: (name: string) => (name === 'retry-after' ? ' 30 ' : null) } as Headers;
    expect(retryAfterMs({ status: 429, headers }, NOW)).toBe(30_000);
  });

  it('takes Date.now() when no now is given', () => {
    const ms = retryAfterMs(response(429, { 'retry-after': at(Date.now() + 120_000) }))!;
    expect(ms).toBeGreaterThan(110_000);
    expect(ms).toBeLessThanOrEqual(120_000);
  });
});
