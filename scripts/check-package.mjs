#!/usr/bin/env node
// Packaging gates, run on exactly what `npm publish` would upload:
//   1. build (skip with --no-build), then `npm pack` into a temp dir and unpack it as node_modules/token-warden
//      of a throwaway consumer project;
//   2. publint on the unpacked package (warnings count as errors; suggestions are printed only);
//   3. @arethetypeswrong/cli on the tarball, profile "node16" (see below);
//   4. tsc on test/consumer/index.ts against the unpacked package, under `moduleResolution: nodenext` and
//      `bundler` (test/consumer/tsconfig.*.json).
// Exits non-zero when any gate fails. `--keep` leaves the temp dir for inspection.
//
// Why attw's "node16" profile: it checks node16/nodenext resolution from both ESM and CJS importers and bundler
// resolution, and skips only "node10" (TypeScript's `moduleResolution: node`/`node10`, deprecated since TS 5.x).
// node10 ignores `exports`, so `token-warden/http` and `token-warden/twilio` cannot resolve there without a
// `typesVersions` map or stub directories; the root entry still works there through `main`/`types`.
// The `./token-warden.umd.min.js` export is left out of the attw run (see there).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const failures = [];

const heading = (text) => console.log(`\n== ${text}`);
const run = (command, argv, options = {}) => {
  const result = spawnSync(command, argv, { cwd: root, encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return result;
};
const fail = (gate, detail) => {
  failures.push(gate);
  console.log(`✗ ${gate}${detail ? `: ${detail}` : ''}`);
};
const ok = (gate) => console.log(`✓ ${gate}`);
/** A gate failed in a way that makes the later ones meaningless. */
class Abort extends Error {}

const tmp = mkdtempSync(join(os.tmpdir(), 'token-warden-pack-'));
try {
  if (!args.has('--no-build')) {
    heading('build');
    const build = run('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) {
      throw new Abort('build');
    }
  }

  heading('npm pack');
  const pack = run('npm', ['pack', '--json', '--pack-destination', tmp]);
  if (pack.status !== 0) {
    console.log(pack.stdout, pack.stderr);
    throw new Abort('npm pack');
  }
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
  const tarball = join(tmp, info.filename);
  console.log(`${info.filename}: ${info.entryCount} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
  for (const file of info.files) console.log(`  ${file.path} (${file.size} B)`);

  // A consumer project: the unpacked tarball as node_modules/token-warden; its dependencies and peers
  // (eventemitter3, ky, the Twilio SDK types) are symlinked from this repo's node_modules.
  const consumer = join(tmp, 'consumer');
  const installed = join(consumer, 'node_modules', 'token-warden');
  mkdirSync(installed, { recursive: true });
  const untar = run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  if (untar.status !== 0) {
    console.log(untar.stderr);
    throw new Abort('unpack tarball');
  }
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === 'token-warden' || entry.startsWith('.')) continue;
    symlinkSync(join(root, 'node_modules', entry), join(consumer, 'node_modules', entry));
  }

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
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const configs = readdirSync(consumer).filter((f) => /^tsconfig\..+\.json$/.test(f));
  if (configs.length === 0) fail('consumer type-check', 'no test/consumer/tsconfig.*.json');
  for (const config of configs) {
    const result = run(process.execPath, [tsc, '-p', join(consumer, config), '--pretty', 'false'], { cwd: consumer });
    const output = `${result.stdout}${result.stderr}`.trim();
    if (result.status !== 0) {
      console.log(output.replaceAll(`${consumer}/`, ''));
      fail(`tsc -p ${config}`);
    } else ok(`tsc -p ${config}`);
  }
} catch (error) {
  if (!(error instanceof Abort)) throw error;
  fail(error.message);
} finally {
  if (args.has('--keep')) console.log(`\nkept ${relative(process.cwd(), tmp) || tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

if (failures.length) {
  console.log(`\npackage checks failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('\npackage checks passed');
