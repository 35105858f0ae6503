// Builds four independent entries (core, http, twilio, react) as ESM + CJS with bundled declarations for each
// format, plus a minified UMD file of the core (eventemitter3 inlined) for a plain <script> tag.
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

const entries = {
  index: 'src/index.ts',
  http: 'src/http/index.ts',
  twilio: 'src/twilio/index.ts',
  react: 'src/react/index.ts',
};
// Peers and SDKs are never bundled into the ESM/CJS files.
const external = (id) => /^(eventemitter3|ky|react|@twilio\/|twilio-)/.test(id) || id === 'twilio';
const ts = () =>
  typescript({ tsconfig: './tsconfig.json', declaration: false, removeComments: true, noEmitOnError: true });

// `Symbol.dispose` is typed only by TypeScript's `esnext.disposable` lib (TS >= 5.2), which many apps do not list
// (`lib: ["es2022", "dom"]`), and a declaration file that names it then fails their type-check (TS2550) unless they
// skip lib checks. So every declaration file that uses it declares the one symbol itself, the way @types/node does:
// it merges with the lib's own declaration where that is present (same property, same `unique symbol`), works on any
// TypeScript version, and adds nothing else to the app's globals (no `Disposable`, `DisposableStack`, ...).
const disposeSymbol = `
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}
`;
const declareDisposeSymbol = () => ({
  name: 'declare-dispose-symbol',
  renderChunk: (code) => (code.includes('Symbol.dispose') ? `${code.trimEnd()}\n${disposeSymbol}` : null),
});

// Property names the UMD file may shorten: only names of the core's own internal objects (the held token, the
// resolved options, the refresh cycle and its host, auto-refresh, client guard, fan-out entries and batches, the
// scheduler, the snapshot store, the cross-tab link). Terser renames a name everywhere in the bundle, so each one
// must be none of: a name in dist/index.d.mts (public API, options, events and their payloads), a logger detail
// key, a field of the cross-tab messages, a property read from the app's or a server's objects (status, code,
// cause, serverTime, retryAfterMs, ...), a property of a built-in or DOM object the core uses, nor one of
// eventemitter3's methods. eventemitter3's own fields may be: this file inlines it, and only it and src/emit.ts
// read them. Terser keeps names that DOM objects have (cancel, open, start, ...) unless `builtins` is on; it is on
// because the core calls none of these names on a built-in. The ESM and CJS files are not minified and keep every
// name.
const internalProperties = new RegExp(
  `^(${[
    // held-token.ts, options.ts
    'decoded', 'aboutFired', 'expiredFired', 'expiredAtStart', 'held', 'aboutMs', 'spreadMs', 'fixedSkew', 'fetcher',
    // refresh-cycle.ts and its host
    'phase', 'startToken', 'start', 'tick', 'retryNow', 'fetching', 'answer', 'cancel', 'nextDeadline', 'run',
    'result', 'changed',
    'promise', // the refresh cycle's shared promise (no d.ts, logger, message or built-in name)
    // auto-refresh.ts, client-guard.ts, scheduler.ts, snapshot-store.ts
    'open', 'fetched', 'due', 'judge', 'started', 'hold', 'holding', 'arm', 'current', 'commit',
    // fan-out.ts
    'checkGrants', 'remove', 'seq', 'batch', 'also', 'nextToken', 'nextBatches', 'ok', 'fail', 'left', 'done', 'timer',
    // cross-tab.ts
    'lastAskAt', 'publish', 'ask', 'withLock',
    // manager-core.ts: the object AccessManager's members forward to (named apart from the public members)
    'heldToken', 'describeHeld', 'expiredNow', 'stateNow', 'snapshots', 'adoptManual', 'refreshNow', 'validOrFetch',
    'attachClient', 'detachClient', 'reportClientError', 'onClientEvent', 'disposeCore',
    // eventemitter3's listener table and count, and a listener's `this`
    '_events', '_eventsCount', 'context',
  ].join('|')})$`,
);

