// The ky the http tests run against: the installed one, or another copy of the peer range given by
// TOKEN_WARDEN_TEST_KY (a ky package directory, e.g. an unpacked `npm pack ky@1.7.0`), so the hooks can be
// checked against ky versions whose hook arguments and option handling differ.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import installed, { type KyInstance } from 'ky';

const dir = process.env.TOKEN_WARDEN_TEST_KY;

export const kyUnderTest: KyInstance = dir
  ? ((await import(pathToFileURL(join(dir, 'distribution', 'index.js')).href)) as { default: KyInstance }).default
  : installed;

/** Like ky's `isHTTPError`, but for whichever ky is under test (the classes differ between copies). */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { name?: unknown; response?: { status?: unknown } } | null;
  return e?.name === 'HTTPError' && typeof e.response?.status === 'number' ? e.response.status : undefined;
}
