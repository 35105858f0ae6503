// The debug log (`logger` option): structured entries for every decision, off unless asked for. Tokens never
// appear in it, only a fingerprint: a short hash of the signature, enough to tell tokens apart in a log.
import type { LogEntry, Logger, LogLevel } from './types.js';

/**
 * Writes one entry; `undefined` when there is no logger, so call sites can skip building the details. Without a
 * `message`, it is written from the event and the details (`fetch.start reason=manual`).
 */
export type Log = (level: LogLevel, event: string, details?: Record<string, unknown>, message?: string) => void;

/**
 * Six base-36 characters of an FNV-1a hash of the token's signature: the same token always gives the same
 * fingerprint, and nothing of the token can be read back from it.
 */
export function fingerprint(token: string): string {
  const signature = token.split('.').pop()!;
  let hash = 0x811c9dc5;
  for (let i = 0; i < signature.length; i++) hash = Math.imul(hash ^ signature.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36).padStart(7, '0').slice(-6);
}

/** A function logger gets the entry; a console-like one gets `token-warden <message>` and the entry. */
export function createLog(logger: Logger | undefined): Log | undefined {
  if (!logger) return undefined;
  return (level, event, details = {}, message) => {
    const text = message ?? [event, ...Object.entries(details).map(([key, value]) => `${key}=${value}`)].join(' ');
    const entry: LogEntry = { level, event, message: text, ...details };
    try {
      if (typeof logger === 'function') logger(entry);
      else logger[level](`token-warden ${text}`, entry);
    } catch (error) {
      // A broken logger must not break the manager; its throw is re-raised apart, like a listener's.
      queueMicrotask(() => {
        throw error;
      });
    }
  };
}
