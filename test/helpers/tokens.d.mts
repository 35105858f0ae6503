// Types of tokens.mjs.

export declare const ACCOUNT_SID: string;
export declare const API_KEY_SID: string;
export declare const API_KEY_SECRET: string;

export type GrantName = 'chat' | 'sync' | 'voice' | 'video';

export interface MintOptions {
  identity?: string;
  /** Seconds. Default 3600. */
  ttl?: number;
  /** Default chat, sync and voice. */
  grants?: GrantName[];
  /** Issue time in ms since the epoch (the token's `iat`). Default `Date.now()`. */
  at?: number;
  region?: string;
  nbf?: number;
}

/** Mints a signed Twilio access token whose `iat` is `at` and `exp` is `at + ttl`. */
export declare function mintToken(options?: MintOptions): string;

/** Builds an unsigned JWT from arbitrary header and payload, for malformed and edge cases. */
export declare function rawToken(payload: unknown, header?: unknown): string;

/** `token` with its claims replaced by `change(claims)` (the signature is kept, and no longer verifies). */
export declare function withClaims(token: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string;

/** `make(i)`: the token `mintToken(options)` mints, with `exp` (and `jti`) moved `i` seconds later. */
export declare function tokenSeries(options?: MintOptions): (i: number) => string;
