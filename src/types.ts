import type { AnyAccessManagerError } from './errors.js';

/**
 * Why the manager is asking the fetcher for a token: `'initial'` (no token yet), `'aboutToExpire'` and `'expired'`
 * (the schedule), `'manual'` (`refresh()`), `'client'` (an SDK's own token event, see `connectTwilioClient`),
 * `'clientError'` (`handleClientError`).
 */
export type FetchReason = 'initial' | 'aboutToExpire' | 'expired' | 'manual' | 'client' | 'clientError';

/** What the manager passes to {@link AccessManagerOptions.fetchToken}. */
export interface FetchContext {
  /** Aborted when the attempt times out (`fetchTimeoutMs`) or the manager is disposed: pass it to `fetch`. */
  signal: AbortSignal;
  reason: FetchReason;
  /** 1-based attempt number within this refresh. */
  attempt: number;
}

/** A fetcher may return the token alone, or with the server's current time for clock-skew correction. */
export type FetchResult = string | { token: string; serverTime?: number | Date };

/** Gets a new token from your server. Throw (or reject) an error with `status: 401`/`403` or `fatal: true` to stop retries. */
export type TokenFetcher = (context: FetchContext) => Promise<FetchResult>;

/** Anything that can receive a token: Twilio Conversations/Sync clients, a Voice `Device`, your own objects. */
export interface TokenClient {
  updateToken(token: string): void | Promise<unknown>;
}

/** Options of {@link AccessManager.addClient}. */
export interface ClientOptions {
  /** Shown in errors (`clientName`); defaults to the client's constructor name. */
  name?: string;
  /** Grant keys this client needs (e.g. `['chat']`, `['voice']`); a token without one yields `GRANT_MISSING`. */
  grants?: string[];
}

/** Backoff settings: exponential with full jitter. */
export interface RetryOptions {
  /** Cap of the first delay. Default 1000. */
  minDelayMs?: number;
  /** Largest delay. Default 30000. */
  maxDelayMs?: number;
  /** Growth per attempt, at least 1. Default 2. */
  factor?: number;
}

/** Time source and timers. Defaults to `Date.now` and the global timers, looked up at call time. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** A number in [0, 1) for retry jitter and the refresh spread. Default `Math.random`. */
  random?(): number;
}

/** Severity of a {@link LogEntry}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * One decision of the manager, for the `logger` option: `event` names it (`fetch.start`, `fetch.backoff`,
 * `peer.ignored`, ...; the list is in docs/debugging.md), `message` says it in words, and further fields give the details. Tokens appear
 * only as `fingerprint`, a short hash of the signature, never whole.
 */
export interface LogEntry {
  level: LogLevel;
  event: string;
  message: string;
  [detail: string]: unknown;
}

/** A `console`-like object: one method per level. */
export type ConsoleLike = { [L in LogLevel]: (...data: unknown[]) => void };

/** Receives every {@link LogEntry}: a function, or a `console`-like object (`console` itself). */
export type Logger = ((entry: LogEntry) => void) | ConsoleLike;

/** Options of the {@link AccessManager} constructor. */
export interface AccessManagerOptions {
  /** Initial token. May be omitted when `fetchToken` is given: the first token is then fetched at once. */
  token?: string;
  /** Fetches a new token; enables `refresh()`, automatic refresh and retries. */
  fetchToken?: TokenFetcher;
  /** How long before expiry `tokenAboutToExpire` fires (and the automatic refresh becomes due). Default 180000 (3 min). */
  aboutToExpireMs?: number;
  /**
   * The automatic refresh starts at a uniformly random moment within this long after `tokenAboutToExpire`, so a
   * fleet of clients whose tokens were minted together does not hit the token server together. Default: half of
   * `aboutToExpireMs` (90 s), which is also the most allowed, so at least half the window remains for retries;
   * `0` starts it at once. Never delays `refresh()`, `getToken()` on an expired token, client errors or the first
   * fetch. The random numbers come from `clock.random` when given, else `Math.random`.
   */
  refreshSpreadMs?: number;
  /** Fetch a new token at the about-to-expire moment. Default `true` when `fetchToken` is given. */
  autoRefresh?: boolean;
  /** Time limit per fetch attempt; then the signal aborts and the attempt fails with `FETCH_TIMEOUT`. Default 10000. */
  fetchTimeoutMs?: number;
  /** Backoff between failed attempts, or `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** How long one client's `updateToken` may take before `CLIENT_UPDATE_TIMEOUT`. Default 10000. */
  clientTimeoutMs?: number;
  /** `'auto'` (default) or a fixed offset in ms: server time minus local time. */
  clockSkew?: 'auto' | number;
  /** Accept a token for another identity. Default `false`: such tokens are refused with `IDENTITY_MISMATCH`. */
  allowIdentityChange?: boolean;
  /**
   * The identity the app expects. A token for any other identity (the initial one, fetched, given to
   * `updateToken` or offered by a peer tab) is refused with `IDENTITY_MISMATCH`.
   */
  identity?: string;
  /** Coordinate every tab of the origin: `true`, or `{ name }` to separate several managers. Default `false`. */
  crossTab?: boolean | { name: string };
  /** Injected time source, for tests and simulations. */
  clock?: Clock;
  /**
   * A debug log of every decision the manager makes (deadlines, wake-ups, fetches, backoffs and why, skew, peer
   * tokens, client pushes): a function receiving {@link LogEntry} objects, or `console`. Off by default. Tokens
   * appear only as a short fingerprint.
   */
  logger?: Logger;
}

/** Lifecycle state of an {@link AccessManager}. */
export type AccessManagerState =
  | 'idle'
  | 'valid'
  | 'aboutToExpire'
  | 'refreshing'
  | 'expired'
  | 'failed'
  | 'disposed';

/** Where an adopted token came from. */
export type TokenSource = 'manual' | 'fetch' | 'peer';

/** Payload of `tokenAboutToExpire`. */
export interface TokenAboutToExpireInfo {
  token: string;
  expiresAt: Date;
  /** Skew-corrected time left until expiry. */
  msLeft: number;
}

/** Payload of `tokenExpired`. */
export interface TokenExpiredInfo {
  token: string;
  expiresAt: Date;
}

/** Payload of `tokenUpdated`. */
export interface TokenUpdatedInfo {
  token: string;
  previousToken?: string;
  expiresAt: Date;
  identity?: string;
  source: TokenSource;
}

/** Payload of `stateChange`. */
export interface StateChangeInfo {
  state: AccessManagerState;
  previousState: AccessManagerState;
}

/**
 * What `getSnapshot()` returns: an immutable view of the manager that stays the same object (`===`) until one of
 * its fields changes, for React's `useSyncExternalStore` and other stores. `lastError` is the last error reported
 * since the last adopted token (a new token clears it).
 */
export interface AccessManagerSnapshot {
  readonly state: AccessManagerState;
  readonly token: string | undefined;
  readonly identity: string | undefined;
  readonly expiresAt: Date | undefined;
  readonly lastError: AnyAccessManagerError | undefined;
}

/** The typed event map of {@link AccessManager}. */
export interface AccessManagerEvents {
  tokenAboutToExpire: (info: TokenAboutToExpireInfo) => void;
  tokenExpired: (info: TokenExpiredInfo) => void;
  tokenUpdated: (info: TokenUpdatedInfo) => void;
  /** Every background failure, as a union discriminated by `code` (see {@link AnyAccessManagerError}). */
  error: (error: AnyAccessManagerError) => void;
  /** The `state` getter's value changed (also at the time-driven moments); emitted after the change is committed. */
  stateChange: (info: StateChangeInfo) => void;
}
