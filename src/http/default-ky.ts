import kyExport, { type KyInstance } from 'ky';

/**
 * The `ky` default export, also from the CommonJS build. ky is ESM-only; a CommonJS `require('ky')` (Node's
 * require(esm), or a bundler) yields its module namespace, and the CJS output of this package (Rollup's
 * `interop: 'default'`) uses that object as the default export without unwrapping it.
 */
export const defaultKy: KyInstance =
  typeof kyExport === 'function' ? kyExport : (kyExport as unknown as { default: KyInstance }).default;
