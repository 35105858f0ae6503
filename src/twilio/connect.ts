// Wires one Twilio SDK client to a manager in both directions: the manager pushes tokens into it (`addClient`),
// and the SDK's own "token expiring" and error events flow back into the manager. This file must not import
// the AccessManager class, not even as a type: the subpath is bundled on its own, and a class with private
// members declared twice (once per bundle) is not assignable to itself. A structural interface has no such issue.
import { CLIENT_EVENT } from '../client-error.js';
import type { ClientOptions, TokenClient } from '../types.js';

/**
 * What {@link connectTwilioClient} needs from a manager: an `AccessManager` from `token-warden` fits, and so does
 * any object with these three methods (handy for a test double).
 *
 * @example
 * ```ts
 * import { AccessManager } from 'token-warden';
 * import type { TwilioManagerLike } from 'token-warden/twilio';
 *
 * const manager: TwilioManagerLike = new AccessManager({ fetchToken });
 * ```
 */
export interface TwilioManagerLike {
  addClient(client: TokenClient, options?: ClientOptions): () => void;
  refresh(): Promise<string>;
  handleClientError(error: unknown, clientName?: string): boolean;
}

/**
 * An event listener as SDK emitters take it.
 *
 * @example
 * ```ts
 * const onExpired: TwilioListener = () => void manager.refresh();
 * ```
 */
export type TwilioListener = (...args: unknown[]) => void;

// Method syntax on purpose: method parameters are compared bivariantly, which is what lets the SDKs' typed
// `on<E extends keyof Events>(event: E, listener: Events[E])` satisfy a plain `(event: string, ...)` signature.
interface WithOn {
  on(event: string, listener: TwilioListener): unknown;
}
interface WithAddListener {
  addListener(event: string, listener: TwilioListener): unknown;
}
interface WithOff {
  off(event: string, listener: TwilioListener): unknown;
}
interface WithRemoveListener {
  removeListener(event: string, listener: TwilioListener): unknown;
}

/**
 * A client {@link connectTwilioClient} accepts: it takes tokens (`updateToken`) and is an event emitter
 * (`on` or `addListener`, and `off` or `removeListener`). Conversations `Client`, `SyncClient` and the Voice
 * `Device` all are.
 *
 * @example
 * ```ts
 * import type { TwilioClientLike } from 'token-warden/twilio';
 * import { Device } from '@twilio/voice-sdk';
 *
 * const client: TwilioClientLike = new Device(token);
 * ```
 */
export type TwilioClientLike = TokenClient & (WithOn | WithAddListener) & (WithOff | WithRemoveListener);

/**
 * Options of {@link connectTwilioClient}: the same as `AccessManager.addClient`.
 *
 * @example
 * ```ts
 * const options: ConnectTwilioClientOptions = { name: 'voice', grants: ['voice'] };
 * ```
 */
export interface ConnectTwilioClientOptions {
  /** Shown as `clientName` in errors. Default: `'conversations'`, `'sync'` or `'voice'` when recognized. */
  name?: string;
  /**
   * Grant keys of the decoded token this client needs: `'chat'` (Conversations), `'data_sync'` (Sync), `'voice'`,
   * `'video'`. A token without one yields `error` with `GRANT_MISSING`. None are checked by default.
   */
  grants?: readonly string[];
}

// Conversations and Sync emit the first and last; the Voice Device emits `tokenWillExpire`.
const REFRESH_EVENTS = ['tokenAboutToExpire', 'tokenWillExpire', 'tokenExpired'] as const;
// Voice emits `error` (a TwilioError whose `originalError` keeps the signaling code); Conversations and Sync emit
// `connectionError` with `errorCode`.
const ERROR_EVENTS = ['error', 'connectionError'] as const;
// A destroyed Voice Device throws from `updateToken`, so every later refresh would report CLIENT_UPDATE_FAILED.
const GONE_EVENTS = ['destroyed'] as const;

const ignore = (): void => {};

/** Recognizes the three SDKs by methods only they have; constructor names are a fallback, as bundlers mangle them. */
function defaultName(client: object): string | undefined {
  const record = client as Record<string, unknown>;
  const has = (...methods: string[]) => methods.every((method) => typeof record[method] === 'function');
  if (has('register', 'unregister', 'connect')) return 'voice';
  if (has('getSubscribedConversations') || has('createConversation', 'getConversationBySid')) return 'conversations';
  if (has('document', 'list', 'map', 'stream')) return 'sync';
  const constructorName = (client.constructor as { name?: unknown } | undefined)?.name;
  if (constructorName === 'Device') return 'voice';
  if (constructorName === 'SyncClient') return 'sync';
  if (constructorName === 'ConversationsClient') return 'conversations';
  return undefined;
}

function subscribe(client: TwilioClientLike, event: string, listener: TwilioListener): void {
  if ('on' in client && typeof client.on === 'function') client.on(event, listener);
  else (client as WithAddListener).addListener(event, listener);
}

