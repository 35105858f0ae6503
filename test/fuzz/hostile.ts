// Hostile values for fuzzing the public entries: objects whose getters throw, revoked proxies, proxies whose
// every trap throws, thenables that throw or never call back, lookalike errors, cause cycles, values that refuse
// to become strings. fast-check generates a plain description (printable, shrinkable) and `build` turns it into
// the value inside the property, so a failing case prints as data and never as a proxy that throws when shown.
import fc from 'fast-check';
import { afterAll, beforeAll } from 'vitest';
import { type TabEnv, installTabEnv } from '../helpers/tab-env.mjs';
export { seeded } from '../helpers/random.js';

/** Keys the library might read off a foreign error, result or client. */
export const PROBED_KEYS = [
  'status',
  'statusCode',
  'httpStatusCode',
  'response',
  'code',
  'twilioCode',
  'errorCode',
  'cause',
  'originalError',
  'fatal',
  'message',
  'name',
  'token',
  'serverTime',
  'retryAfterMs',
  'then',
  'constructor',
  'updateToken',
  'stack',
] as const;

export type HostileSpec =
  | { k: 'plain'; value: unknown }
  | { k: 'throwingGetters'; keys: string[]; base: Record<string, unknown> }
  | { k: 'nestedResponse'; base: Record<string, unknown> }
  | { k: 'revoked' }
  | { k: 'trapsThrow' }
  | { k: 'lookalike'; code: string | undefined; message: boolean }
  | { k: 'thenThrows' }
  | { k: 'thenGetterThrows' }
  | { k: 'thenNever' }
  | { k: 'causeCycle'; code: number }
  | { k: 'deepCause'; depth: number; code: number; status: number | undefined }
  | { k: 'noPrimitive' }
  | { k: 'symbol' }
  | { k: 'bigint' }
  | { k: 'fn' }
  | { k: 'error'; message: string; fields: Record<string, unknown>; cause: HostileSpec | undefined }
  | { k: 'invalidDate' }
  | { k: 'fakeDate' }
  | { k: 'nullProto'; fields: Record<string, unknown> };

