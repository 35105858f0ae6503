// One fleet scenario, in a fresh process: `node --expose-gc bench/lib/fleet-sim.mjs '<json>'`, where the JSON is
// { name, managers, seconds, spreadMs?, outage?: { from, to, retryAfterMs? }, start?, seed }. Times are seconds after
// the reconnect burst began. Prints one JSON line: fetches per second of simulated time, what the fleet ended in,
// wall time and heap. With `start`, the managers are created at that time (holding the burst's tokens) instead of
// during the burst: before the first refresh they only wake once a minute, which a run from 0 shows already.
//
// Real AccessManagers from dist/ on one ManualClock. Each holds a token minted during the burst (one token per
// second of it: exp is in whole seconds anyway) and has one client. The token server is every manager's
// fetchToken: it counts each request in the second it arrives, answers after 50–200 ms, and mints a token with
// iat = now, exp = now + 1 h (one string per second, shared like the burst's), or fails with status 503 (and
// `retryAfterMs`, as createTokenFetcher reports `Retry-After`) while an outage lasts.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ManualClock, seededRandom } from '../../test/helpers/clock.mjs';
import { START as T0 } from '../../test/helpers/time.mjs';
import { mintToken, withClaims } from '../../test/helpers/tokens.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const { managers: N = 10_000, seconds = 3 * 3600, spreadMs, outage, start = 0, seed = 20261123 } = config;
const BURST_S = 5;
const TTL_S = 3600;
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { AccessManager } = await import(pathToFileURL(join(root, 'dist/index.mjs')).href);

