// What `npm publish` would upload, installed the way an app gets it: `npm pack` into a temp dir, the tarball
// unpacked as node_modules/token-warden of a throwaway consumer project whose other node_modules entries
// (eventemitter3, ky, the Twilio SDKs, typescript, ...) are symlinks into this repo's node_modules.
// Shared by check-package.mjs and check-samples.mjs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs a command synchronously in the repo (unless `cwd` says otherwise); throws only when it cannot start. */
export function run(command, argv, options = {}) {
  const result = spawnSync(command, argv, { cwd: root, encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return result;
}

/** A step failed in a way that makes the later ones meaningless. */
export class Abort extends Error {}

/**
 * Packs the package (dist/ must be built) and installs it into a new consumer project under `tmp`.
 * Returns the tarball, the consumer dir, the unpacked package dir and `npm pack`'s file list.
 */
export function packIntoConsumer(tmp) {
  const pack = run('npm', ['pack', '--json', '--pack-destination', tmp]);
  if (pack.status !== 0) {
    console.log(pack.stdout, pack.stderr);
    throw new Abort('npm pack');
  }
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
  const tarball = join(tmp, info.filename);

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
  return { tarball, consumer, installed, info };
}

/** A temp dir removed again by `done()`, unless `keep` is set (then its path is printed). */
export function tempDir(prefix, keep) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  return {
    dir,
    done() {
      if (keep) console.log(`\nkept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
