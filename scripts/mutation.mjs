// `npm run test:mutation [-- <stryker options>]`: Stryker (stryker.config.mjs) with its incremental state kept
// across per-module runs.
//
// Stryker rewrites its incremental file with the results of the files it mutated this time only, so a run with
// `--mutate src/retry.ts` would forget every other module. This wrapper puts the forgotten files back, with their
// test ids translated to the new run's ids (ids are per run; tests are matched by file and full name, and one
// that no longer exists is dropped), so the committed file always holds the latest result of every module.
//
// `node scripts/mutation.mjs --table` prints the per-module table of docs/testing.md from that file.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stateFile = new URL('../reports/stryker-incremental.json', import.meta.url);
const args = process.argv.slice(2);

const read = () => (existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : undefined);

if (args[0] === '--table') {
  printTable(read());
  process.exit(0);
}

const before = read();
const started = Date.now();
const bin = process.platform === 'win32' ? 'stryker.cmd' : 'stryker';
const run = spawnSync(new URL(`../node_modules/.bin/${bin}`, import.meta.url).pathname, ['run', ...args], {
  cwd: root,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
const after = read();
if (before && after && after !== before) writeFileSync(stateFile, `${JSON.stringify(merge(before, after), null, 2)}\n`);
console.log(`test:mutation: wall time ${((Date.now() - started) / 60_000).toFixed(1)} min`);
process.exit(run.status ?? 1);

/** `after` plus every file of `before` that `after` lacks, test ids remapped. */
function merge(old, next) {
  const keyOf = (report) => {
    const byId = new Map();
    for (const [file, { tests }] of Object.entries(report.testFiles ?? {})) {
      for (const test of tests) byId.set(test.id, `${file}\u0000${test.name}`);
    }
    return byId;
  };
  const oldKeys = keyOf(old);
  const newIds = new Map([...keyOf(next)].map(([id, key]) => [key, id]));
  const remap = (ids) => ids?.map((id) => newIds.get(oldKeys.get(id))).filter((id) => id !== undefined);
  const files = { ...next.files };
  for (const [name, file] of Object.entries(old.files)) {
    if (name in files || !existsSync(new URL(`../${name}`, import.meta.url))) continue;
    files[name] = {
      ...file,
      mutants: file.mutants.map((m) => ({ ...m, coveredBy: remap(m.coveredBy), killedBy: remap(m.killedBy) })),
    };
  }
  return { ...next, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) };
}

/** Module | mutants | killed | survived | equivalent (disabled) | score, as in docs/testing.md. */
function printTable(report) {
  if (!report) throw new Error('no reports/stryker-incremental.json yet: run npm run test:mutation first');
  console.log('| module | mutants | killed | survived | equivalent (disabled) | score |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, { mutants }] of Object.entries(report.files)) {
    const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
    const killed = count('Killed', 'Timeout');
    const survived = count('Survived', 'NoCoverage');
    const ignored = count('Ignored');
    const score = killed + survived === 0 ? 'n/a' : `${((100 * killed) / (killed + survived)).toFixed(1)}%`;
    console.log(`| ${name} | ${mutants.length} | ${killed} | ${survived} | ${ignored} | ${score} |`);
  }
}