const heapAfterGc = () => {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

// --- tokens: a real Twilio access token, re-issued for any second by rewriting iat/exp/jti (the signature
// segment stays well-formed base64url; decoding never verifies it).
const minted = mintToken({ identity: 'fleet_user', at: T0, ttl: TTL_S, grants: ['chat'] });
const tokens = new Map();
const tokenAt = (second) => {
  let token = tokens.get(second);
  if (token === undefined) {
    token = withClaims(minted, (claims) => ({ ...claims, jti: `${claims.iss}-${second}`, iat: second, exp: second + TTL_S }));
    tokens.set(second, token);
  }
  return token;
};
const T0s = T0 / 1000;

// --- the shared clock and the token server
// Promise work: a timer callback that settles a promise (the token server answering) sets `answered`; before time
// moves past that moment, the clock yields one macrotask so every promise chain it started (the manager adopting
// the token, the client fan-out, re-arming timers) finishes at that simulated time. Callbacks that only re-arm
// timers (the managers' wake-ups) need no such turn, which keeps millions of them cheap. The clock keeps no list
// of armed delays: millions of them would weigh on the heap this measures.
let answered = false;
const macrotask = () => new Promise((resolve) => setImmediate(resolve));
const clock = new ManualClock(T0 + start * 1000, {
  seed,
  recordArmed: false,
  settle: (nextDue) => {
    if (!answered || nextDue <= clock.now()) return undefined;
    answered = false;
    return macrotask();
  },
});
const run = (end) => clock.advance(end - clock.now());
const latencyRandom = seededRandom(seed ^ 0x5bd1e995);
const fetches = new Uint32Array(seconds + 1);
const failures = new Uint32Array(seconds + 1);
const outageFrom = outage ? T0 + outage.from * 1000 : Infinity;
const outageTo = outage ? T0 + outage.to * 1000 : -Infinity;
// One error object for every 503 (what a fetcher throws; the manager only reads it).
const unavailable = Object.freeze(
  Object.assign(new Error('HTTP 503 Service Unavailable'), { status: 503 }, outage?.retryAfterMs === undefined ? {} : { retryAfterMs: outage.retryAfterMs }),
);

const fetchToken = () => {
  const arrived = clock.now();
  const second = Math.floor((arrived - T0) / 1000);
  if (second <= seconds) fetches[second]++;
  const down = arrived >= outageFrom && arrived < outageTo;
  if (down && second <= seconds) failures[second]++;
  const latency = 50 + Math.floor(latencyRandom() * 151);
  return new Promise((resolve, reject) => {
    clock.setTimeout(() => {
      answered = true;
      if (down) reject(unavailable);
      else resolve(tokenAt(Math.floor(clock.now() / 1000)));
    }, latency);
  });
};

// --- the fleet
const firstUpdate = new Float64Array(N); // simulated time of each client's first pushed token (0: none yet)
const updates = new Uint8Array(N);
class Client {
  constructor(index) {
    this.index = index;
  }
  updateToken() {
    const i = this.index;
    if (updates[i]++ === 0) firstUpdate[i] = clock.now();
  }
}
const errors = {};
const onError = (error) => {
  errors[error.code] = (errors[error.code] ?? 0) + 1;
};

const heapBefore = heapAfterGc();
const wall0 = performance.now();
const cpu0 = process.cpuUsage();
const options = { fetchToken, clock };
if (spreadMs != null) options.refreshSpreadMs = spreadMs;
const fleet = new Array(N);
const mintSecond = (i) => T0s + Math.floor((i * BURST_S) / N);
const connect = (i) => {
  const manager = new AccessManager({ ...options, token: tokenAt(mintSecond(i)) });
  manager.on('error', onError);
  manager.addClient(new Client(i));
  fleet[i] = manager;
};
if (start > 0) {
  for (let i = 0; i < N; i++) connect(i);
} else {
  // The burst: clients connect over 5 seconds, each with a token minted as it connects.
  for (let s = 0; s < BURST_S; s++) {
    for (let i = Math.ceil((s * N) / BURST_S); i < Math.ceil(((s + 1) * N) / BURST_S); i++) connect(i);
    await run(T0 + (s + 1) * 1000);
  }
}
const buildMs = performance.now() - wall0;
const heapPerManager = (heapAfterGc() - heapBefore) / N;

const wall1 = performance.now();
await run(T0 + seconds * 1000);
const runMs = performance.now() - wall1;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const heapAtEnd = (heapAfterGc() - heapBefore) / N;

// --- what the fleet ended in
let valid = 0;
let expired = 0;
let lastRecovered = 0;
let longestExpiredMs = 0;
let neverUpdated = 0;
for (let i = 0; i < N; i++) {
  const manager = fleet[i];
  if (manager.state === 'valid' && !manager.isExpired) valid++;
  if (manager.isExpired) expired++;
  if (updates[i] === 0) neverUpdated++;
  else {
    lastRecovered = Math.max(lastRecovered, firstUpdate[i]);
    longestExpiredMs = Math.max(longestExpiredMs, firstUpdate[i] - (mintSecond(i) + TTL_S) * 1000);
  }
}
const pendingTimers = clock.pending;
for (const manager of fleet) manager.dispose();

const sum = (a) => a.reduce((x, y) => x + y, 0);
const peak = (a, from = 0, to = a.length) => {
  let best = 0;
  let at = from;
  for (let s = from; s < Math.min(to, a.length); s++) if (a[s] > best) [best, at] = [a[s], s];
  return { value: best, at };
};
const recovery = outage ? Math.min(outage.to, seconds) : 0;
process.stdout.write(
  `${JSON.stringify({
    name: config.name,
    managers: N,
    seconds,
    fetches: Array.from(fetches),
    failures: Array.from(failures),
    total: sum(fetches),
    totalFailed: sum(failures),
    peak: peak(fetches),
    peakAfterRecovery: outage ? peak(fetches, recovery) : undefined,
    peakDuringOutage: outage ? peak(fetches, outage.from, outage.to) : undefined,
    allValidAfterRecoveryMs: outage && neverUpdated === 0 ? lastRecovered - T0 - outage.to * 1000 : undefined,
    longestExpiredMs: Math.max(0, longestExpiredMs),
    updatesPerManager: { min: updates.reduce((a, b) => Math.min(a, b), 255), max: updates.reduce((a, b) => Math.max(a, b), 0) },
    final: { valid, expired, neverUpdated },
    errors,
    timersFired: clock.fired,
    pendingTimers,
    buildMs,
    runMs,
    cpuMs,
    heapPerManager,
    heapAtEnd,
    heapTotalMB: process.memoryUsage().heapUsed / 2 ** 20,
  })}\n`,
);
