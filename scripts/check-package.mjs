#!/usr/bin/env node
// Packaging gates, run on exactly what `npm publish` would upload:
//   1. build (skip with --no-build), then `npm pack` into a temp dir and unpack it as node_modules/token-warden
//      of a throwaway consumer project (scripts/lib/packed-consumer.mjs);
//   2. the tarball has LICENSE, README.md and package.json, and every relative link or image in README.md points
//      at a file inside it, and at an existing heading where it names one (the README is also the registry's
//      page of the package, and there only packed files can be linked to), and its CDN URLs name the version
//      being packed;
//   3. publint on the unpacked package (warnings count as errors; suggestions are printed only);
//   4. @arethetypeswrong/cli on the tarball, profile "node16" (see below);
//   5. tsc on test/consumer against the unpacked package, strict and without skipLibCheck, with TypeScript 6 and
//      5 (the `typescript-5` devDependency): under `moduleResolution: nodenext` and `bundler`
//      (test/consumer/tsconfig.*.json), and under the `lib` settings apps commonly have (LIBS below). The configs
//      set `skipDefaultLibCheck`, which skips only TypeScript's own lib files (half the time of each run): the
//      package's declarations and those of its dependencies are still checked as an app without skipLibCheck would.
// Exits non-zero when any gate fails. `--keep` leaves the temp dir for inspection.
//
// Why attw's "node16" profile: it checks node16/nodenext resolution from both ESM and CJS importers and bundler
// resolution, and skips only "node10" (TypeScript's `moduleResolution: node`/`node10`, deprecated since TS 5.x).
// node10 ignores `exports`, so `token-warden/http`, `token-warden/twilio` and `token-warden/react` cannot resolve
// there without a `typesVersions` map or stub directories; the root entry still works there through `main`/`types`.
// The `./token-warden.umd.min.js` export is left out of the attw run (see there).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, normalize } from 'node:path';
import { Abort, packIntoConsumer, root, run, tempDir } from './lib/packed-consumer.mjs';

const args = new Set(process.argv.slice(2));
const failures = [];

const heading = (text) => console.log(`\n== ${text}`);
const fail = (gate, detail) => {
  failures.push(gate);
  console.log(`✗ ${gate}${detail ? `: ${detail}` : ''}`);
};
const ok = (gate) => console.log(`✓ ${gate}`);

/** The compilers the consumer is checked with: the repo's own TypeScript 6 and the `typescript-5` alias. */
const COMPILERS = [
  ['TS 6', 'typescript'],
  ['TS 5', 'typescript-5'],
];
/**
 * `lib` settings of real apps, each checked on top of tsconfig.bundler.json (a `lib` changes only the globals; the
 * two resolution configs, with `esnext`, `dom` and `dom.iterable` like Next.js apps, cover how the files are
 * found): Vite's template, and `es2022` + `dom` without `dom.iterable`. None has `Symbol.dispose`. disposable.ts,
 * which uses `using`, joins only where the lib has `Disposable`.
 */
const LIBS = [
  ['es2020', 'dom', 'dom.iterable'],
  ['es2022', 'dom'],
];
const hasDisposable = (lib) => lib.some((l) => l === 'esnext' || l === 'esnext.disposable');

/** Runs `node <argv>` without blocking, for a few tsc runs side by side. */
const runAsync = (argv, cwd) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output: output.trim() }));
  });

