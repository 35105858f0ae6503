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

// Conversations and Sync warn with `tokenAboutToExpire`, the Voice Device with `tokenWillExpire`. A warning is about
// the token the SDK holds, which may already be an old one (the Device keeps the timer of every token it was given),
// so the manager ignores it while its own token is not about to expire. `tokenExpired` always counts.
const WARNING_EVENTS = ['tokenAboutToExpire', 'tokenWillExpire'] as const;
const EXPIRED_EVENTS = ['tokenExpired'] as const;
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

/**
 * Conversations and Sync (twilsock) ignore `updateToken` while their connection is `'disconnecting'` (up to a few
 * seconds after the server closed it, for instance for an expired token): the call never settles and the client
 * stays disconnected until it is given yet another token. For such clients the token is held until the connection
 * state moves on, then handed over (the newest one only). `undefined` for clients without `connectionState`.
 */
function afterDisconnecting(client: TwilioClientLike, connected: () => boolean) {
  const record = client as unknown as Record<string, unknown>;
  let state: unknown;
  try {
    state = record.connectionState;
  } catch {
    return undefined;
  }
  if (typeof state !== 'string') return undefined;
  let waiting: { token: string; done: Array<[(value: unknown) => void, (error: unknown) => void]> } | undefined;
  const onState: TwilioListener = (next) => {
    if (next === 'disconnecting' || !waiting) return;
    const { token, done } = waiting;
    waiting = undefined;
    try {
      unsubscribe(client, 'connectionStateChanged', onState);
    } catch {
      // Not into the SDK's emit: with `waiting` cleared, a listener left behind does nothing.
    }
    if (!connected()) return;
    let result: unknown;
    try {
      result = client.updateToken(token);
    } catch (error) {
      for (const [, reject] of done) reject(error);
      return;
    }
    for (const [resolve] of done) resolve(result);
  };
  return {
    updateToken(token: string): void | Promise<unknown> {
      if (record.connectionState !== 'disconnecting') return client.updateToken(token);
      return new Promise((resolve, reject) => {
        if (!waiting) subscribe(client, 'connectionStateChanged', onState);
        waiting = { token, done: [...(waiting?.done ?? []), [resolve, reject]] };
      });
    },
    stop() {
      if (waiting) unsubscribe(client, 'connectionStateChanged', onState);
      waiting = undefined;
    },
  };
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
  let connected = true;
  const settle = afterDisconnecting(client, () => connected);
  // First, so that a manager refusing the client (disposed) leaves no listener behind.
  const removeClient = manager.addClient(settle ? { updateToken: settle.updateToken } : client, clientOptions);

  // Listeners run inside the SDK's emit(): whatever the manager does (reject, or throw once disposed), it must not
  // surface there, where it would break the SDK's own event dispatch.
  const tokenEvent = (warning: boolean): TwilioListener => () => {
    if (!connected) return;
    try {
      // An AccessManager takes this as a refresh with the reason 'client' (under its client guard); any other
      // manager-like object just refreshes.
      const clientEvent = (manager as { [CLIENT_EVENT]?: unknown })[CLIENT_EVENT];
      if (typeof clientEvent === 'function') clientEvent.call(manager, warning);
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
    ...WARNING_EVENTS.map((event) => [event, tokenEvent(true)] as const),
    ...EXPIRED_EVENTS.map((event) => [event, tokenEvent(false)] as const),
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

  // Never throws: it runs from SDK events (`destroyed`) and from a failed connect. The client is unregistered first,
  // so an emitter whose `off` throws cannot keep it receiving tokens.
  function disconnect(): void {
    if (!connected) return;
    connected = false;
    try {
      removeClient();
    } catch {
      // After `dispose()` the manager already forgot every client.
    }
    for (const [event, listener] of listeners) {
      try {
        unsubscribe(client, event, listener);
      } catch {
        // An emitter that cannot remove a listener: ours ignore calls once disconnected.
      }
    }
    try {
      // Stryker disable next-line OptionalChaining: without settle, the TypeError of settle.stop() is caught just below
      settle?.stop();
    } catch {
      // Likewise.
    }
  }

  return disconnect;
}
