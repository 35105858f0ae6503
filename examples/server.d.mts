// Types of examples/server.mjs, for the e2e tests that start the demo server in-process.

export type FaultKind = 'unauthorized' | 'fail500' | 'malformed' | 'wrongIdentity' | 'slow' | 'hang';

export type Faults = Record<FaultKind, number> & { slowMs: number };

export interface TokenRequestRecord {
  n: number;
  /** Server time of the request, ms since the epoch. */
  at: number;
  identity: string;
  /** The manager's fetch reason, as the page sends it in `X-Fetch-Reason`. */
  reason: string;
  attempt?: number;
  /** The page's tab id (`X-Tab-Id`). */
  tab: string;
  outcome: 'ok' | 'badRequest' | FaultKind;
  /** `iat` (seconds) of the token sent back, when one was minted. */
  iat?: number;
}

export interface DemoStats {
  /** Requests to `/token`, successful or not. */
  fetches: number;
  /** Faults still armed. */
  faults: Faults;
  /** The last 50 token requests. */
  recent: TokenRequestRecord[];
  serverTime: number;
}

export interface DemoServer {
  url: string;
  port: number;
  stats(): DemoStats;
  /** Adds to the fault counters, like `POST /faults`. Throws `TypeError` on unknown keys or bad counts. */
  faults(input: Partial<Faults>): void;
  /** Zeroes the fetch count and clears every fault, like `POST /reset`. */
  reset(): void;
  close(): Promise<void>;
}

export interface DemoServerOptions {
  /** Default 4173; `0` picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** No console output. */
  quiet?: boolean;
}

export function startDemoServer(options?: DemoServerOptions): Promise<DemoServer>;

/**
 * A Twilio access token (Chat, Sync and Voice grants) for `identity`, issued at `at` (ms since the epoch, default
 * now), valid `ttl` seconds (default 200).
 */
export function mintDemoToken(identity: string, ttl?: number, at?: number): string;
