// Property: whatever mix of clients (sync, async, throwing, rejecting, slow, hanging, hostile thenables) and
// whatever pushes they or an error listener make from inside a push, with time moving on a manual clock:
// - per client, the tokens it is handed strictly increase in push order (never an older one after a newer one);
// - every client is handed the last pushed token last (a call that hangs past clientTimeoutMs is given up on and
//   the newest waiting token follows, so hanging never keeps a client off the newest token);
// - every push() resolves, and within 2 × clientTimeoutMs of the call: at most one older call of a client's can
//   be ahead of it (given up on after the timeout), then the newest token's own call gets the same time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessManagerError } from '../../src/errors.js';
import { FanOut } from '../../src/fan-out.js';
import type { TokenClient } from '../../src/types.js';
import { ManualClock } from '../helpers/clock.mjs';

const TIMEOUT = 1000;
const MAX_PUSHES = 14;

const modes = [
  'sync',
  'throw',
  'resolve',
  'reject',
  'slow', // resolves on the clock after `delay` ms, sometimes past the timeout
  'hang',
  'thenThrows',
  'thenGetterThrows',
  'revokedProxy',
  'settlesTwice', // a thenable that calls both handlers, twice, synchronously
] as const;
type Mode = (typeof modes)[number];

interface Call {
  mode: Mode;
  delay: number;
  /** Pushes a newer token from inside updateToken, before returning. */
  pushFirst: boolean;
}

const call: fc.Arbitrary<Call> = fc.record({
  mode: fc.constantFrom(...modes),
  delay: fc.integer({ min: 0, max: 2 * TIMEOUT }),
  pushFirst: fc.boolean(),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'push' as const }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * TIMEOUT }) }),
);
type Step = { kind: 'push' } | { kind: 'advance'; ms: number };
interface Scenario {
  clients: Call[][];
  steps: Step[];
  listenerPushes: boolean;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  clients: fc.array(fc.array(call, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
  steps: fc.array(step, { minLength: 1, maxLength: 10 }),
  /** An error listener that pushes a newer token (while the budget lasts). */
  listenerPushes: fc.boolean(),
});

const boom = new Error('boom');

async function run({ clients, steps, listenerPushes }: Scenario) {
  const clock = new ManualClock();
  const errors: AccessManagerError[] = [];
  const pushes: { pushedAt: number; settledAt?: number }[] = [];
  const received: number[][] = clients.map(() => []);

  const push = (): void => {
    if (pushes.length >= MAX_PUSHES) return;
    const n = pushes.length + 1;
    const record: { pushedAt: number; settledAt?: number } = { pushedAt: clock.now() };
    pushes.push(record);
    void fanOut.push(`tok-${n}`).then(() => (record.settledAt = clock.now()));
  };
  const fanOut = new FanOut(clock, TIMEOUT, (error) => {
    errors.push(error);
    if (listenerPushes) push();
  });

  clients.forEach((script, index) => {
    let calls = 0;
    const client = {
      updateToken(token: string): unknown {
        received[index]!.push(Number(token.slice(4)));
        const { mode, delay, pushFirst } = script[calls++ % script.length]!;
        if (pushFirst) push();
        switch (mode) {
          case 'sync':
            return undefined;
          case 'throw':
            throw boom;
          case 'resolve':
            return Promise.resolve();
          case 'reject':
            return Promise.reject(boom);
          case 'slow':
            return new Promise<void>((resolve) => clock.setTimeout(resolve, delay));
          case 'hang':
            return new Promise(() => {});
          case 'thenThrows':
            return { then: () => { throw boom; } };
          case 'thenGetterThrows':
            return { get then() { throw boom; } };
          case 'revokedProxy': {
            const { proxy, revoke } = Proxy.revocable({}, {});
            revoke();
            return proxy;
          }
          case 'settlesTwice':
            return {
              then(ok: () => void, fail: (error: unknown) => void) {
                ok();
                fail(boom);
                ok();
              },
            };
        }
      },
    };
    fanOut.add(client as TokenClient, { name: `client-${index}` });
  });

  for (const s of steps) {
    if (s.kind === 'push') push();
    else await clock.advance(s.ms);
  }
  // Run every timer out (fan-out timeouts, slow clients); 100 rounds is far more than any scenario needs.
  for (let round = 0; round < 100 && clock.pending > 0; round++) await clock.advance(TIMEOUT);
  await clock.advance(0);
  return { clock, errors, pushes, received };
}

describe('fan-out: ordering property', () => {
  it('hands tokens in push order, ends every client on the newest, and settles every push within 2 × clientTimeoutMs', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        const { clock, errors, pushes, received } = await run(input);
        expect(clock.pending).toBe(0);
        for (const got of received) {
          for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
          if (pushes.length > 0) expect(got.at(-1)).toBe(pushes.length);
        }
        for (const { pushedAt, settledAt } of pushes) {
          expect(settledAt).toBeDefined();
          expect(settledAt! - pushedAt).toBeLessThanOrEqual(2 * TIMEOUT);
        }
        for (const error of errors) {
          expect(['CLIENT_UPDATE_FAILED', 'CLIENT_UPDATE_TIMEOUT']).toContain(error.code);
          expect(error.clientName).toMatch(/^client-\d$/);
          expect(error.message).not.toContain('tok-');
        }
      }),
      { numRuns: 300 },
    );
  });
});
