#!/usr/bin/env node
// Fleet simulation: what a fleet of AccessManagers whose tokens were minted together (the reconnect burst after a
// deploy) costs the token server, with the default refresh spread and with `refreshSpreadMs: 0` (the fixed
// schedule of every peer), measured in the same run; then an outage of the token server around the refresh.
// Each scenario runs in a fresh process (bench/lib/fleet-sim.mjs), two at a time; bench/run.mjs calls runFleet().
//
//   node bench/fleet.mjs       the fleet alone (needs dist/): prints its table, rewrites the Fleet section of
//                              bench/RESULTS.md and bench/fleet.svg
//   BENCH_QUICK=1              10,000 managers instead of 40,000 (rough numbers)
//   FLEET_MANAGERS=n           another fleet size. The time grows with it: the default 40,000 keep the whole
//                              `npm run bench` well under 3 minutes on 2 cores, also when other work shares them;
//                              100,000 take about 2.5 times as long. The outage without Retry-After is the longest
//                              scenario: about 21 failed fetches per manager, each costing the manager ~50 µs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetChart } from './lib/fleet-chart.mjs';
import { renderTable } from './lib/table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
const MANAGERS = Number(process.env.FLEET_MANAGERS) || (QUICK ? 10_000 : 40_000);
const SEED = 20261123;

const TTL_S = 3600;
const ABOUT_S = 180; // aboutToExpireMs default
const REFRESH_S = TTL_S - ABOUT_S; // the herd's first refresh moment (57:00)
const LIFETIMES_S = 3 * TTL_S;
const OUTAGE = { from: REFRESH_S - 300, to: REFRESH_S + 300 }; // 10 minutes around it: 52:00 to 62:00
const RETRY_AFTER_MS = 120_000;
const OUTAGE_RUN_S = OUTAGE.to + 240; // 4 minutes after recovery
const OUTAGE_START_S = 50 * 60; // the outage runs create their fleet at 50:00, with the burst's tokens
export const FLEET_CHART = 'fleet.svg';

// Longest first, so two at a time finish close together.
const SCENARIOS = [
  { name: 'outage', seconds: OUTAGE_RUN_S, start: OUTAGE_START_S, outage: OUTAGE },
  { name: 'herd', seconds: LIFETIMES_S, spreadMs: 0 },
  { name: 'spread', seconds: LIFETIMES_S },
  { name: 'outageRetryAfter', seconds: OUTAGE_RUN_S, start: OUTAGE_START_S, outage: { ...OUTAGE, retryAfterMs: RETRY_AFTER_MS } },
];

// A young generation large enough that the managers' short-lived garbage rarely meets a scavenge (about 40% less
// run time); no stack traces, which a million failed fetches would otherwise spend much of the outage run on; an
// old generation of 8 times the fleet's live heap or more, whatever the machine's default.
const NODE_FLAGS = [
  '--expose-gc',
  '--max-semi-space-size=64',
  `--max-old-space-size=${Math.max(2048, Math.ceil(MANAGERS / 25))}`,
  '--stack-trace-limit=0',
];

