// @vitest-environment node
// The UMD file inlines eventemitter3 without the paths only older engines needed (rollup.config.mjs says which).
// Random programs of on/once/off/emit/... with listeners that act re-entrantly run against that build and against
// the installed eventemitter3; what every listener saw, and every return value, must be the same.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { EventEmitter } from 'eventemitter3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Emitter = InstanceType<typeof EventEmitter>;
type EmitterClass = { new (): Emitter; prefixed: string | boolean; EventEmitter: unknown };

function umdEmitter(): EmitterClass {
  const code = readFileSync(resolve(__dirname, '../../dist/token-warden.umd.min.js'), 'utf8');
  const window: Record<string, unknown> = {};
  runInNewContext(code, { window, self: window, globalThis: window, queueMicrotask });
  const { AccessManager } = window.TokenWarden as { AccessManager: unknown };
  return Object.getPrototypeOf(AccessManager) as EmitterClass;
}

const SYMBOL = Symbol('event');
// Names an object with a prototype would answer on its own: the listener table must not.
const EVENTS = ['a', 'b', '__proto__', 'constructor', 'toString', SYMBOL] as const;
const IDS = [0, 1, 2, 3, 4];
const CONTEXTS = { A: { name: 'A' }, B: { name: 'B' } };

type Op =
  | { op: 'on' | 'once' | 'addListener'; event: number; id: number | null; context?: 'A' | 'B' }
  | { op: 'off' | 'removeListener'; event: number; id?: number; context?: 'A' | 'B'; once?: boolean }
  | { op: 'removeAllListeners'; event?: number }
  | { op: 'emit'; event: number; args: number[] }
  | { op: 'listeners' | 'listenerCount'; event: number }
  | { op: 'eventNames' };

// Mostly two events, so that listeners often act on the event being emitted.
const event = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat({ max: EVENTS.length - 1 }) });
const id = fc.constantFrom(...IDS);
const context = fc.option(fc.constantFrom('A' as const, 'B' as const), { nil: undefined });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('on' as const, 'once' as const, 'addListener' as const), event, id, context }) },
  // A listener that is not a function: both throw.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('on' as const), event, id: fc.constant(null) }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        op: fc.constantFrom('off' as const, 'removeListener' as const),
        event,
        id,
        context,
        once: fc.option(fc.boolean(), { nil: undefined }),
      },
      { requiredKeys: ['op', 'event'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeAllListeners' as const), event }, { requiredKeys: ['op'] }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('emit' as const), event, args: fc.array(fc.integer(), { maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('listeners' as const, 'listenerCount' as const), event }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('eventNames' as const) }) },
);
// What each listener does when called, besides being recorded: nothing, or one more operation (emits included).
const reactions = fc.array(fc.option(op, { nil: undefined, freq: 2 }), { minLength: IDS.length, maxLength: IDS.length });

/** Runs `program` on a new emitter of `Emitter` and returns everything observable, in order. */
function run(Emitter: EmitterClass, program: Op[], reactionOf: (Op | undefined)[]): unknown[] {
  const emitter = new Emitter();
  const seen: unknown[] = [];
  const who = (self: unknown) =>
    self === emitter ? 'emitter' : self === CONTEXTS.A ? 'A' : self === CONTEXTS.B ? 'B' : typeof self;
  let depth = 0;
  const listeners = IDS.map(
    (n) =>
      function (this: unknown, ...args: unknown[]) {
        seen.push(['call', n, who(this), args]);
        const reaction = reactionOf[n];
        if (reaction && depth < 3) {
          depth++;
          apply(reaction);
          depth--;
        }
      },
  );
  const name = (value: unknown) => (value === SYMBOL ? 'SYMBOL' : value);
  const fnId = (fn: unknown) => listeners.indexOf(fn as (typeof listeners)[number]);
  const returned = (value: unknown) => (value === emitter ? 'emitter' : value);
  function apply(step: Op): void {
    const on = step.op === 'eventNames' ? undefined : step.event === undefined ? undefined : EVENTS[step.event];
    try {
      switch (step.op) {
        case 'on':
        case 'once':
        case 'addListener': {
          const fn = step.id === null ? 'not a function' : listeners[step.id];
          const ctx = step.context && CONTEXTS[step.context];
          seen.push([step.op, returned((emitter[step.op] as (...a: unknown[]) => unknown)(on, fn, ctx))]);
          break;
        }
        case 'off':
        case 'removeListener': {
          const fn = step.id === undefined ? undefined : listeners[step.id];
          const ctx = step.context && CONTEXTS[step.context];
          seen.push([step.op, returned((emitter[step.op] as (...a: unknown[]) => unknown)(on, fn, ctx, step.once))]);
          break;
        }
        case 'removeAllListeners':
          seen.push([step.op, returned(on === undefined ? emitter.removeAllListeners() : emitter.removeAllListeners(on))]);
          break;
        case 'emit':
          seen.push([step.op, (emitter.emit as (...a: unknown[]) => boolean)(on, ...step.args)]);
          break;
        case 'listeners':
          seen.push([step.op, Array.from(emitter.listeners(on as string), fnId)]);
          break;
        case 'listenerCount':
          seen.push([step.op, emitter.listenerCount(on as string)]);
          break;
        case 'eventNames':
          seen.push([step.op, Array.from(emitter.eventNames(), name)]);
          break;
      }
    } catch (error) {
      seen.push(['threw', (error as Error).name, (error as Error).message]);
    }
  }
  for (const step of program) apply(step);
  return seen;
}

describe('eventemitter3 in the UMD file', () => {
  const Umd = umdEmitter();
  const Installed = EventEmitter as unknown as EmitterClass;

  it('is eventemitter3, with its statics', () => {
    expect(Umd.prefixed).toBe(Installed.prefixed);
    expect(Umd.EventEmitter).toBe(Umd);
    expect(Object.getOwnPropertyNames(Umd.prototype).sort()).toEqual(Object.getOwnPropertyNames(Installed.prototype).sort());
    expect(Umd.prototype.emit.length).toBe(Installed.prototype.emit.length);
  });

  it('behaves as the installed eventemitter3 for every program', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), reactions, (program, reactionOf) => {
        expect(run(Umd, program, reactionOf)).toEqual(run(Installed, program, reactionOf));
      }),
      { numRuns: 400 },
    );
  });

  it('calls the listeners of an emit that were there when it began, each with every argument', () => {
    // A fixed example of the properties above: emit with more arguments than the old fast paths spelled out, a
    // `once` listener, and a listener added while the event is being emitted.
    const program: Op[] = [
      { op: 'on', event: 0, id: 0, context: 'A' },
      { op: 'once', event: 0, id: 1 },
      { op: 'emit', event: 0, args: [1, 2, 3, 4, 5, 6, 7] },
      { op: 'emit', event: 0, args: [] },
    ];
    const reactionOf = [{ op: 'on', event: 0, id: 2 } as Op];
    const seen = run(Umd, program, reactionOf);
    expect(seen).toEqual(run(Installed, program, reactionOf));
    expect(seen.filter((entry) => (entry as unknown[])[0] === 'call')).toEqual([
      ['call', 0, 'A', [1, 2, 3, 4, 5, 6, 7]],
      ['call', 1, 'emitter', [1, 2, 3, 4, 5, 6, 7]],
      ['call', 0, 'A', []],
      ['call', 2, 'emitter', []],
    ]);
  });
});