function unsubscribe(client: TwilioClientLike, event: string, listener: TwilioListener): void {
  if ('off' in client && typeof client.off === 'function') client.off(event, listener);
  else (client as WithRemoveListener).removeListener(event, listener);
}

/**
 * Connects a Twilio SDK client to the manager: the client receives every new token (`manager.addClient`), the
 * SDK's own `tokenAboutToExpire` / `tokenWillExpire` / `tokenExpired` events start a refresh, and its `error` /
 * `connectionError` events go to `manager.handleClientError`, which refreshes on 20101, 20104, 31204, 31205, 51207 or
 * HTTP 401 (unless a Twilio code that a new token does not fix is beside it). Such refreshes reach your fetcher
 * with the reason `'client'` (token events) or `'clientError'` (errors), at most one per held token: a client that
 * rejects fresh tokens again gets them on the backoff schedule, reported as `CLIENT_TOKEN_REJECTED`. All refreshes are single-flight: three SDKs reporting at once cause one fetch. A failed refresh is
 * reported by the manager's own `error` event, never thrown into the SDK's emitter.
 *
 * Works with Conversations `Client`, `SyncClient`, Voice `Device`, and any emitter with `updateToken`. A Voice
 * `Device` that emits `destroyed` is disconnected automatically.
 *
 * Note: this adds an `error` listener, so a Node-style emitter (the Voice `Device`) no longer throws an `error`
 * event nobody else listens to. Keep your own `error` listener to show failures to the user.
 *
 * @param manager - An `AccessManager` (or anything with `addClient`, `refresh`, `handleClientError`).
 * @param client - The SDK client.
 * @param options - `name` for error reports, `grants` the token must carry for this client.
 * @returns A function that removes every listener this call added and unsubscribes the client. Calling it again
 *   does nothing.
 *
 * @example
 * ```ts
 * import { AccessManager } from 'token-warden';
 * import { connectTwilioClient } from 'token-warden/twilio';
 * import { Client } from '@twilio/conversations';
 * import { SyncClient } from 'twilio-sync';
 * import { Device } from '@twilio/voice-sdk';
 *
 * const manager = new AccessManager({ fetchToken: () => fetch('/token').then((r) => r.text()) });
 * const token = await manager.getToken();
 * const disconnectChat = connectTwilioClient(manager, new Client(token), { grants: ['chat'] });
 * const disconnectSync = connectTwilioClient(manager, new SyncClient(token), { grants: ['data_sync'] });
 * const disconnectVoice = connectTwilioClient(manager, new Device(token), { grants: ['voice'] });
 * ```
 */
export function connectTwilioClient(
  manager: TwilioManagerLike,
  client: TwilioClientLike,
  options: ConnectTwilioClientOptions = {},
): () => void {
  const name = options.name ?? defaultName(client);
  const clientOptions: ClientOptions = {};
  if (name !== undefined) clientOptions.name = name;
  if (options.grants !== undefined) clientOptions.grants = [...options.grants];
  // First, so that a manager refusing the client (disposed) leaves no listener behind.
  const removeClient = manager.addClient(client, clientOptions);

  let connected = true;

  // Listeners run inside the SDK's emit(): whatever the manager does (reject, or throw once disposed), it must not
  // surface there, where it would break the SDK's own event dispatch.
  const onTokenExpiring: TwilioListener = () => {
    if (!connected) return;
    try {
      // An AccessManager takes this as a refresh with the reason 'client' (under its client guard); any other
      // manager-like object just refreshes.
      const clientEvent = (manager as { [CLIENT_EVENT]?: unknown })[CLIENT_EVENT];
      if (typeof clientEvent === 'function') clientEvent();
      else manager.refresh().catch(ignore);
    } catch {
      // A manager-like object may throw instead of rejecting (once disposed); there is nothing to refresh then.
    }
  };
  const onError: TwilioListener = (error) => {
    if (!connected) return;
    try {
      manager.handleClientError(error, name);
    } catch {
      // AccessManager throws DISPOSED here after dispose(); the SDK must not see it.
    }
  };
  const onGone: TwilioListener = () => disconnect();

  const listeners: Array<readonly [string, TwilioListener]> = [
    ...REFRESH_EVENTS.map((event) => [event, onTokenExpiring] as const),
    ...ERROR_EVENTS.map((event) => [event, onError] as const),
    ...GONE_EVENTS.map((event) => [event, onGone] as const),
  ];
  try {
    for (const [event, listener] of listeners) subscribe(client, event, listener);
  } catch (error) {
    // An emitter that refuses one event must not stay half-connected; removing a listener never added is a no-op.
    disconnect();
    throw error;
  }

  function disconnect(): void {
    if (!connected) return;
    connected = false;
    for (const [event, listener] of listeners) unsubscribe(client, event, listener);
    try {
      removeClient();
    } catch {
      // After `dispose()` the manager already forgot every client.
    }
  }

  return disconnect;
}