function runScenario(config) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, join(here, 'lib/fleet-sim.mjs'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        const why = Buffer.concat(err).toString().trim().split('\n').slice(-3).join(' / ');
        reject(new Error(`fleet scenario ${config.name} exited with ${code}: ${why}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString()));
      } catch (error) {
        reject(error);
      }
    });
  });
}

const n0 = (n) => Math.round(n).toLocaleString('en');
const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;
const secs = (ms) => (ms >= 120_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);
const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const times = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

/**
 * Runs the four scenarios (two processes at a time) and writes bench/fleet.svg.
 * Returns the rows (run.mjs's row shape) and the Markdown section for bench/RESULTS.md.
 */
export async function runFleet({ progress = () => {} } = {}) {
  const started = performance.now();
  const load = os.loadavg()[0];
  const slots = Math.max(1, Math.min(2, os.availableParallelism?.() ?? os.cpus().length));
  const queue = SCENARIOS.map((s) => ({ ...s, managers: MANAGERS, seed: SEED }));
  const results = {};
  const worker = async () => {
    for (let config = queue.shift(); config; config = queue.shift()) {
      progress(`fleet: ${config.name}, ${n0(config.managers)} managers × ${mmss(config.seconds)} simulated`);
      const result = await runScenario(config);
      results[config.name] = result;
      progress(`fleet: ${config.name} done in ${((result.buildMs + result.runMs) / 1000).toFixed(1)} s`);
    }
  };
  await Promise.all(Array.from({ length: slots }, worker));
  const wallMs = performance.now() - started;

  const { herd, spread, outage, outageRetryAfter: outageRA } = results;
  const perMillion = (n) => `${n0((n * 1e6) / MANAGERS)}/s per million`;
  const peakText = (p) => `${n0(p.value)}/s at ${mmss(p.at)}`;
  const rows = [];
  const herdPeak = herd.peak.value;
  rows.push({
    group: 'fleet',
    name: 'Fleet: peak fetches/s over 3 lifetimes, defaults vs refreshSpreadMs: 0 (every peer\'s fixed schedule)',
    ours: `${peakText(spread.peak)} (${perMillion(spread.peak.value)})`,
    peer: `${peakText(herd.peak)} (${perMillion(herdPeak)})`,
    ratio: `${times(spread.peak.value, herdPeak)} (${(herdPeak / spread.peak.value).toFixed(1)}× lower)`,
    target: '≥ 15× lower',
    pass: herdPeak / spread.peak.value >= 15,
  });
  rows.push({
    group: 'fleet',
    name: 'Fleet: total fetches over 3 lifetimes, defaults vs refreshSpreadMs: 0',
    ours: `${n0(spread.total)} (${(spread.total / MANAGERS).toFixed(2)} per manager)`,
    peer: `${n0(herd.total)} (${(herd.total / MANAGERS).toFixed(2)} per manager)`,
    ratio: times(spread.total, herd.total),
    target: '≤ 1.0×',
    pass: spread.total <= herd.total,
  });
  const outageRow = (r, label) => ({
    group: 'fleet',
    name: `Fleet outage (503 ${mmss(OUTAGE.from)}–${mmss(OUTAGE.to)}), ${label}: peak fetches/s after recovery vs herd peak (no outage)`,
    ours: `${peakText(r.peakAfterRecovery)} (${perMillion(r.peakAfterRecovery.value)})`,
    peer: `${peakText(herd.peak)}`,
    ratio: times(r.peakAfterRecovery.value, herdPeak),
    target: 'info',
    pass: null,
    note: `${n0(r.totalFailed)} requests answered 503 (peak ${n0(r.peakDuringOutage.value)}/s at ${mmss(r.peakDuringOutage.at)}); ${n0(r.total - r.totalFailed)} tokens served; at the end ${n0(r.final.valid)}/${n0(r.managers)} managers valid`,
  });
  rows.push(outageRow(outage, 'defaults, no Retry-After'));
  rows.push(outageRow(outageRA, 'defaults, Retry-After: 120'));
  const recovered = (r) =>
    r.allValidAfterRecoveryMs === undefined
      ? `not all (${n0(r.final.neverUpdated)} never got a token)`
      : `${secs(r.allValidAfterRecoveryMs)} (longest without a valid token: ${secs(r.longestExpiredMs)})`;
  rows.push({
    group: 'fleet',
    name: 'Fleet outage: every manager valid again, time after recovery: Retry-After: 120 vs no Retry-After',
    ours: recovered(outageRA),
    peer: recovered(outage),
    ratio:
      outage.allValidAfterRecoveryMs && outageRA.allValidAfterRecoveryMs !== undefined
        ? times(outageRA.allValidAfterRecoveryMs, outage.allValidAfterRecoveryMs)
        : 'n/a',
    target: 'info',
    pass: null,
  });
  const wall = (r) =>
    `${((r.buildMs + r.runMs) / 1000).toFixed(1)} s (CPU ${(r.cpuMs / 1000).toFixed(1)} s; ${(r.timersFired / 1e6).toFixed(1)} M timer callbacks)`;
  rows.push({
    group: 'fleet',
    name: `Fleet simulation wall time, ${n0(MANAGERS)} managers × 3 simulated hours: defaults vs refreshSpreadMs: 0`,
    ours: wall(spread),
    peer: wall(herd),
    ratio: times(spread.buildMs + spread.runMs, herd.buildMs + herd.runMs),
    target: 'info',
    pass: null,
    note: `outage runs (${mmss(OUTAGE_START_S)}–${mmss(OUTAGE_RUN_S)}): ${wall(outage)} without Retry-After, ${wall(outageRA)} with; the fleet took ${(wallMs / 1000).toFixed(1)} s with ${slots} scenario process(es) at a time`,
  });
  rows.push({
    group: 'fleet',
    name: 'Fleet simulation heap per manager (one client each), after GC: defaults vs refreshSpreadMs: 0',
    ours: `${kb(spread.heapPerManager)} (after 3 h: ${kb(spread.heapAtEnd)})`,
    peer: `${kb(herd.heapPerManager)} (after 3 h: ${kb(herd.heapAtEnd)})`,
    ratio: times(spread.heapPerManager, herd.heapPerManager),
    target: 'info',
    pass: null,
    note: `whole fleet ${((spread.heapPerManager * MANAGERS) / 2 ** 20).toFixed(0)} MB; per million managers ${((spread.heapPerManager * 1e6) / 2 ** 30).toFixed(2)} GB`,
  });
  const sanity = Object.values(results).filter((r) => r.final.neverUpdated > 0 || r.final.valid !== r.managers);
  if (sanity.length) rows[0].note = `not every manager ended valid in: ${sanity.map((r) => r.name).join(', ')}`;

  writeFileSync(join(here, FLEET_CHART), chart(results));
  const cpu = os.cpus();
  const env = `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model?.trim() ?? 'unknown CPU'}, ${os.platform()} ${os.arch()}; the fleet took ${(wallMs / 1000).toFixed(1)} s (${slots} scenario processes at a time; load average ${load.toFixed(1)} when it began)${QUICK ? ' (BENCH_QUICK: rough numbers)' : ''}`;
  return { rows, results, wallMs, env, section: section(rows, env) };
}

function chart({ herd, spread, outage, outageRetryAfter }) {
  const N = n0(herd.managers);
  return fleetChart({
    title: `Token server load: ${N} AccessManagers, 1-hour tokens all minted within 5 s`,
    subtitle: 'requests per second of simulated time (503 answers included), one shared manual clock, seeded',
    series: [
      { label: `refreshSpreadMs: 0, the fixed schedule every peer uses (peak ${n0(herd.peak.value)}/s)`, color: '#d62728', perSecond: herd.fetches, panels: [0, 1] },
      { label: `defaults: refresh spread over 90 s (peak ${n0(spread.peak.value)}/s)`, color: '#1f5fbf', perSecond: spread.fetches, panels: [0, 1] },
      {
        label: `defaults, 503 for 10 min, no Retry-After (after recovery: peak ${n0(outage.peakAfterRecovery.value)}/s)`,
        color: '#e08a00',
        perSecond: outage.fetches,
        panels: [1],
      },
      {
        label: `defaults, 503 for 10 min with Retry-After: 120 (after recovery: peak ${n0(outageRetryAfter.peakAfterRecovery.value)}/s)`,
        color: '#2a9d3a',
        dash: '6 3',
        perSecond: outageRetryAfter.fetches,
        panels: [1],
      },
    ],
    panels: [
      { title: 'Three token lifetimes', from: 0, to: LIFETIMES_S, tickEvery: 1200 },
      {
        title: 'The first refresh, zoomed, with a token-server outage',
        from: REFRESH_S - 120,
        to: OUTAGE.to + 240,
        tickEvery: 60,
        band: { from: OUTAGE.from, to: OUTAGE.to, label: `token server answers 503 (${mmss(OUTAGE.from)}–${mmss(OUTAGE.to)})` },
      },
    ],
  });
}

function section(rows, env) {
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return `## Fleet

Generated by \`npm run bench\` (bench/fleet.mjs) on ${new Date().toISOString().slice(0, 10)}. ${env}.
${n0(MANAGERS)} managers; ratios are token-warden with its defaults ÷ the same managers with \`refreshSpreadMs: 0\`
(or ÷ that herd's peak), in the same run.

![Token server requests per second: herd, spread and outage variants](${FLEET_CHART})

${renderTable(rows)}
${notes.length ? `\nNotes:\n${notes.join('\n')}\n` : ''}
How it is measured: real \`AccessManager\`s from \`dist/index.mjs\`, each with one client
(\`updateToken(){}\`), all on one manual clock (test/helpers/clock.mjs: a binary heap of timers, \`now()\`,
\`setTimeout\`, \`clearTimeout\` and a seeded \`random()\`, so every run is the same). The fleet connects over 5 s,
each manager with a 1-hour token minted in its second of the burst (real Twilio access tokens from the \`twilio\`
package, \`iat\`/\`exp\` rewritten, one string per second). The token server is every manager's \`fetchToken\`:
it counts each request in the second it arrives, answers after 50–200 ms (seeded) and mints a token with
\`iat\` = now, \`exp\` = now + 1 h. Three lifetimes (3 simulated hours) with the defaults (\`aboutToExpireMs\`
180 s, \`refreshSpreadMs\` 90 s) and with \`refreshSpreadMs: 0\`. The outage runs use the defaults and create the
fleet at ${mmss(OUTAGE_START_S)}, holding the burst's tokens (until the first refresh a manager only wakes once a minute,
as the 3-hour runs show), and go on to ${mmss(OUTAGE_RUN_S)}; the server answers every request arriving between
${mmss(OUTAGE.from)} and ${mmss(OUTAGE.to)} (5 minutes either side of the herd's refresh moment; the tokens expire at
60:00–60:05) with an error carrying \`status: 503\`, and in one variant \`retryAfterMs: ${RETRY_AFTER_MS}\` (what
\`createTokenFetcher\` reports for \`Retry-After: 120\`).
"After recovery" counts from ${mmss(OUTAGE.to)}; "valid again" is the moment the last manager's client received
its new token, and every manager's \`state\` is checked to be \`valid\` at the end. Wall time is each scenario's
own process (building the fleet + running it), two processes at a time, with the CPU time that process used
(all its threads); heap is \`heapUsed\` after forced GC
minus the same before the fleet was built, divided by the number of managers (timers, server counters and
tokens included). The simulation runs with \`--stack-trace-limit=0\` and \`--max-semi-space-size=64\`.
`;
}

/** Replaces (or appends) the Fleet section of RESULTS.md, which is always the last one. */
export function withFleetSection(markdown, fleetSection) {
  const at = markdown.indexOf('\n## Fleet\n');
  return `${(at >= 0 ? markdown.slice(0, at) : markdown).trimEnd()}\n\n${fleetSection}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!existsSync(join(here, '../dist/index.mjs'))) {
    console.error('dist/ is missing: run `npm run build` first.');
    process.exit(2);
  }
  const { rows, env, section: fleetSection } = await runFleet({ progress: (m) => process.stderr.write(`[bench] ${m}\n`) });
  console.log(`\n${renderTable(rows)}\n\n${env}`);
  for (const r of rows.filter((r) => r.note)) console.log(`- ${r.name}: ${r.note}`);
  const results = join(here, 'RESULTS.md');
  writeFileSync(results, withFleetSection(existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmark results\n', fleetSection));
  if (process.argv.includes('--strict') && rows.some((r) => r.pass === false)) process.exit(1);
}
