import type { AccessManager, AccessManagerError } from '../../src/index.js';

export interface Recorded {
  type: string;
  token?: string;
  code?: string;
  source?: string;
  msLeft?: number;
  at: number;
}

/** Records every manager event in order, with the clock time it fired at. */
export function record(manager: AccessManager, now: () => number): Recorded[] {
  const events: Recorded[] = [];
  manager.on('tokenAboutToExpire', (info) => events.push({ type: 'tokenAboutToExpire', token: info.token, msLeft: info.msLeft, at: now() }));
  manager.on('tokenExpired', (info) => events.push({ type: 'tokenExpired', token: info.token, at: now() }));
  manager.on('tokenUpdated', (info) => events.push({ type: 'tokenUpdated', token: info.token, source: info.source, at: now() }));
  manager.on('error', (error: AccessManagerError) => events.push({ type: 'error', code: error.code, at: now() }));
  return events;
}

/** `type` or `type:code` for each event, for asserting orders. */
export const names = (events: Recorded[]): string[] => events.map((e) => (e.code ? `${e.type}:${e.code}` : e.type));
