#!/usr/bin/env node
// token-warden benchmarks against peers, all measured in this run. Prints one table and writes bench/RESULTS.md;
// then the fleet simulation (bench/fleet.mjs: its own table, the Fleet section and bench/fleet.svg).
//
//   npm run bench            (builds first; needs dist/)
//   node bench/run.mjs --strict   exit 1 when a row fails its target
//   BENCH_QUICK=1            fewer rounds/rotations and a 10,000-manager fleet, for trying the harness out (numbers are then rough)
//
// Re-spawns itself with --expose-gc so the memory row can force full collections.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { MIN, SEC } from '../test/helpers/time.mjs';
import { runFleet } from './fleet.mjs';
import { renderTable } from './lib/table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? 1);
}

const STRICT = process.argv.includes('--strict');
const QUICK = process.env.BENCH_QUICK === '1';
const KB = 1024;

const progress = (message) => process.stderr.write(`[bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const gzip9 = (code) => gzipSync(Buffer.from(code), { level: 9 }).length;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const bytes = (n) => (n >= KB ? `${(n / KB).toFixed(2)} KB` : `${n} B`);
const fmtOps = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M ops/s` : `${(n / 1e3).toFixed(0)} k ops/s`);
const fmtMs = (n) => `${n.toFixed(2)} ms`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const collect = async () => {
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
};

/** One row of the table. `pass` is true, false, or null (informational). */
const rows = [];
const row = (r) => {
  rows.push(r);
  return r;
};

// ---------------------------------------------------------------------------------------------------------------
// 1. Size: min+gzip (zlib level 9), every bundle made by the same rollup + node-resolve + terser pipeline as the
// project's UMD build, except the peers' own published min bundles.

