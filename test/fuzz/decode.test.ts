// decodeToken against anything: it returns a well-formed DecodedToken or throws AccessManagerError TOKEN_MALFORMED,
// never anything else, and its message quotes neither the input nor any segment of it. What it accepts is compared
// with a reference decoder written from the rules (three non-empty base64url segments, JSON objects, a finite exp).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessManagerError, type DecodedToken, decodeToken } from '../../src/index.js';
import { mintToken } from '../helpers/tokens.mjs';
import { build, hostileSpec } from './hostile.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The reference: what the rules say about `input`, or `undefined` when it is malformed. */
function reference(input: unknown): { header: unknown; payload: Record<string, unknown>; exp: number } | undefined {
  if (typeof input !== 'string') return undefined;
  const parts = input.split('.');
  if (parts.length !== 3) return undefined;
  if (!parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part) && part.length % 4 !== 1)) return undefined;
  const json = (part: string): unknown => {
    try {
      return JSON.parse(strictUtf8.decode(Buffer.from(part, 'base64url')));
    } catch {
      return undefined;
    }
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const header = json(parts[0]!);
  const payload = json(parts[1]!);
  if (!isObject(header) || !isObject(payload)) return undefined;
  const exp = payload.exp;
  // A Date holds ±8.64e15 ms: a finite exp beyond that has no Date to report and counts as malformed.
  if (typeof exp !== 'number' || !Number.isFinite(exp) || Math.abs(exp * 1000) > 8.64e15) return undefined;
  return { header, payload, exp };
}

type Outcome = { ok: true; decoded: DecodedToken } | { ok: false; error: unknown };

function attempt(input: unknown): Outcome {
  try {
    return { ok: true, decoded: decodeToken(input as string) };
  } catch (error) {
    return { ok: false, error };
  }
}

let accepted = 0;

/** Asserts the contract for one input, and that it agrees with the reference. */
function check(input: unknown): void {
  const outcome = attempt(input);
  if (outcome.ok) accepted++;
  const expected = reference(input);
  if (!outcome.ok) {
    const { error } = outcome;
    expect(error).toBeInstanceOf(AccessManagerError);
    expect((error as AccessManagerError).code).toBe('TOKEN_MALFORMED');
    expect((error as AccessManagerError).name).toBe('AccessManagerError');
    const message = (error as Error).message;
    expect(typeof message).toBe('string');
    if (typeof input === 'string') {
      if (input.length >= 8) expect(message).not.toContain(input);
      for (const part of input.split('.')) if (part.length >= 6) expect(message).not.toContain(part);
    }
    expect(expected, 'the reference accepts what decodeToken refused').toBeUndefined();
    return;
  }
  expect(expected, 'decodeToken accepted what the reference refuses').toBeDefined();
  const { decoded } = outcome;
  expect(decoded.header).toEqual(expected!.header);
  expect(decoded.payload).toEqual(expected!.payload);
  expect(decoded.expiresAt).toBeInstanceOf(Date);
  expect(decoded.expiresAt.getTime()).toBe(new Date(expected!.exp * 1000).getTime());
  expect(typeof decoded.grants).toBe('object');
  expect(decoded.grants).not.toBeNull();
  if (decoded.identity !== undefined) expect(typeof decoded.identity).toBe('string');
  for (const date of [decoded.issuedAt, decoded.notBefore]) {
    if (date !== undefined) expect(Number.isFinite(date.getTime())).toBe(true);
  }
}

// --- arbitraries: from noise to nearly valid tokens

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('{}', '[]', 'null', '"x"', '1', '{"exp":1}', '{"exp":"1"}', '{"exp":1e400}', '\ufeff{"exp":1}'),
);

const expValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -2e9, max: 5e9 }) },
  fc.double(),
  fc.constantFrom(8.64e12, 8.64e12 + 1, -8.64e12, -8.64e12 - 1, 1e300, Number.MAX_VALUE, 0, -0),
  fc.constantFrom('1', null, true, [], {}, undefined),
);

