// Recognizes "your token is expired or invalid" errors from SDKs and HTTP layers. The Twilio subpath builds its
// public helpers on these, so the core and `token-warden/twilio` can never disagree about what is refreshable.

/** Twilio codes after which a new token fixes the problem: invalid, expired (service), invalid JWT, JWT expired (Voice). */
export const REFRESHABLE_TWILIO_CODES: ReadonlySet<number> = new Set([20101, 20104, 31204, 31205]);

const MAX_DEPTH = 8;

const numeric = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
};

/** Walks `err`, its `cause` and `originalError` chains (breadth-first, bounded, cycle-safe). */
export function walkErrorChain(err: unknown, visit: (node: Record<string, unknown>) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < MAX_DEPTH * 2) {
    const node = queue.shift();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    const record = node as Record<string, unknown>;
    if (visit(record)) return true;
    queue.push(record.cause, record.originalError);
  }
  return false;
}

/** The first Twilio-style code (`code`, `twilioCode` or `errorCode`) in the chain that satisfies `accept`. */
export function findTwilioCode(err: unknown, accept: (code: number) => boolean): number | undefined {
  let found: number | undefined;
  walkErrorChain(err, (node) => {
    for (const key of ['code', 'twilioCode', 'errorCode']) {
      const code = numeric(node[key]);
      if (code !== undefined && accept(code)) {
        found = code;
        return true;
      }
    }
    return false;
  });
  return found;
}

/** HTTP status of an error shaped like ky's `HTTPError`, a fetch `Response`, `{ status }` or a Twilio SDK payload. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  // `httpStatusCode` is what Twilio Conversations and Sync put on their `connectionError` payloads.
  const record = err as { status?: unknown; statusCode?: unknown; httpStatusCode?: unknown; response?: { status?: unknown } | null };
  return (
    numeric(record.response?.status) ?? numeric(record.status) ?? numeric(record.statusCode) ?? numeric(record.httpStatusCode)
  );
}

/** True when the error means "the token is expired or invalid": HTTP 401 or a refreshable Twilio code. */
export function isTokenError(err: unknown): boolean {
  return (
    walkErrorChain(err, (node) => httpStatus(node) === 401) ||
    findTwilioCode(err, (code) => REFRESHABLE_TWILIO_CODES.has(code)) !== undefined
  );
}
