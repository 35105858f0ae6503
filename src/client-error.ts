// Recognizes "your token is expired or invalid" errors from SDKs and HTTP layers. The Twilio subpath builds its
// public helpers on these, so the core and `token-warden/twilio` can never disagree about what is refreshable.
// Every value inspected here comes from outside (an SDK, a fetcher, an app): a getter may throw, a proxy may be
// revoked. Nothing here lets such a throw escape.

/**
 * Twilio codes after which a new token fixes the problem: invalid, expired (services), invalid JWT, JWT expired
 * (Voice), and twilsock's "token expired" close (sent with HTTP 410 by Conversations' and Sync's transport).
 */
export const REFRESHABLE_TWILIO_CODES = [20101, 20104, 31204, 31205, 51207] as const;

/**
 * Token-related Twilio codes that a new token from the same server does not fix (wrong key or signature, bad
 * grants, `ttl` above 24 h, clock). One of these beside an HTTP 401 means "do not refresh".
 */
export const FINAL_TWILIO_CODES = [
  20102, 20103, 20105, 20106, 20107, 20151, 20156, 20157, 20160, 31202, 31207,
] as const;

export type TwilioTokenErrorCode = (typeof REFRESHABLE_TWILIO_CODES)[number] | (typeof FINAL_TWILIO_CODES)[number];

// Short lists: includes() finds a code as fast as a Set would.
const refreshable: readonly number[] = REFRESHABLE_TWILIO_CODES;
const known: readonly number[] = [...REFRESHABLE_TWILIO_CODES, ...FINAL_TWILIO_CODES];

export const isRefreshableCode = (code: number): boolean => refreshable.includes(code);
export const isKnownTokenCode = (code: number): boolean => known.includes(code);

/**
 * The key under which an `AccessManager` takes "a client's own token event" (a refresh with the reason
 * `'client'`). `token-warden/twilio` is bundled without the class, so it finds the method by this registered
 * symbol instead of an import; it is not public API.
 */
export const CLIENT_EVENT: unique symbol = Symbol.for('token-warden.clientEvent');

const MAX_NODES = 16;

/** `value[key]`, or `undefined` when `value` is not an object or reading it throws (getter, revoked proxy). */
export function read(value: unknown, key: string): unknown {
  // Object() returns exactly objects and functions unchanged (it wraps a primitive, replaces null and undefined).
  if (Object(value) !== value) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

const numeric = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  // Number.isInteger is false for every non-number (no coercion).
  return Number.isInteger(n) ? (n as number) : undefined;
};

/** Walks `err`, its `cause` and `originalError` chains (breadth-first, bounded, cycle-safe). */
export function walkErrorChain(err: unknown, visit: (node: object) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  // An array's for-of also visits what is pushed meanwhile: the queue, in order.
  for (const node of queue) {
    if (seen.size >= MAX_NODES) break;
    if (Object(node) !== node || seen.has(node)) continue;
    seen.add(node);
    if (visit(node as object)) return true;
    queue.push(read(node, 'cause'), read(node, 'originalError'));
  }
  return false;
}

/** The first Twilio-style code (`code`, `twilioCode` or `errorCode`) in the chain that satisfies `accept`. */
export function findTwilioCode(err: unknown, accept: (code: number) => boolean): number | undefined {
  // The last code read: the accepted one when the walk stops at it.
  let code: number | undefined;
  const found = walkErrorChain(err, (node) =>
    ['code', 'twilioCode', 'errorCode'].some((key) => {
      code = numeric(read(node, key));
      return code !== undefined && accept(code);
    }),
  );
  return found ? code : undefined;
}

/** HTTP status of an error shaped like ky's `HTTPError`, a fetch `Response`, `{ status }` or a Twilio SDK payload. */
export function httpStatus(err: unknown): number | undefined {
  // `httpStatusCode` is what Twilio Conversations and Sync put on their `connectionError` payloads.
  return (
    numeric(read(read(err, 'response'), 'status')) ??
    numeric(read(err, 'status')) ??
    numeric(read(err, 'statusCode')) ??
    numeric(read(err, 'httpStatusCode'))
  );
}

/** A refreshable Twilio code anywhere in the chain, the first one found (for reports), else `undefined`. */
export const refreshableCode = (err: unknown): number | undefined => findTwilioCode(err, isRefreshableCode);

/**
 * True when the error means "the token is expired or invalid", so a new token is the fix: a refreshable Twilio
 * code anywhere in the chain, or an HTTP 401 with no known non-refreshable Twilio code beside it. Twilio answers
 * every authentication failure with 401, also "bad signature" or "wrong account", which no new token fixes:
 * refreshing on those would fetch in a loop.
 */
export function isTokenError(err: unknown): boolean {
  if (refreshableCode(err) !== undefined) return true;
  return (
    walkErrorChain(err, (node) => httpStatus(node) === 401) && findTwilioCode(err, isKnownTokenCode) === undefined
  );
}