// eventemitter3 as the UMD file's browsers run it. The core needs ES2020 anyway, so two paths of eventemitter3 that
// only older engines or older JIT compilers needed are left out of this one file: the fallback for engines without
// `Object.create` (event names prefixed with '~'; `prefixed` stays `false`, as it is on every engine the core runs
// on), and `emit`'s calls spelled out for 0 to 5 arguments (`apply` does the same). Every method keeps its
// behaviour: test/core/umd-emitter.test.ts runs random programs against this build and the installed
// eventemitter3 and compares what every listener saw. A pattern that no longer matches (a new eventemitter3)
// fails the build instead of shipping it unpatched.
const eventEmitterPatches = [
  [/\n {2}, prefix = '~';/, "\n  , prefix = false;"],
  [/\nif \(Object\.create\) \{\n[^]*?\n\}\n/, '\nEvents.prototype = Object.create(null);\n'],
  [
    /\nEventEmitter\.prototype\.emit = function emit\(event, a1, a2, a3, a4, a5\) \{\n[^]*?\n\};\n/,
    `
EventEmitter.prototype.emit = function emit(event, a1, a2, a3, a4, a5) {
  var listeners = this._events[prefix ? prefix + event : event];
  if (!listeners) return false;
  var args = Array.prototype.slice.call(arguments, 1);
  if (listeners.fn) listeners = [listeners];
  for (var i = 0, length = listeners.length; i < length; i++) {
    if (listeners[i].once) this.removeListener(event, listeners[i].fn, undefined, true);
    listeners[i].fn.apply(listeners[i].context, args);
  }
  return true;
};
`,
  ],
  // Exported as the ES module its index.mjs imports it as, without a CommonJS wrapper.
  [/\nif \('undefined' !== typeof module\) \{\n {2}module\.exports = EventEmitter;\n\}\n/, '\nexport default EventEmitter;\n'],
];
const modernEventEmitter = () => ({
  name: 'modern-eventemitter3',
  transform(code, id) {
    if (!/[/\\]eventemitter3[/\\]index\.js$/.test(id)) return null;
    return eventEmitterPatches.reduce((patched, [pattern, replacement]) => {
      if (!pattern.test(patched)) throw new Error(`eventemitter3 patch no longer matches: ${pattern}`);
      return patched.replace(pattern, replacement);
    }, code);
  },
});

// Rollup's UMD header falls back to `self` or `this` where there is no `globalThis`; every engine that runs the
// core's ES2020 code has `globalThis`, so the header uses it alone (CommonJS and AMD loaders still get the exports).
const umdHeader = {
  from: "(global = typeof globalThis !== 'undefined' ? globalThis : global || self, factory(global.TokenWarden = {}))",
  to: 'factory(globalThis.TokenWarden = {})',
};
const globalThisUmd = () => ({
  name: 'umd-globalthis',
  renderChunk(code) {
    if (!code.includes(umdHeader.from)) throw new Error("rollup's UMD header changed: see umdHeader in rollup.config.mjs");
    return code.replace(umdHeader.from, umdHeader.to);
  },
});

export default [
  ...Object.entries(entries).flatMap(([name, input]) => [
    {
      input,
      external,
      plugins: [ts()],
      output: [
        { file: `dist/${name}.mjs`, format: 'es' },
        { file: `dist/${name}.cjs`, format: 'cjs', exports: 'named' },
      ],
    },
    {
      input,
      external,
      // `@internal` members (the hook token-warden/twilio calls) stay out of the declarations.
      plugins: [dts({ tsconfig: './tsconfig.json', compilerOptions: { stripInternal: true } }), declareDisposeSymbol()],
      output: [
        { file: `dist/${name}.d.mts`, format: 'es' },
        { file: `dist/${name}.d.cts`, format: 'es' },
      ],
    },
  ]),
  {
    input: entries.index,
    plugins: [
      nodeResolve({ browser: true }),
      modernEventEmitter(),
      ts(),
      globalThisUmd(),
      terser({
        ecma: 2020,
        // `unsafe` here only turns `new Array(n)` into `Array(n)` and template literals of strings and numbers into `+`.
        // Three rewrites that shorten the minified text but lengthen the gzipped file are off (measured together:
        // 10212 -> 10181 B gzip, though 171 B more minified): joining statements into comma sequences, inlining
        // functions that have arguments or variables, and turning `x === 'a'` into `'a' === x`. Gzip finds more
        // repeats in the plain shapes.
        compress: { passes: 3, unsafe: true, sequences: false, inline: 1, lhs_constants: false },
        mangle: { properties: { regex: internalProperties, builtins: true } },
        format: { comments: false },
      }),
    ],
    output: { file: 'dist/token-warden.umd.min.js', format: 'umd', name: 'TokenWarden', exports: 'named' },
  },
];
