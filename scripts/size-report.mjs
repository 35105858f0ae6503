// Where the core's bytes go: builds the UMD file in memory with rollup.config.mjs's own settings and prints its
// gzip -9 size, then each source module's share. A module's share is what the gzipped file loses when that
// module's minified code (found through the source map) is cut out, so the shares do not add up to the total:
// gzip shares repeated text across modules. `node scripts/size-report.mjs` (no build needed; about 5 s).
import { gzipSync } from 'node:zlib';
import { TraceMap, eachMapping } from '@jridgewell/trace-mapping';
import { rollup } from 'rollup';
import configs from '../rollup.config.mjs';

const umd = configs.at(-1);
const bundle = await rollup({ input: umd.input, plugins: umd.plugins, onwarn() {} });
const gzip = (text) => gzipSync(text, { level: 9 }).length;
const [shipped] = (await bundle.generate(umd.output)).output;
// With a source map terser's output differs by a few bytes; the shares are measured on that one.
const [{ code, map }] = (await bundle.generate({ ...umd.output, sourcemap: true })).output;
const total = gzip(code);

// The source module of every character of the minified file.
const lines = code.split('\n');
const owner = lines.map((line) => new Array(line.length).fill('(wrapper)'));
const segments = [];
eachMapping(new TraceMap(map), (segment) => segments.push(segment));
segments.sort((a, b) => a.generatedLine - b.generatedLine || a.generatedColumn - b.generatedColumn);
segments.forEach((segment, i) => {
  const next = segments[i + 1];
  const line = segment.generatedLine - 1;
  const end = next?.generatedLine === segment.generatedLine ? next.generatedColumn : lines[line].length;
  const name = segment.source ? segment.source.replace(/.*\/(src|node_modules)\//, '') : '(wrapper)';
  for (let column = segment.generatedColumn; column < end; column++) owner[line][column] = name;
});

const rows = [...new Set(owner.flat())].map((name) => {
  const kept = (i) => (_, column) => owner[i][column] !== name;
  const without = lines.map((line, i) => [...line].filter(kept(i)).join('')).join('\n');
  const raw = owner.flat().filter((module) => module === name).length;
  return { name, raw, share: total - gzip(without) };
});
rows.sort((a, b) => b.share - a.share);
console.log(`dist/token-warden.umd.min.js: ${gzip(shipped.code)} B gzip -9 (${shipped.code.length} B minified)\n`);
console.log('  share   minified  module');
for (const { name, raw, share } of rows) console.log(`${String(share).padStart(7)} ${String(raw).padStart(10)}  ${name}`);
