/**
 * Every failure the library reports has one of these codes. The union is stable: new codes are only ever added.
 */
export type AccessManagerErrorCode =
  | 'TOKEN_MALFORMED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_STALE'
  | 'IDENTITY_MISMATCH'
  | 'GRANT_MISSING'
  | 'FETCH_FAILED'
  | 'FETCH_TIMEOUT'
  | 'FETCH_UNAUTHORIZED'
  | 'CLIENT_UPDATE_FAILED'
  | 'CLIENT_UPDATE_TIMEOUT'
  | 'CLIENT_TOKEN_REJECTED'
  | 'NO_FETCHER'
  | 'DISPOSED';

/** Extra context an {@link AccessManagerError} may carry. */
export interface AccessManagerErrorDetails {
  /** The underlying error (fetcher rejection, client exception, ...). */
  cause?: unknown;
  /** Name of the client whose `updateToken` failed or that lacks a grant. */
  clientName?: string;
  /** 1-based fetch attempt within the current refresh. */
  attempt?: number;
  /** Delay before the next attempt; `undefined` when the manager gave up. */
  retryInMs?: number;
  /** Twilio error code found on the cause, when there is one. */
  twilioCode?: number;
}

/**
 * The one error class of token-warden. Messages say what went wrong and which option or client was involved;
 * they never contain a token or any part of one.
 *
 * @example
 * ```ts
 * manager.on('error', (err) => {
 *   if (err.code === 'FETCH_UNAUTHORIZED') redirectToLogin();
 * });
 * ```
 */
export class AccessManagerError extends Error {
  override readonly name = 'AccessManagerError' as const;
  // `declare`: the constructor assigns every one of these (in this order), so no field initializers are emitted.
  declare readonly code: AccessManagerErrorCode;
  declare readonly clientName?: string;
  declare readonly attempt?: number;
  declare readonly retryInMs?: number;
  declare readonly twilioCode?: number;

  constructor(code: AccessManagerErrorCode, message: string, details: AccessManagerErrorDetails = {}) {
    // Error takes `cause` from its options only when they have one (`'cause' in details`), as an own property.
    super(message, details);
    this.code = code;
    this.clientName = details.clientName;
    this.attempt = details.attempt;
    this.retryInMs = details.retryInMs;
    this.twilioCode = details.twilioCode;
  }
}

/**
 * True for an {@link AccessManagerError}, also one created by another copy of the library or in another realm
 * (iframe, worker): it checks `name` and `code`, not `instanceof`.
 *
 * @example
 * ```ts
 * try { await manager.refresh(); } catch (err) { if (isAccessManagerError(err)) console.warn(err.code); }
 * ```
 */
export function isAccessManagerError(value: unknown): value is AccessManagerError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'AccessManagerError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** An {@link AccessManagerError} with code `C` and the fields that code always carries. */
export type AccessManagerErrorOf<C extends AccessManagerErrorCode, Fields = object> = AccessManagerError & {
  readonly code: C;
} & Readonly<Fields>;

/**
 * Every error the manager reports, as a union discriminated by `code`: `switch (err.code)` narrows to the fields
 * that code carries (`attempt` and `retryInMs` on fetch failures, `clientName` on client problems, ...). The
 * `error` event is typed with it.
 *
 * @example
 * ```ts
 * manager.on('error', (err) => {
 *   switch (err.code) {
 *     case 'FETCH_FAILED':
 *       console.warn(`attempt ${err.attempt}, next in ${err.retryInMs ?? 'never'} ms`);
 *       break;
 *     case 'CLIENT_UPDATE_FAILED':
 *       console.warn(`${err.clientName} failed`, err.cause);
 *       break;
 *   }
 * });
 * ```
 */
export type AnyAccessManagerError =
  /** A fetched token that was refused has `attempt` and `retryInMs`; one given to `updateToken` or at start has not. */
  | AccessManagerErrorOf<'TOKEN_MALFORMED' | 'TOKEN_EXPIRED' | 'TOKEN_STALE' | 'IDENTITY_MISMATCH', {
      attempt?: number;
      retryInMs?: number;
    }>
  | AccessManagerErrorOf<'FETCH_FAILED' | 'FETCH_TIMEOUT', { attempt: number; retryInMs: number | undefined; twilioCode?: number }>
  | AccessManagerErrorOf<'FETCH_UNAUTHORIZED', { attempt: number; retryInMs: undefined; twilioCode?: number }>
  | AccessManagerErrorOf<'GRANT_MISSING' | 'CLIENT_UPDATE_TIMEOUT', { clientName: string }>
  | AccessManagerErrorOf<'CLIENT_UPDATE_FAILED', { clientName: string; cause: unknown }>
  | AccessManagerErrorOf<'CLIENT_TOKEN_REJECTED', {
      clientName: string | undefined;
      attempt: number;
      retryInMs: number;
      twilioCode: number | undefined;
    }>
  | AccessManagerErrorOf<'NO_FETCHER' | 'DISPOSED'>;
