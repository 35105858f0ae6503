// Builds three independent entries (core, http, twilio) as ESM + CJS with bundled declarations for each
// format, plus a minified UMD file of the core (eventemitter3 inlined) for a plain <script> tag.
import commonjs from '@rollup/plugin-commonjs';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

const entries = { index: 'src/index.ts', http: 'src/http/index.ts', twilio: 'src/twilio/index.ts' };
// Peers and SDKs are never bundled into the ESM/CJS files.
const external = (id) => /^(eventemitter3|ky|@twilio\/|twilio-)/.test(id) || id === 'twilio';
const ts = () =>
  typescript({ tsconfig: './tsconfig.json', declaration: false, removeComments: true, noEmitOnError: true });

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
      plugins: [dts({ tsconfig: './tsconfig.json' })],
      output: [
        { file: `dist/${name}.d.mts`, format: 'es' },
        { file: `dist/${name}.d.cts`, format: 'es' },
      ],
    },
  ]),
  {
    input: entries.index,
    plugins: [nodeResolve({ browser: true }), commonjs(), ts(), terser({ compress: { passes: 2 }, format: { comments: false } })],
    output: { file: 'dist/token-warden.umd.min.js', format: 'umd', name: 'TokenWarden', exports: 'named' },
  },
];