const payloadText = fc.oneof(
  fc
    .record(
      {
        exp: expValue,
        iat: expValue,
        nbf: expValue,
        sub: fc.oneof(fc.string(), fc.integer()),
        grants: fc.oneof(
          fc.record({ identity: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }, { requiredKeys: [] }),
          fc.constantFrom(null, [], 'grants', 1),
        ),
      },
      { requiredKeys: ['exp'] },
    )
    .map((value) => JSON.stringify(value)),
  jsonish.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
);

const headerText = fc.oneof(
  { weight: 3, arbitrary: fc.constant(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) },
  fc.constant(JSON.stringify({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' })),
  jsonish.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
);

/** A segment: encoded JSON, or noise from the base64url alphabet, the standard one, or anything. */
const segment = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 10, arbitrary: text.map(b64) },
    { weight: 1, arbitrary: text.map((t) => Buffer.from(t).toString('base64')) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9+/=_ -]{0,12}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  );

const signature = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{2,16}$/).filter((sig) => sig.length % 4 !== 1) },
  fc.constantFrom('', 'A', 'AA', 'c2lnbmF0dXJl', 'c2lnbmF0dXJl=', 'ab+/', 'ab cd', 'ab.cd', '%%'),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,16}$/),
  fc.string({ maxLength: 8 }),
);

const tokenish = fc
  .tuple(segment(headerText), segment(payloadText), signature, fc.constantFrom('', '', '', '', '.', '..', '.x'))
  .map(([h, p, s, tail]) => `${h}.${p}.${s}${tail}`);

/** Tokens the rules accept, with arbitrary claims beside a valid exp: the accepting side needs coverage too. */
const validish = fc
  .tuple(
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    fc.integer({ min: -8.64e12, max: 8.64e12 }),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ identity: fc.string() })),
    fc.stringMatching(/^[A-Za-z0-9_-]{2,12}$/).filter((sig) => sig.length % 4 !== 1),
  )
  .map(([claims, exp, grants, sig]) => `${b64(JSON.stringify({ alg: 'none', ...claims }))}.${b64(JSON.stringify({ ...claims, grants, exp }))}.${sig}`);

/** A real token, then one edit: a character changed, inserted or removed anywhere. */
const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: 10_000 }),
    fc.constantFrom('change', 'insert', 'delete'),
    fc.constantFrom('.', '=', '+', '/', ' ', '-', '_', 'A', '\u00e9', '\0', '%'),
  )
  .map(([at, how, char]) => {
    const token = REAL;
    const i = at % token.length;
    if (how === 'change') return token.slice(0, i) + char + token.slice(i + 1);
    if (how === 'insert') return token.slice(0, i) + char + token.slice(i);
    return token.slice(0, i) + token.slice(i + 1);
  });

const REAL = mintToken({ at: Date.UTC(2026, 10, 23, 12), identity: 'fuzz_\u00e9' });

describe('decodeToken fuzzing', () => {
  it('a real token decodes and agrees with the reference', () => {
    check(REAL);
    expect(decodeToken(REAL).identity).toBe('fuzz_\u00e9');
  });

  it('any value at all: a DecodedToken or TOKEN_MALFORMED, never another error', () => {
    fc.assert(
      fc.property(hostileSpec, (spec) => check(build(spec))),
      { numRuns: 400 },
    );
  });

  it('strings: any text, and near-valid tokens with every segment varied', () => {
    accepted = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 40 }),
          { weight: 5, arbitrary: tokenish },
          { weight: 2, arbitrary: validish },
          mutated,
        ),
        check,
      ),
      { numRuns: 1000 },
    );
    // The generators must reach the accepting side too, or agreement with the reference says little.
    expect(accepted).toBeGreaterThan(100);
  });

  it('the signature segment must be present and base64url', () => {
    const body = `${b64('{"alg":"HS256"}')}.${b64('{"exp":1}')}`;
    for (const sig of ['', 'A', 'a+b/', 'ab==', 'ab cd', 'é']) {
      const outcome = attempt(`${body}.${sig}`);
      expect(outcome.ok, `signature ${JSON.stringify(sig)}`).toBe(false);
    }
    expect(attempt(`${body}.AA`).ok).toBe(true);
  });
});
