import { AccessManagerError } from './errors.js';

/** A JWT decoded without verification. */
export interface DecodedToken {
  /** The JOSE header, e.g. `{ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' }`. */
  header: Record<string, unknown>;
  /** The claims. */
  payload: Record<string, unknown>;
  /** From `exp` (seconds since the epoch). */
  expiresAt: Date;
  /** From `iat`, when present. */
  issuedAt?: Date;
  /** From `nbf`, when present. */
  notBefore?: Date;
  /** `payload.grants.identity`, else `payload.sub` when the token has no `grants`. */
  identity?: string;
  /** `payload.grants`, or `{}`. */
  grants: Record<string, unknown>;
}

/** Why a token is malformed: decoding returns it instead of the decoded token. */
type Malformed = string;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// The base64url alphabet: \w is exactly [A-Za-z0-9_] without the `u` and `i` flags.
const BASE64URL = /^[\w-]+$/;
/**
 * Only base64url characters (`atob` alone would also take `+`, `/` and spaces), at least one (an empty header or
 * payload is no JSON either), in a length base64 encoding can produce: never 1 mod 4.
 */
const isBase64url = (part: string): boolean => BASE64URL.test(part) && part.length % 4 !== 1;
/** Created on first use (not at import: `sideEffects: false`), then shared. */
let utf8: TextDecoder | undefined;

function decodePart(part: string, name: string): Record<string, unknown> | Malformed {
  let value: unknown;
  try {
    // Not base64url: on to the catch, like a failed decoding.
    if (!isBase64url(part)) throw name;
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    // A plain loop: `Uint8Array.from(binary, mapFn)` goes through the iterator protocol and is ~5x slower.
    const bytes = new Uint8Array(binary.length);
    // Stryker disable next-line EqualityOperator: one more step writes past the end of the Uint8Array, which is ignored
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    value = JSON.parse((utf8 ??= new TextDecoder('utf-8', { fatal: true })).decode(bytes));
  } catch {
    // One message for every encoding layer (base64url, UTF-8, JSON), and never the part itself.
    return `${name} is not base64url-encoded JSON`;
  }
  return isRecord(value) ? value : `${name} is not a JSON object`;
}

// A Date beyond ±8.64e15 ms is invalid, so an absurd `exp` counts as malformed too.
const seconds = (value: unknown): Date | undefined =>
  typeof value === 'number' && Math.abs(value) <= 8.64e12 ? new Date(value * 1000) : undefined;

/**
 * Decodes a JWT (such as a Twilio access token) without verifying its signature: a browser holds no key to
 * verify it with, and does not need to. Only the server that receives the token can trust its contents, so use
 * the result for scheduling and display, never for authorization decisions.
 *
 * @throws {@link AccessManagerError} with code `TOKEN_MALFORMED` when the value is not a string, does not have
 * three dot-separated parts, the header or payload is not a base64url-encoded JSON object, the signature is empty
 * or not base64url, or `exp` is missing or not a finite number. The message never contains the token or any part of it.
 *
 * @example
 * ```ts
 * const { identity, expiresAt, grants } = decodeToken(token);
 * console.log(`${identity} until ${expiresAt.toISOString()}`, Object.keys(grants));
 * ```
 */
export function decodeToken(token: string): DecodedToken {
  const decoded = decodeOrWhy(token);
  if (typeof decoded === 'string') throw new AccessManagerError('TOKEN_MALFORMED', `Token is malformed: ${decoded}.`);
  return decoded;
}

/** {@link decodeToken}, returning why the token is malformed instead of throwing, so callers can phrase it. */
export function decodeOrWhy(token: unknown): DecodedToken | Malformed {
  if (typeof token !== 'string') return 'expected a string';
  const parts = token.split('.');
  if (parts.length !== 3) return 'expected three dot-separated parts';
  const header = decodePart(parts[0]!, 'header');
  if (typeof header === 'string') return header;
  const payload = decodePart(parts[1]!, 'payload');
  if (typeof payload === 'string') return payload;
  // Not verified here, but a token without a well-formed signature is no token a server would accept.
  if (!isBase64url(parts[2]!)) return 'signature is missing or not base64url';
  const expiresAt = seconds(payload.exp);
  if (!expiresAt) return '"exp" is missing or not a finite number';

  const grants = isRecord(payload.grants) ? payload.grants : undefined;
  // A token with `grants` (Twilio's) names its identity there only: its `sub` is the account SID, not a user.
  const identity = grants ? grants.identity : payload.sub;

  const issuedAt = seconds(payload.iat);
  const notBefore = seconds(payload.nbf);
  // The optional fields are absent, not undefined, when the token lacks them.
  return {
    header,
    payload,
    expiresAt,
    grants: grants ?? {},
    ...(issuedAt && { issuedAt }),
    ...(notBefore && { notBefore }),
    ...(typeof identity === 'string' && { identity }),
  };
}
