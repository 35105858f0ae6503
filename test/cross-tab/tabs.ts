// Several AccessManagers in one process acting as tabs of one origin: a shared token endpoint that counts
// fetches, and a factory that records each tab's events and disposes every tab after the test.
import { onTestFinished } from 'vitest';
import type { AccessManager, AccessManagerOptions } from '../../src/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { type Recorded, record } from '../helpers/record.js';
import { type TabEnv, type TabEnvOptions, installTabEnv } from '../helpers/tab-env.mjs';
import { mintToken } from '../helpers/tokens.mjs';

export const PEER_WAIT_MS = 200;

export interface TokenServerOptions {
  identity?: string;
  /** Seconds. Default 3600. */
  ttl?: number;
  /** How long each fetch takes on the clock. Default 10 ms. */
  delayMs?: number;
}

export interface Fetch {
  /** Which tab fetched. */
  tab: string;
  reason: string;
  at: number;
  signal: AbortSignal;
  /** The token it returned, once it did. */
  token?: string;
}

/** The app's token endpoint: mints a real Twilio token per call, `delayMs` later on the clock, honouring the signal. */
export function tokenServer(clock: ManualClock, options: TokenServerOptions = {}) {
  const { identity = 'alice', ttl = 3600, delayMs = 10 } = options;
  const fetches: Fetch[] = [];
  const fetcherFor = (tab: string): AccessManagerOptions['fetchToken'] =>
    ({ signal, reason }) => {
      const fetch: Fetch = { tab, reason, at: clock.now(), signal };
      fetches.push(fetch);
      return new Promise<string>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          fetch.token = mintToken({ identity, ttl, at: clock.now() });
          resolve(fetch.token);
        }, delayMs);
        signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(signal.reason);
        });
      });
    };
  return { fetches, fetcherFor };
}

export interface Tab {
  name: string;
  manager: AccessManager;
  events: Recorded[];
}

let env: TabEnv | undefined;

/**
 * Installs the BroadcastChannel / Web Locks stand-ins for this test, replacing any it installed before; removed
 * when the test finishes, after the tabs opened on it are disposed.
 */
export function useTabEnv(options: TabEnvOptions = {}): TabEnv {
  env?.uninstall();
  const installed = installTabEnv(options);
  env = installed;
  onTestFinished(() => installed.uninstall());
  return installed;
}

/** A manager with `crossTab: true` on `clock`, recorded and disposed after the test. */
export function openTab(name: string, clock: ManualClock, options: Partial<AccessManagerOptions> = {}): Tab {
  const manager = createManager({ clock, crossTab: true, refreshSpreadMs: 0, ...options } as AccessManagerOptions);
  return { name, manager, events: record(manager, clock.now) };
}

/** The `tokenUpdated` events of a tab as `source` strings. */
export const updates = (tab: Tab): Recorded[] => tab.events.filter((event) => event.type === 'tokenUpdated');

/** Errors a tab reported. */
export const errors = (tab: Tab): Recorded[] => tab.events.filter((event) => event.type === 'error');