/** Values of the fields the library looks at, chosen to hit its branches. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(401, 403, 429, 503, 410, 500, 0, -1, 20101, 20104, 20107, 20157, 31204, 31205, 51207, 12345),
  fc.constantFrom('401', '20104', ' 20104 ', 'FETCH_UNAUTHORIZED', 'AccessManagerError', '', 'x'),
  fc.constantFrom(true, false, null, undefined, NaN, Infinity, -Infinity, 1e300, 600_001, 1.5),
  fc.string({ maxLength: 12 }),
);

const fieldsArb = fc.dictionary(fc.constantFrom(...PROBED_KEYS.filter((key) => key !== 'then')), fieldValue, { maxKeys: 5 });

export const hostileSpec: fc.Arbitrary<HostileSpec> = fc.letrec<{ spec: HostileSpec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ k: fc.constant('plain' as const), value: fc.anything({ maxDepth: 2 }) }),
    fc.record({
      k: fc.constant('throwingGetters' as const),
      keys: fc.uniqueArray(fc.constantFrom(...PROBED_KEYS), { minLength: 1, maxLength: 6 }),
      base: fieldsArb,
    }),
    fc.record({ k: fc.constant('nestedResponse' as const), base: fieldsArb }),
    fc.constant({ k: 'revoked' as const }),
    fc.constant({ k: 'trapsThrow' as const }),
    fc.record({
      k: fc.constant('lookalike' as const),
      code: fc.option(fc.constantFrom('FETCH_UNAUTHORIZED', 'FETCH_FAILED', 'DISPOSED', 'NOPE'), { nil: undefined }),
      message: fc.boolean(),
    }),
    fc.constant({ k: 'thenThrows' as const }),
    fc.constant({ k: 'thenGetterThrows' as const }),
    fc.constant({ k: 'thenNever' as const }),
    fc.record({ k: fc.constant('causeCycle' as const), code: fc.constantFrom(20104, 20107, 12345) }),
    fc.record({
      k: fc.constant('deepCause' as const),
      depth: fc.integer({ min: 1, max: 40 }),
      code: fc.constantFrom(20104, 20107, 31205, 12345),
      status: fc.option(fc.constantFrom(401, 500), { nil: undefined }),
    }),
    fc.constant({ k: 'noPrimitive' as const }),
    fc.constant({ k: 'symbol' as const }),
    fc.constant({ k: 'bigint' as const }),
    fc.constant({ k: 'fn' as const }),
    fc.record({
      k: fc.constant('error' as const),
      message: fc.string({ maxLength: 20 }),
      fields: fieldsArb,
      cause: fc.option(tie('spec'), { nil: undefined }),
    }),
    fc.constant({ k: 'invalidDate' as const }),
    fc.constant({ k: 'fakeDate' as const }),
    fc.record({ k: fc.constant('nullProto' as const), fields: fieldsArb }),
  ),
})).spec;

export class Boom extends Error {
  constructor(what: string) {
    super(`boom: ${what}`);
  }
}

const throwing = (what: string) => () => {
  throw new Boom(what);
};

/** Makes the value a spec describes; `extra` fields (a token, say) are laid over objects that can take them. */
export function build(spec: HostileSpec, extra: Record<string, unknown> = {}): unknown {
  switch (spec.k) {
    case 'plain':
      return spec.value;
    case 'throwingGetters': {
      const target: Record<string, unknown> = { ...spec.base, ...extra };
      for (const key of spec.keys) Object.defineProperty(target, key, { get: throwing(key), enumerable: true, configurable: true });
      return target;
    }
    case 'nestedResponse':
      return {
        ...spec.base,
        ...extra,
        response: Object.defineProperty({}, 'status', { get: throwing('response.status'), enumerable: true }),
      };
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable({ ...extra }, {});
      revoke();
      return proxy;
    }
    case 'trapsThrow':
      return new Proxy(
        { ...extra },
        {
          get: throwing('get'),
          has: throwing('has'),
          ownKeys: throwing('ownKeys'),
          getOwnPropertyDescriptor: throwing('getOwnPropertyDescriptor'),
          getPrototypeOf: throwing('getPrototypeOf'),
          defineProperty: throwing('defineProperty'),
          set: throwing('set'),
          apply: throwing('apply'),
        },
      );
    case 'lookalike': {
      const value: Record<string, unknown> = { name: 'AccessManagerError', ...extra };
      if (spec.code !== undefined) value.code = spec.code;
      if (spec.message) value.message = 'lookalike';
      return value;
    }
    case 'thenThrows':
      return { ...extra, then: throwing('then') };
    case 'thenGetterThrows':
      return Object.defineProperty({ ...extra }, 'then', { get: throwing('then getter'), enumerable: true });
    case 'thenNever':
      return { ...extra, then: () => {} };
    case 'causeCycle': {
      const a: Record<string, unknown> = { ...extra, name: 'A' };
      const b: Record<string, unknown> = { name: 'B', code: spec.code, cause: a, originalError: a };
      a.cause = b;
      a.originalError = a;
      return a;
    }
    case 'deepCause': {
      let node: Record<string, unknown> = { code: spec.code };
      for (let i = 0; i < spec.depth; i++) node = { cause: node, ...(spec.status && i === 0 ? { status: spec.status } : {}) };
      return Object.assign(node, extra);
    }
    case 'noPrimitive':
      return {
        ...extra,
        toString: throwing('toString'),
        valueOf: throwing('valueOf'),
        [Symbol.toPrimitive]: throwing('toPrimitive'),
        get [Symbol.toStringTag]() {
          throw new Boom('toStringTag');
        },
      };
    case 'symbol':
      return Symbol('hostile');
    case 'bigint':
      return 20104n;
    case 'fn':
      return Object.assign(function hostile() {
        throw new Boom('call');
      }, extra);
    case 'error': {
      const error = Object.assign(new Error(spec.message), spec.fields, extra);
      if (spec.cause) (error as { cause?: unknown }).cause = build(spec.cause);
      return error;
    }
    case 'invalidDate':
      return new Date('x');
    case 'fakeDate':
      return { [Symbol.toStringTag]: 'Date', getTime: () => 0, valueOf: () => 0, ...extra };
    case 'nullProto':
      return Object.assign(Object.create(null) as object, spec.fields, extra);
  }
}

/** Records unhandled rejections while a property runs (Node reports them after the microtask queue drains). */
export function watchUnhandled(): { readonly reasons: unknown[]; settle(): Promise<void>; stop(): void } {
  const reasons: unknown[] = [];
  const onRejection = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', onRejection);
  return {
    reasons,
    // A macrotask: Node processes its pending-rejection list between ticks.
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    stop: () => process.off('unhandledRejection', onRejection),
  };
}

/**
 * For a fuzz file whose managers may talk across tabs: around all of its tests, the tab environment is installed
 * and unhandled rejections are watched. The fields are set once the file's tests start.
 */
export function aroundFuzzFile(): { unhandled: ReturnType<typeof watchUnhandled>; env: TabEnv } {
  const around = {} as { unhandled: ReturnType<typeof watchUnhandled>; env: TabEnv };
  beforeAll(() => {
    around.unhandled = watchUnhandled();
    around.env = installTabEnv();
  });
  afterAll(() => {
    around.unhandled.stop();
    around.env.uninstall();
  });
  return around;
}