/** Maps `items` through `fn` with at most `limit` in flight, keeping their order. */
async function mapLimited(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Relative link and image targets of a Markdown file (inline `[..](x)` / `![..](x)`, `<img src>`, `<a href>`), as
 * `{ path, anchor }`; `path` is '' for a link within the file.
 */
function relativeLinks(markdown) {
  const prose = markdown.replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...prose.matchAll(/<(?:img|a)\s[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
  ];
  return targets
    .filter((target) => !/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(target))
    .map((target) => {
      const [path, anchor] = target.split('#');
      return { target, path: decodeURI(path), anchor };
    });
}

/** The anchors of a Markdown file's headings, as GitHub and npm make them. */
function headingAnchors(markdown) {
  const anchors = new Set();
  for (const [, text] of markdown.replace(/^\s*```[\s\S]*?^\s*```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = text
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** README links that do not resolve inside the unpacked package: a missing file, or a missing heading. */
function brokenReadmeLinks(installed) {
  const readme = join(installed, 'README.md');
  const broken = new Set();
  for (const { target, path, anchor } of relativeLinks(readFileSync(readme, 'utf8'))) {
    const file = path === '' ? readme : join(installed, normalize(path));
    if (!existsSync(file)) broken.add(`${target} (not in the tarball)`);
    else if (anchor && file.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(anchor)) {
      broken.add(`${target} (no such heading)`);
    }
  }
  return [...broken];
}

const tmp = tempDir('token-warden-pack-', args.has('--keep'));
try {
  if (!args.has('--no-build')) {
    heading('build');
    const build = run('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Abort('build');
  }

  heading('npm pack');
  const { tarball, consumer, installed, info } = packIntoConsumer(tmp.dir);
  console.log(`${info.filename}: ${info.entryCount} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
  for (const file of info.files) console.log(`  ${file.path} (${file.size} B)`);

  heading('tarball contents');
  const packed = new Set(info.files.map((file) => file.path));
  const missing = ['LICENSE', 'README.md', 'package.json'].filter((file) => !packed.has(file));
  if (missing.length) fail('tarball contents', `missing ${missing.join(', ')}`);
  else ok('LICENSE, README.md and package.json packed');
  // The <script> example pins the version on the CDN: it must be the one being packed.
  const readmeText = readFileSync(join(installed, 'README.md'), 'utf8');
  const stale = [...new Set([...readmeText.matchAll(/token-warden@([^/\s"'`]+)\//g)].map((m) => m[1]))].filter(
    (version) => version !== info.version,
  );
  if (stale.length) fail('README CDN URLs', `token-warden@${stale.join(', @')} in README.md, packing ${info.version}`);
  const broken = brokenReadmeLinks(installed);
  if (broken.length) fail('README links', broken.join(', '));
  else ok('every relative README link points into the tarball, at an existing heading');

  heading('publint');
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const { messages, pkg } = await publint({ pkgDir: installed, pack: false, strict: true });
  for (const message of messages) {
    console.log(`  [${message.type}] ${formatMessage(message, pkg, { color: false }) ?? message.code}`);
  }
  const blocking = messages.filter((m) => m.type !== 'suggestion');
  if (blocking.length) fail('publint', `${blocking.length} error(s)/warning(s)`);
  else ok(`publint${messages.length ? ` (${messages.length} suggestion(s))` : ''}`);

  heading('are the types wrong (profile node16)');
  const attwBin = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  // The UMD file is a <script> asset (window.TokenWarden), not a module entry point for TypeScript: it has no
  // types by design, and under "type": "module" Node would load a `require()` of it as ESM.
  const attwArgs = ['--profile', 'node16', '--exclude-entrypoints', 'token-warden.umd.min.js'];
  const attw = run(process.execPath, [attwBin, tarball, ...attwArgs, '--format', 'table-flipped', '--no-color', '--no-emoji'], {
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  process.stdout.write(attw.stdout);
  process.stderr.write(attw.stderr);
  if (attw.status !== 0) fail('attw');
  else ok('attw');

  heading('consumer type-check (test/consumer against the packed package)');
  cpSync(join(root, 'test', 'consumer'), consumer, { recursive: true });
  const bases = readdirSync(consumer).filter((f) => /^tsconfig\..+\.json$/.test(f));
  if (!bases.includes('tsconfig.bundler.json')) throw new Abort('consumer type-check: no test/consumer/tsconfig.bundler.json');
  const configs = [...bases];
  for (const lib of LIBS) {
    const config = `tsconfig.lib-${lib.join('-')}.json`;
    const files = hasDisposable(lib) ? ['index.ts', 'disposable.ts'] : ['index.ts'];
    writeFileSync(join(consumer, config), JSON.stringify({ extends: './tsconfig.bundler.json', compilerOptions: { lib }, files }));
    configs.push(config);
  }
  const jobs = COMPILERS.flatMap(([name, pkg]) => configs.map((config) => ({ name, pkg, config })));
  const started = Date.now();
  const results = await mapLimited(jobs, Math.min(2, os.availableParallelism()), ({ pkg, config }) =>
    runAsync([join(consumer, 'node_modules', pkg, 'bin', 'tsc'), '-p', config, '--pretty', 'false'], consumer),
  );
  jobs.forEach(({ name, config }, index) => {
    const { status, output } = results[index];
    const label = `${name}: tsc -p ${config}`;
    if (status !== 0) {
      console.log(output.replaceAll(`${consumer}/`, ''));
      fail(label);
    } else ok(label);
  });
  console.log(`  (${jobs.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (error) {
  if (!(error instanceof Abort)) throw error;
  fail(error.message);
} finally {
  tmp.done();
}

if (failures.length) {
  console.log(`\npackage checks failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('\npackage checks passed');
