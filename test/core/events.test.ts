import { describe, expect, it } from 'vitest';
import type { AccessManager } from '../../src/index.js';
import { ManualClock, flush } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { names, record } from '../helpers/record.js';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';

let manager: AccessManager | undefined;

function setup(ttlSeconds: number, options: { aboutToExpireMs?: number; issuedAgoMs?: number } = {}) {
  const clock = new ManualClock();
  const token = mintToken({ at: clock.now() - (options.issuedAgoMs ?? 0), ttl: ttlSeconds });
  manager = createManager({ token, clock, aboutToExpireMs: options.aboutToExpireMs });
  const events = record(manager, clock.now);
  return { clock, token, manager, events, start: clock.now() };
}

describe('tokenAboutToExpire and tokenExpired', () => {
  it('fire exactly once each, at exp - aboutToExpireMs and at exp', async () => {
    const { clock, token, events, start } = setup(3600);
    expect(manager!.state).toBe('valid');
    await clock.advance(57 * MIN - 1);
    expect(events).toEqual([]);
    await clock.advance(1);
    expect(events).toEqual([{ type: 'tokenAboutToExpire', token, msLeft: 3 * MIN, at: start + 57 * MIN }]);
    expect(manager!.state).toBe('aboutToExpire');
    await clock.advance(3 * MIN - 1);
    expect(events).toHaveLength(1);
    await clock.advance(1);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
    expect(events[1]).toMatchObject({ token, at: start + 60 * MIN });
    expect(manager!.state).toBe('expired');
    expect(manager!.isExpired).toBe(true);
    await clock.advance(120 * MIN);
    expect(events).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('honours a custom aboutToExpireMs', async () => {
    const { clock, events, start } = setup(600, { aboutToExpireMs: 30_000 });
    await clock.advance(10 * MIN);
    expect(events.map((e) => [e.type, e.at - start])).toEqual([
      ['tokenAboutToExpire', 570_000],
      ['tokenExpired', 600_000],
    ]);
  });

  it('fires tokenAboutToExpire on the next macrotask when less than aboutToExpireMs is left', async () => {
    const { clock, events } = setup(120); // 2 minutes left, window is 3
    await flush();
    expect(events).toEqual([]); // not synchronously, not in a microtask: listeners attached after `new` see it
    expect(clock.delays).toEqual([0]);
    await clock.advance(0);
    expect(names(events)).toEqual(['tokenAboutToExpire']);
    expect(events[0]!.msLeft).toBe(120_000);
    await clock.advance(2 * MIN);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
  });

  it('never arms a timer longer than 60 s, also for a 24 h token', async () => {
    const { clock, events } = setup(24 * 3600);
    expect(clock.delays).toEqual([60_000]);
    await clock.advance(24 * 60 * MIN);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
  });

  it('catches up at once when a timer fires late (throttled tab)', async () => {
    const { clock, events, start } = setup(3600);
    clock.jump(58 * MIN); // the timer queue stalled; the timer then fires late
    await clock.runDue();
    expect(names(events)).toEqual(['tokenAboutToExpire']);
    expect(events[0]!.at).toBe(start + 58 * MIN);
    expect(events[0]!.msLeft).toBe(2 * MIN);
  });

  it('after a sleep past expiry reports the missed tokenAboutToExpire (msLeft < 0), then one tokenExpired', async () => {
    const { clock, events } = setup(3600);
    clock.jump(3 * 60 * MIN);
    window.dispatchEvent(new Event('focus'));
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
    expect(events[0]!.msLeft).toBe(-2 * 60 * MIN);
    await clock.advance(10 * MIN);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
  });

  it('reports an already expired initial token asynchronously: error TOKEN_EXPIRED, tokenAboutToExpire, tokenExpired', async () => {
    const { clock, events } = setup(60, { issuedAgoMs: 2 * MIN });
    expect(events).toEqual([]);
    expect(manager!.state).toBe('expired');
    await Promise.resolve();
    expect(names(events)).toEqual(['error:TOKEN_EXPIRED', 'tokenAboutToExpire', 'tokenExpired']);
    expect(events[1]!.msLeft).toBe(-MIN);
    await clock.advance(60 * MIN);
    expect(events).toHaveLength(3);
  });

  it('does not fire tokenExpired for a token that a newer one replaced', async () => {
    const { clock, events, token } = setup(600);
    await clock.advance(8 * MIN);
    const newer = mintToken({ at: clock.now(), ttl: 3600 });
    await manager!.updateToken(newer);
    await clock.advance(10 * MIN);
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenUpdated']);
    expect(events[0]!.token).toBe(token);
    expect(manager!.state).toBe('valid');
  });

  it('does not break when a listener throws', async () => {
    const { clock, events } = setup(120);
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onError);
    manager!.on('tokenAboutToExpire', () => {
      throw new Error('listener bug');
    });
    try {
      await clock.advance(0);
      await new Promise((resolve) => setTimeout(resolve, 0));
      await clock.advance(2 * MIN);
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(names(events)).toEqual(['tokenAboutToExpire', 'tokenExpired']);
  });
});
