// The ky copies the http tests run against, each suite once per copy (`describe.each(KY_VERSIONS)`): ky 2 (the
// `ky` package) and ky 1 (installed as `ky-v1`), whose hook arguments, retry loop and base-URL option differ.
// TOKEN_WARDEN_TEST_KY may name one more ky package directory (e.g. an unpacked `npm pack ky@1.7.0`, the oldest
// version of the peer range) to run the same suites against it too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ky2, { type KyInstance, type Options } from 'ky';
import kyV1 from 'ky-v1';

export interface KyUnderTest {
  /** e.g. `ky 2.1.0`: the suite's title. */
  name: string;
  major: number;
  /** Typed as the `ky` package's instance whatever the copy: the helpers take the installed ky's type. */
  ky: KyInstance;
  /** This major's base-URL option: `{ prefixUrl }` in ky 1, `{ prefix }` in ky 2. */
  base(url: string): Options;
}

function underTest(dir: string, ky: unknown): KyUnderTest {
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  const major = Number(version.split('.')[0]);
  return {
    name: `ky ${version}`,
    major,
    ky: ky as KyInstance,
    base: (url) => (major >= 2 ? { prefix: url } : ({ prefixUrl: url } as Options)),
  };
}

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const extraDir = process.env.TOKEN_WARDEN_TEST_KY;

export const KY_VERSIONS: KyUnderTest[] = [
  underTest(join(modules, 'ky-v1'), kyV1),
  underTest(join(modules, 'ky'), ky2),
  ...(extraDir
    ? [
        underTest(
          extraDir,
          ((await import(pathToFileURL(join(extraDir, 'distribution', 'index.js')).href)) as { default: unknown }).default,
        ),
      ]
    : []),
];

/** Like ky's `isHTTPError`, but for whichever ky is under test (the classes differ between copies). */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { name?: unknown; response?: { status?: unknown } } | null;
  return e?.name === 'HTTPError' && typeof e.response?.status === 'number' ? e.response.status : undefined;
}

/**
 * A test hook's request and response, however the ky under test passes them: positional `(request, options,
 * response)` in ky 1, one `{ request, options, response }` object in ky 2.
 */
export function hookArgs(args: unknown[]): { request: Request; response: Response | undefined } {
  const [first] = args;
  if (first instanceof Request) return { request: first, response: args[2] as Response | undefined };
  const state = first as { request: Request; response?: Response };
  return { request: state.request, response: state.response };
}