async function minify({ input, code, external = [], pure = [] }) {
  const { rollup } = await import('rollup');
  const { default: nodeResolve } = await import('@rollup/plugin-node-resolve');
  const { default: terser } = await import('@rollup/plugin-terser');
  const ENTRY = '\0bench-entry';
  const plugins = [
    code && {
      name: 'bench-entry',
      resolveId: (id) => (id === ENTRY ? id : null),
      load: (id) => (id === ENTRY ? code : null),
    },
    // eventemitter3's ESM entry re-exports its CommonJS file; its dist/ holds a real ES module of the same code.
    {
      name: 'eventemitter3-esm',
      resolveId: (id) =>
        id === 'eventemitter3' ? join(root, 'node_modules/eventemitter3/dist/eventemitter3.esm.js') : null,
    },
    nodeResolve({ browser: true }),
    terser({ compress: { passes: 2 }, format: { comments: false } }),
  ].filter(Boolean);
  const bundle = await rollup({
    input: code ? ENTRY : input,
    external: (id) => external.some((e) => id === e || id.startsWith(`${e}/`)),
    plugins,
    treeshake: { moduleSideEffects: (id) => !pure.some((p) => id.includes(p)) },
    onwarn: () => {},
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  return output[0].code;
}

/** The gzip -9 budget of `file` in dist/, as test/size.test.ts states it (one place for the number). */
function sizeBudget(file) {
  const source = readFileSync(join(root, 'test/size.test.ts'), 'utf8');
  const match = source.match(new RegExp(`'${file.replace(/\./g, '\\.')}':\\s*(\\d+)`));
  if (!match) throw new Error(`no budget for ${file} in test/size.test.ts`);
  return Number(match[1]);
}

async function benchSize() {
  progress('size');
  const dist = (file) => join(root, 'dist', file);
  const core = await minify({ input: dist('index.mjs') });
  const coreSize = gzip9(core);
  const umdPath = dist('token-warden.umd.min.js');
  const umdSize = existsSync(umdPath) ? gzip9(readFileSync(umdPath)) : undefined;

  const twilioCommonPath = join(root, 'node_modules/twilio-common/dist/twilio-common.min.js');
  const twilioCommon = existsSync(twilioCommonPath)
    ? { size: gzip9(readFileSync(twilioCommonPath)), how: 'published dist/twilio-common.min.js' }
    : { size: gzip9(await minify({ input: join(root, 'node_modules/twilio-common/lib/index.js') })), how: 'lib/ minified here' };
  const oidc = gzip9(readFileSync(join(root, 'node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js')));

  // The size targets are the budgets in test/size.test.ts (gzip -9 of the files as shipped). The core ESM bundle
  // minified here ships nowhere, so it has no budget of its own: its rows compare it with the peers. The UMD file
  // is the core as a <script> tag downloads it (minified with the build's own terser settings).
  const umdBudget = sizeBudget('token-warden.umd.min.js');
  row({
    group: 'size',
    name: 'Core min+gzip vs twilio-common AccessManager',
    ours: bytes(coreSize),
    peer: `${bytes(twilioCommon.size)} (${twilioCommon.how})`,
    ratio: ratio(coreSize, twilioCommon.size),
    target: 'info',
    pass: null,
    raw: { coreSize, umdSize, umdBudget, twilioCommon: twilioCommon.size },
  });
  row({
    group: 'size',
    name: 'Core min+gzip vs oidc-client-ts',
    ours: bytes(coreSize),
    peer: `${bytes(oidc)} (published dist/browser min)`,
    ratio: ratio(coreSize, oidc),
    target: 'info',
    pass: null,
  });
  if (umdSize !== undefined) {
    row({
      group: 'size',
      name: 'UMD file (dist/token-warden.umd.min.js) vs core ESM bundle',
      ours: `${umdSize} B`,
      peer: `${bytes(coreSize)} (core ESM above)`,
      ratio: ratio(umdSize, coreSize),
      target: `≤ ${umdBudget} B (budget in test/size.test.ts)`,
      pass: umdSize <= umdBudget,
    });
  }

  // eventemitter3 declares no `sideEffects: false`, so a bundler keeps it even when unused; count it out here
  // (an app that imports only decodeToken pays for it once it also uses AccessManager anyway).
  const decodeOurs = gzip9(
    await minify({ code: `export { decodeToken } from ${JSON.stringify(dist('index.mjs'))};`, pure: ['eventemitter3'] }),
  );
  const decodeTheirs = gzip9(await minify({ code: `export { jwtDecode } from 'jwt-decode';` }));
  row({
    group: 'size',
    name: 'decodeToken alone (tree-shaken) vs jwt-decode',
    ours: bytes(decodeOurs),
    peer: bytes(decodeTheirs),
    ratio: ratio(decodeOurs, decodeTheirs),
    target: '≤ 1 KB',
    pass: decodeOurs <= KB,
  });

  const peersExternal = ['ky', 'eventemitter3', 'twilio', 'twilio-sync', 'twilio-video', '@twilio', 'token-warden'];
  const http = gzip9(await minify({ input: dist('http.mjs'), external: peersExternal }));
  const ky = gzip9(await minify({ code: `export { default } from 'ky';` }));
  row({
    group: 'size',
    name: 'token-warden/http (ky external) vs ky itself',
    ours: bytes(http),
    peer: `${bytes(ky)} (ky)`,
    ratio: ratio(http, ky),
    target: '≤ 1.5 KB',
    pass: http <= 1.5 * KB,
  });
  const twilioSub = gzip9(await minify({ input: dist('twilio.mjs'), external: peersExternal }));
  row({
    group: 'size',
    name: 'token-warden/twilio (SDKs external) vs core',
    ours: bytes(twilioSub),
    peer: `${bytes(coreSize)} (core)`,
    ratio: ratio(twilioSub, coreSize),
    target: '≤ 1.5 KB',
    pass: twilioSub <= 1.5 * KB,
  });
  return { core };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Fetches per token lifetime: 4 SDK clients in each of 5 tabs, on a simulated clock.

async function simulateTabs({ AccessManager, decodeToken, mintToken, ManualClock, settle }, { managers, clientsPerManager, crossTab }) {
  // Between timers the clock waits until the tabs are quiet (the stand-ins deliver as macrotasks).
  const clock = new ManualClock(undefined, { settle });
  const TTL = 3600;
  const LIFETIMES = 3;
  const fetches = [];
  const errors = {};
  const fetchToken = async ({ reason }) => {
    fetches.push({ at: clock.now(), reason });
    return mintToken({ at: clock.now(), ttl: TTL });
  };
  const all = [];
  const clients = [];
  for (let m = 0; m < managers; m++) {
    const manager = new AccessManager({ fetchToken, clock, crossTab: crossTab ? { name: 'bench' } : false });
    manager.on('error', (err) => {
      errors[err.code] = (errors[err.code] ?? 0) + 1;
    });
    for (let c = 0; c < clientsPerManager; c++) {
      const client = { token: undefined, updates: 0, updateToken: async (t) => ((client.token = t), client.updates++) };
      manager.addClient(client, { name: `tab${m}-client${c}` });
      clients.push(client);
    }
    all.push(manager);
    await clock.advance(SEC); // tabs open a second apart
  }
  await clock.advance(SEC);
  const opening = fetches.length;
  const windowStart = clock.now();
  for (let step = 0; step < LIFETIMES * 60; step++) await clock.advance(MIN);
  const inWindow = fetches.filter((f) => f.at >= windowStart).length;
  const current = all.map((m) => m.token);
  const exp = (t) => (t ? decodeToken(t).expiresAt.getTime() : -Infinity);
  const newest = current.reduce((a, b) => (exp(b) > exp(a) ? b : a), undefined);
  const upToDate = crossTab
    ? clients.filter((c) => c.token === newest).length
    : clients.filter((c) => c.token !== undefined).length;
  for (const manager of all) manager.dispose();
  await settle();
  return { opening, perLifetime: inWindow / LIFETIMES, upToDate, clients: clients.length, errors, pendingTimers: clock.pending };
}

async function benchFetches(lib) {
  progress('fetches per token lifetime (simulated clock, 5 tabs × 4 clients)');
  // BroadcastChannel and navigator.locks stand-ins that deliver as macrotasks, as browsers do.
  const env = lib.installTabEnv({ macrotasks: true });
  const tabs = { ...lib, settle: env.settle };
  try {
    const ours = await simulateTabs(tabs, { managers: 5, clientsPerManager: 4, crossTab: true });
    const perTab = await simulateTabs(tabs, { managers: 5, clientsPerManager: 4, crossTab: false });
    const naive = await simulateTabs(tabs, { managers: 20, clientsPerManager: 1, crossTab: false });
    const errorText = (e) => Object.entries(e).map(([k, v]) => `${k}×${v}`).join(', ');
    row({
      group: 'fetches',
      name: 'Fetches per token lifetime, 4 clients × 5 tabs (crossTab) vs each client refreshing alone',
      ours: `${ours.perLifetime} (opening: ${ours.opening}; ${ours.upToDate}/${ours.clients} clients current)`,
      peer: `${naive.perLifetime} (opening: ${naive.opening})`,
      ratio: ratio(ours.perLifetime, naive.perLifetime),
      target: 'exactly 1 vs 20',
      pass: ours.perLifetime === 1 && ours.opening === 1 && naive.perLifetime === 20 && ours.upToDate === ours.clients,
      note: Object.keys(ours.errors).length ? `errors: ${errorText(ours.errors)}` : undefined,
    });
    row({
      group: 'fetches',
      name: 'Same, one manager per tab without crossTab (for context)',
      ours: `${perTab.perLifetime} (opening: ${perTab.opening})`,
      peer: `${naive.perLifetime}`,
      ratio: ratio(perTab.perLifetime, naive.perLifetime),
      target: 'info (5 expected)',
      pass: null,
    });
    return { ours, perTab, naive };
  } finally {
    env.uninstall();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. decodeToken throughput vs jwt-decode on the same real Twilio tokens.

function opsPerSecond(fn, pool, ms) {
  const mask = pool.length - 1;
  let ops = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while ((now = performance.now()) - start < ms) {
    for (let i = 0; i < 500; i++) sink += fn(pool[(ops + i) & mask]);
    ops += 500;
  }
  if (sink === 42) progress('improbable');
  return ops / ((now - start) / 1000);
}

async function benchDecode({ decodeToken, mintToken }) {
  progress('decodeToken throughput');
  const { jwtDecode } = await import('jwt-decode');
  const grantSets = [['chat', 'sync', 'voice'], ['voice'], ['chat', 'video'], ['sync']];
  const pool = Array.from({ length: 64 }, (_, i) =>
    mintToken({ identity: `user_${i}`, ttl: 600 + i * 60, grants: grantSets[i % 4] }),
  );
  const candidates = {
    ours: (t) => decodeToken(t).payload.exp,
    theirs: (t) => jwtDecode(t).exp,
    theirsBoth: (t) => jwtDecode(t).exp + (jwtDecode(t, { header: true }).typ ? 1 : 0),
  };
  for (const fn of Object.values(candidates)) opsPerSecond(fn, pool, QUICK ? 100 : 300);
  const results = { ours: [], theirs: [], theirsBoth: [] };
  const rounds = QUICK ? 3 : 7;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ['theirsBoth', 'theirs', 'ours'] : ['ours', 'theirs', 'theirsBoth'];
    for (const key of order) results[key].push(opsPerSecond(candidates[key], pool, QUICK ? 100 : 250));
  }
  const ours = median(results.ours);
  const theirs = median(results.theirs);
  const theirsBoth = median(results.theirsBoth);
  row({
    group: 'decode',
    name: 'decodeToken vs jwtDecode(token) (payload only), median of rounds',
    ours: fmtOps(ours),
    peer: fmtOps(theirs),
    ratio: ratio(ours, theirs),
    target: '≥ 1.0×',
    pass: ours / theirs >= 1,
  });
  row({
    group: 'decode',
    name: 'decodeToken vs jwtDecode payload + header (same output as ours)',
    ours: fmtOps(ours),
    peer: fmtOps(theirsBoth),
    ratio: ratio(ours, theirsBoth),
    target: 'info',
    pass: null,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Fan-out: one token pushed to 10,000 clients, vs a bare Promise.all over the same clients.

async function benchFanOut(lib) {
  progress('fan-out to 10,000 clients');
  const asyncClients = await fanOut(lib, true);
  const syncClients = await fanOut(lib, false);
  row({
    group: 'fanout',
    name: 'Fan-out: updateToken to 10,000 async clients vs bare Promise.all',
    ours: fmtMs(asyncClients.ours),
    peer: fmtMs(asyncClients.bare),
    ratio: ratio(asyncClients.ours, asyncClients.bare),
    target: '≤ 1.5×',
    pass: asyncClients.ours / asyncClients.bare <= 1.5,
    note: `interquartile range ${asyncClients.spread}${
      asyncClients.errors.length ? `; errors: ${asyncClients.errors.length} (${[...new Set(asyncClients.errors)].join(', ')})` : ''
    }`,
  });
  row({
    group: 'fanout',
    name: 'Same with synchronous clients (updateToken returns void, like Voice Device)',
    ours: fmtMs(syncClients.ours),
    peer: fmtMs(syncClients.bare),
    ratio: ratio(syncClients.ours, syncClients.bare),
    target: 'info',
    pass: null,
  });
}

async function fanOut({ AccessManager, mintToken }, asyncClients) {
  const N = 10_000;
  const WARMUP = 5;
  const ROUNDS = QUICK ? 5 : 25;
  const start = Date.now();
  const tokens = Array.from({ length: WARMUP + ROUNDS + 1 }, (_, i) => mintToken({ at: start, ttl: 3600 + i }));
  const clients = Array.from({ length: N }, () => {
    const client = asyncClients
      ? { token: undefined, async updateToken(t) { client.token = t; } }
      : { token: undefined, updateToken(t) { client.token = t; } };
    return client;
  });
  // The default (real) clock: per-client timeout timers, if any, are part of what users pay.
  const manager = new AccessManager({ token: tokens[0] });
  const errors = [];
  manager.on('error', (err) => errors.push(err.code));
  for (const client of clients) manager.addClient(client);

  let next = 1;
  const ours = async () => {
    const token = tokens[next++];
    const t0 = performance.now();
    await manager.updateToken(token);
    const dt = performance.now() - t0;
    if (clients[0].token !== token || clients[N - 1].token !== token) throw new Error('fan-out did not reach every client');
    return dt;
  };
  const bare = async () => {
    const token = tokens[next - 1];
    const t0 = performance.now();
    await Promise.all(clients.map((c) => c.updateToken(token)));
    return performance.now() - t0;
  };
  const times = { ours: [], bare: [] };
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (const key of r % 2 ? ['bare', 'ours'] : ['ours', 'bare']) {
      await collect();
      const dt = key === 'ours' ? await ours() : await bare();
      if (r >= WARMUP) times[key].push(dt);
    }
  }
  // Let any per-client timers the manager cleared (or left) drain before the memory run.
  await new Promise((resolve) => setTimeout(resolve, 50));
  manager.dispose();
  const quartiles = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${sorted[Math.floor(sorted.length / 4)].toFixed(2)}–${sorted[Math.floor((3 * sorted.length) / 4)].toFixed(2)} ms`;
  };
  return { ours: median(times.ours), bare: median(times.bare), errors, spread: `ours ${quartiles(times.ours)}, bare ${quartiles(times.bare)}` };
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Memory: heap growth over 100,000 rotations with 100 clients, after forced GC. Each side runs in a fresh
// process (bench/lib/memory.mjs) so nothing the other benchmarks left on the heap blurs the numbers.

function memoryRun(mode, rotations) {
  const child = spawnSync(process.execPath, ['--expose-gc', '--no-flush-bytecode', join(here, 'lib/memory.mjs'), mode, String(rotations)], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`memory run (${mode}) failed: ${child.stderr.trim().split('\n').pop()}`);
  return JSON.parse(child.stdout);
}

async function benchMemory() {
  const ROTATIONS = QUICK ? 10_000 : 100_000;
  progress(`memory: ${ROTATIONS.toLocaleString('en')} rotations × 100 clients`);
  const ours = memoryRun('ours', ROTATIONS);
  const bare = memoryRun('bare', ROTATIONS);
  const signed = (n) => (n < 0 ? `−${bytes(-n)}` : bytes(n));
  row({
    group: 'memory',
    name: `Heap growth after ${ROTATIONS.toLocaleString('en')} rotations, 100 clients, after GC`,
    ours: `${signed(ours.growth)} (${(ours.elapsedMs / 1000).toFixed(1)} s; ${ours.pendingTimers} timer(s) armed)`,
    peer: `${signed(bare.growth)} (bare loop, ${(bare.elapsedMs / 1000).toFixed(1)} s)`,
    ratio: 'n/a',
    target: '< 1 MB',
    pass: ours.growth < KB * KB,
    note: ours.errors ? `errors: ${ours.errors}` : undefined,
  });
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  if (!existsSync(join(root, 'dist/index.mjs'))) {
    console.error('dist/ is missing: run `npm run bench` (it builds first) or `npm run build`.');
    process.exit(2);
  }
  const tokens = await import('../test/helpers/tokens.mjs');
  const { ManualClock } = await import('../test/helpers/clock.mjs');
  const { installTabEnv } = await import('../test/helpers/tab-env.mjs');
  const core = await import(pathToFileURL(join(root, 'dist/index.mjs')).href);
  const lib = { ...tokens, ...core, ManualClock, installTabEnv };

  const failures = [];
  const section = async (name, fn) => {
    const t0 = performance.now();
    try {
      await fn();
      progress(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      failures.push(name);
      progress(`${name} failed: ${error?.stack ?? error}`);
      row({ group: name, name: `${name}: harness error`, ours: String(error?.message ?? error).slice(0, 80), peer: '', ratio: '', target: '', pass: false });
    }
  };
  await section('size', () => benchSize());
  await section('fetches', () => benchFetches(lib));
  await section('decode', () => benchDecode(lib));
  await section('fanout', () => benchFanOut(lib));
  await section('memory', () => benchMemory());
  // Last: its two scenario processes at a time would disturb the timings above.
  let fleet;
  await section('fleet', async () => {
    fleet = await runFleet({ progress });
  });

  const table = renderTable(rows);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const cpu = os.cpus();
  const env = `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model?.trim() ?? 'unknown CPU'}, ${os.platform()} ${os.arch()}; ${seconds} s${QUICK ? ' (BENCH_QUICK: rough numbers)' : ''}`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  console.log(`\n${table}\n\n${env}`);
  if (notes.length) console.log(notes.join('\n'));
  if (fleet) {
    console.log(`\nFleet (${fleet.results.herd.managers.toLocaleString('en')} managers, chart: bench/fleet.svg)\n\n${renderTable(fleet.rows)}\n\n${fleet.env}`);
    for (const r of fleet.rows.filter((r) => r.note)) console.log(`- ${r.name}: ${r.note}`);
  }

  writeFileSync(
    join(here, 'RESULTS.md'),
    `# Benchmark results

Generated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().slice(0, 10)}. ${env}.
Every peer is measured in the same run; ratios are token-warden ÷ peer (for sizes and times lower is better,
for throughput higher is better).

${table}
${notes.length ? `\nNotes:\n${notes.join('\n')}\n` : ''}
## How each row is measured

- **Size**: gzip level 9 (zlib) of a minified ES module. Core = \`dist/index.mjs\` bundled with eventemitter3
  inlined (rollup + @rollup/plugin-node-resolve + @rollup/plugin-terser, \`compress.passes: 2\`, no comments), i.e.
  everything a browser downloads for \`import { AccessManager } from 'token-warden'\`, cross-tab support included.
  twilio-common and oidc-client-ts: their own published minified browser bundles (twilio-common's also carries a
  license header and the polyfills it shipped with). decodeToken vs jwt-decode: an entry exporting only that
  function, tree-shaken and minified the same way for both. Subpaths: \`dist/http.mjs\` and \`dist/twilio.mjs\`
  minified the same way with ky, eventemitter3 and the Twilio SDKs left external. The UMD row gzips the shipped
  \`dist/token-warden.umd.min.js\` as is.
- **Fetches per token lifetime**: five \`AccessManager\`s (one per simulated tab, \`crossTab: true\`) with four
  clients each, sharing an in-process BroadcastChannel and \`navigator.locks\` (test/helpers/tab-env.mjs,
  as the tests do, here delivering as macrotasks like browsers) and one manual \`clock\`. Tabs open a second
  apart; then three 1-hour token lifetimes pass and the fetches in that window are divided by three. "Opening" counts the fetches while the tabs open. The
  peer is the naive pattern: each of the 20 SDK clients refreshing on its own (20 managers without crossTab).
- **decodeToken throughput**: 64 real Twilio tokens minted by the \`twilio\` package; warm-up, then ${QUICK ? 3 : 7}
  alternating rounds of ${QUICK ? 100 : 250} ms, median ops/s. \`jwtDecode\` decodes only the payload by default;
  the info row adds its header decode, which \`decodeToken\` always does (and it validates \`exp\`, decodes
  UTF-8 strictly and builds Dates).
- **Fan-out**: one manager with 10,000 clients whose \`updateToken\` is an async function; median of ${QUICK ? 5 : 15}
  alternating rounds (after 5 warm-up rounds, each preceded by a full GC) of \`await manager.updateToken(next)\` vs
  \`await Promise.all(clients.map(c => c.updateToken(t)))\`. The manager uses its default (real) clock. Medians of
  a few milliseconds move with the heap's state, so the notes give the interquartile range too.
- **Memory**: in a fresh process each (bench/lib/memory.mjs, \`--expose-gc --no-flush-bytecode\`), \`heapUsed\`
  after forced GC, before and after ${QUICK ? '10,000' : '100,000'} rotations
  (after 2,000 warm-up rotations) of a manager with 100 async clients on a manual clock. Tokens are built from one
  real minted token with \`exp\` moved one second later each time (well-formed JWTs; signatures are not checked
  by decoding). The peer column is the same rotations through a bare \`Promise.all\` loop: the noise floor. The time
  in parentheses is the rotation loop's wall time.
- **Fleet**: see the Fleet section below (bench/fleet.mjs).
${fleet ? `\n${fleet.section}` : ''}`,
  );
  if (failures.length) progress(`harness errors in: ${failures.join(', ')}`);
  const failed = [...rows, ...(fleet?.rows ?? [])].some((r) => r.pass === false);
  if (STRICT && failed) process.exit(1);
}

await main();
