// `node scripts/mutation-table.mjs`: the per-module mutation table of docs/testing.md, from Stryker's incremental
// state (reports/stryker-incremental.json, committed). Stryker keeps the results of modules a run did not mutate
// in that file, so after per-module runs (`npm run test:mutation -- --mutate src/retry.ts`) it holds the latest
// result of every module.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../reports/stryker-incremental.json', import.meta.url), 'utf8'));
console.log('| module | mutants | killed | survived | equivalent (disabled) | score |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
  // Timeouts count as killed (a mutant that makes a test hang is detected); no coverage counts as survived.
  const killed = count('Killed', 'Timeout');
  const survived = count('Survived', 'NoCoverage');
  const ignored = count('Ignored');
  const score = killed + survived === 0 ? 'n/a' : `${((100 * killed) / (killed + survived)).toFixed(1)}%`;
  console.log(`| ${name} | ${mutants.length} | ${killed} | ${survived} | ${ignored} | ${score} |`);
}
