// One side of the memory benchmark, in a fresh process: `node --expose-gc bench/lib/memory.mjs ours|bare N`.
// Prints JSON: heap growth (heapUsed after forced GC) over N token rotations with 100 async clients, measured
// after 2,000 warm-up rotations. "ours" pushes through an AccessManager on a manual clock; "bare" runs the same
// rotations through a plain Promise.all loop, the noise floor of the measurement.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ManualClock } from '../../test/helpers/clock.mjs';
import { tokenSeries } from '../../test/helpers/tokens.mjs';

const [mode = 'ours', count = '100000'] = process.argv.slice(2);
const ROTATIONS = Number(count);
const WARMUP = 2_000;
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const collect = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};

// No list of armed delays: 100,000 rotations of them would be what this measures.
const clock = new ManualClock(undefined, { recordArmed: false });
const make = tokenSeries({ at: clock.now(), ttl: 3600 });
const clients = Array.from({ length: 100 }, () => {
  const client = { token: undefined, async updateToken(t) { client.token = t; } };
  return client;
});

let push;
let errors = 0;
let manager;
if (mode === 'ours') {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const { AccessManager } = await import(pathToFileURL(join(root, 'dist/index.mjs')).href);
  manager = new AccessManager({ token: make(0), clock });
  manager.on('error', () => errors++);
  for (const client of clients) manager.addClient(client);
  push = (i) => manager.updateToken(make(i));
} else {
  push = (i) => {
    const token = make(i);
    return Promise.all(clients.map((c) => c.updateToken(token)));
  };
}

for (let i = 1; i <= WARMUP; i++) await push(i);
await collect();
const before = process.memoryUsage().heapUsed;
const t0 = performance.now();
for (let i = WARMUP + 1; i <= WARMUP + ROTATIONS; i++) await push(i);
const elapsedMs = performance.now() - t0;
await collect();
const growth = process.memoryUsage().heapUsed - before;
if (clients[99].token !== make(WARMUP + ROTATIONS)) throw new Error('the last token did not reach every client');
const pendingTimers = clock.pending;
manager?.dispose();
process.stdout.write(JSON.stringify({ mode, rotations: ROTATIONS, growth, elapsedMs, pendingTimers, errors }));
