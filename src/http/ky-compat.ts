// What differs between the ky majors in the peer range, in one place, so the helpers read the same for both.
// - Hook arguments: ky 1 calls `beforeRequest(request, options)` and `afterResponse(request, options, response)`
//   with positional arguments; ky 2 hands every hook one state object `{ request, options, response, retryCount }`.
//   `beforeRetry` takes a state object in both.
// - Retries: ky 1 runs `beforeRequest` hooks inside its retry loop, so their errors are retried like network
//   errors; ky 2 runs them once, before the loop, and never retries their errors (but also does not run them again
//   for its own retries, which is what `beforeRetry` is for).
// - `prefixUrl` (ky 1) became `prefix` (ky 2), and ky 2 throws when it is handed `prefixUrl`.

/** The options a hook sees: ky's normalized options, of whichever major, read only through these fields. */
export interface HookOptions {
  retry?: { limit?: number };
  context?: Record<string, unknown>;
  body?: unknown;
  [option: string]: unknown;
}

/** A hook's arguments, the same for both majors. */
export interface HookState {
  request: Request;
  options: HookOptions;
  /** Present for `afterResponse`. */
  response?: Response;
  /** Present for `beforeRetry`. */
  error?: unknown;
  /** True when ky called the hook with positional arguments (ky 1). */
  positional: boolean;
}

/**
 * Reads a hook's arguments, called as `hook(...args)` by either major. Decided per call, from the arguments
 * themselves: a `Request` first means ky 1's positional form. (A state object has no `url`; a Request always has.)
 */
export function hookState(args: readonly unknown[]): HookState {
  const [first, options, response] = args;
  if (isRequestLike(first)) {
    const hookOptions = (options ?? {}) as HookOptions;
    return { request: first, options: hookOptions, response: response as Response | undefined, positional: true };
  }
  const state = first as Omit<HookState, 'positional'>;
  return { ...state, options: state.options ?? {}, positional: false };
}

function isRequestLike(value: unknown): value is Request {
  // Duck-typed: the Request class of another realm (or of a fetch polyfill) fails `instanceof`.
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { url?: unknown }).url === 'string' &&
    typeof (value as { headers?: { get?: unknown } }).headers?.get === 'function'
  );
}

/**
 * Makes ky 1 give up after this attempt: its `beforeRequest` hooks run inside the retry loop, which would
 * otherwise retry the hook's error (with the instance's backoff) as if it were a network error. ky 1 hands hooks
 * its live per-request retry settings, so lowering `limit` here ends the loop for this one call only. Harmless
 * where that object is a copy: the `beforeRetry` hook then stops the retry instead (after ky's backoff delay).
 */
export function endRetries(options: HookOptions): void {
  try {
    // Stryker disable next-line ConditionalExpression,LogicalOperator: writing limit on a retry that is no object throws, and the catch ignores it
    if (options.retry && typeof options.retry === 'object') options.retry.limit = 0;
  } catch {
    // A frozen object: the beforeRetry safety net applies.
  }
}

/**
 * A request to send again with another token, built from the one a hook saw. Usually a clone; when ky already
 * sent that very object (ky 2 without retries consumes the request it hands to hooks), a new one from the body
 * ky kept in its options. `undefined` when the body cannot be had again (a stream, already read).
 */
export function replayable(request: Request, options: HookOptions): Request | undefined {
  if (!request.bodyUsed) return request.clone();
  const { body } = options;
  const isStream = typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
  if (body === undefined || body === null || isStream) return undefined;
  const headers = new Headers(request.headers);
  // A FormData body gets a new multipart boundary; the old Content-Type would announce the old one.
  if (typeof FormData !== 'undefined' && body instanceof FormData) headers.delete('content-type');
  return new Request(request, { body: body as BodyInit, headers });
}
