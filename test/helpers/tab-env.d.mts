// Types of tab-env.mjs.
import type { Clock } from '../../src/types.js';

export interface Post {
  /** Channel name (`token-warden:<name>`). */
  name: string;
  /** Which channel instance sent it (1-based, in creation order): one instance per manager. */
  from: number;
  data: unknown;
}

export interface TabEnvOptions {
  /** Times message delivery; without it messages arrive on a microtask (or a macrotask, with `macrotasks`). */
  clock?: Clock;
  /** Delivery delay on `clock`. Default 0. */
  latencyMs?: number;
  /** Messages (without `clock`) and lock grants as macrotasks, counted for {@link TabEnv.settle}. Default false. */
  macrotasks?: boolean;
  /** Install only one of the two APIs, to check the per-tab fallback. Both by default. */
  broadcastChannel?: boolean;
  locks?: boolean;
}

export interface TabEnv {
  /** Every message posted, in order. */
  readonly posts: Post[];
  /** Errors thrown by a message handler (a real browser would report them to `window.onerror`). */
  readonly handlerErrors: unknown[];
  /** Channel instances created so far, open or closed. */
  readonly channels: TestBroadcastChannel[];
  /** Holds messages until `resume()`. */
  pause(): void;
  /** Delivers the held messages (in order, asynchronously like any other) and stops holding. */
  resume(): void;
  /** Resolves once no macrotask message or lock grant has been in flight for a few turns. */
  settle(): Promise<void>;
  /** Name of every lock currently held, and how many requests wait for each. */
  lockState(): { held: string[]; waiting: Record<string, number> };
  /** Posts of `{ t: 'token' }` messages carrying `token`. */
  tokenPosts(token?: string): Post[];
  /** Closes every channel and puts back the globals it replaced (once; later calls do nothing). */
  uninstall(): void;
}

type Listener = (event: { data: unknown; type: 'message' }) => void;

export interface TestBroadcastChannel {
  readonly name: string;
  readonly id: number;
  readonly closed: boolean;
  onmessage: Listener | null;
  postMessage(data: unknown): void;
  addEventListener(type: 'message', listener: Listener): void;
  removeEventListener(type: 'message', listener: Listener): void;
  close(): void;
}

/** Installs the stand-ins on `globalThis` (a `navigator` too where there is none); `uninstall()` removes them. */
export declare function installTabEnv(options?: TabEnvOptions): TabEnv;
