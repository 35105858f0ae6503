#!/usr/bin/env node
// Type-checks every TypeScript sample of the documentation against the packed package, so a sample cannot drift
// from the API:
//   1. build (skip with --no-build), `npm pack`, and install the tarball into a throwaway consumer project
//      (scripts/lib/packed-consumer.mjs: its other node_modules, ky and the Twilio SDKs among them, are symlinks
//      into this repo's);
//   2. every ```ts and ```tsx block of README.md, CONTRIBUTING.md and docs/*.md becomes its own module there
//      (each is a complete program: it imports what it uses and declares its stand-ins with `declare`);
//   3. one strict `tsc` run over all of them, as a browser app would compile them (lib es2022 + dom, no Node
//      types, `verbatimModuleSyntax`). Errors are reported at their Markdown file and line.
// A block may opt out with ```ts nocheck (a fragment that cannot stand alone); keep those rare.
// `--keep` leaves the temp dir for inspection. Exits non-zero when a sample does not compile.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Abort, packIntoConsumer, root, run, tempDir } from './lib/packed-consumer.mjs';

const args = new Set(process.argv.slice(2));

/** The Markdown files whose samples are checked, relative to the repo. */
function documents() {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((file) => file.endsWith('.md'))
        .sort()
        .map((file) => `docs/${file}`)
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...docs].filter((file) => existsSync(join(root, file)));
}

/**
 * The fenced code blocks of a Markdown file: `{ lang, flags, line, code }`, `line` being the 1-based line of the
 * first code line. Fences may be indented (inside list items); the indentation is removed from the code.
 */
function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const closes = (text) => {
      const trimmed = text.trim();
      return trimmed.length >= fence.length && trimmed === fence[0].repeat(trimmed.length);
    };
    const body = [];
    let j = i + 1;
    while (j < lines.length && !closes(lines[j])) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
      j++;
    }
    blocks.push({ lang: lang.toLowerCase(), flags: info.split(/\s+/).filter(Boolean), line: i + 2, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

const COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'ESNext',
  moduleResolution: 'bundler',
  moduleDetection: 'force',
  lib: ['ES2022', 'DOM', 'DOM.Iterable'],
  types: [],
  strict: true,
  verbatimModuleSyntax: true,
  jsx: 'react-jsx',
  noEmit: true,
  // The package's declarations are checked without skipLibCheck by check-package.mjs; here only the samples count.
  skipLibCheck: true,
};

const tmp = tempDir('token-warden-samples-', args.has('--keep'));
let failed = false;
try {
  if (!args.has('--no-build')) {
    const build = run('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Abort('build');
  }
  const { consumer } = packIntoConsumer(tmp.dir);
  const samples = join(consumer, 'samples');
  mkdirSync(samples);

  /** Generated file name -> where its code starts in the Markdown. */
  const origins = new Map();
  const summary = [];
  for (const doc of documents()) {
    const blocks = codeBlocks(readFileSync(join(root, doc), 'utf8')).filter((b) => b.lang === 'ts' || b.lang === 'tsx');
    const checked = blocks.filter((b) => !b.flags.includes('nocheck'));
    for (const block of checked) {
      const file = `${doc.replace(/[^\w]+/g, '_')}_L${block.line}.${block.lang}`;
      writeFileSync(join(samples, file), `${block.code}\n`);
      origins.set(`samples/${file}`, { doc, line: block.line });
    }
    summary.push(`${doc}: ${checked.length} checked${blocks.length > checked.length ? `, ${blocks.length - checked.length} nocheck` : ''}`);
  }
  console.log(summary.join('\n'));
  if (origins.size === 0) throw new Abort('no ```ts samples found');

  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: COMPILER_OPTIONS, include: ['samples'] }, null, 2),
  );
  const started = Date.now();
  const tsc = run(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false'], {
    cwd: consumer,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (tsc.status !== 0) {
    // `samples/README_md_L42.ts(3,7): error TS2304: ...` -> `README.md:44:7: error TS2304: ...`
    const output = `${tsc.stdout}${tsc.stderr}`.trim().replace(/^(samples\/[^(\s]+)\((\d+),(\d+)\)/gm, (match, file, line, column) => {
      const origin = origins.get(file);
      return origin ? `${origin.doc}:${origin.line + Number(line) - 1}:${column}` : match;
    });
    console.log(output);
    console.log(`\n✗ samples do not compile against the packed package (tsc ${seconds} s)`);
    failed = true;
  } else {
    console.log(`✓ ${origins.size} samples compile against the packed package (tsc ${seconds} s)`);
  }
} catch (error) {
  if (!(error instanceof Abort)) throw error;
  console.log(`✗ ${error.message}`);
  failed = true;
} finally {
  tmp.done();
}
process.exit(failed ? 1 : 0);
