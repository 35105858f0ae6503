// Stand-ins for the three Twilio SDK clients: Node emitters (the real ones extend Node's EventEmitter through
// ReplayEventEmitter or directly), the same event names and payload shapes, the same updateToken signatures,
// and the methods connectTwilioClient uses to recognize them.
import { EventEmitter } from 'node:events';

/** Total listeners across every event, to prove a disconnect leaves nothing behind. */
export function listenerTotal(emitter: EventEmitter): number {
  return emitter.eventNames().reduce((sum, event) => sum + emitter.listenerCount(event), 0);
}

/** Like `@twilio/conversations` Client: `updateToken` resolves with the client; errors come as `connectionError`. */
export class FakeConversationsClient extends EventEmitter {
  readonly tokens: string[] = [];

  async updateToken(token: string): Promise<FakeConversationsClient> {
    this.tokens.push(token);
    return this;
  }

  async getSubscribedConversations(): Promise<never[]> {
    return [];
  }

  async createConversation(): Promise<object> {
    return {};
  }

  async getConversationBySid(): Promise<object> {
    return {};
  }
}

/** Like `twilio-sync` SyncClient: `updateToken` resolves with nothing. */
export class FakeSyncClient extends EventEmitter {
  readonly tokens: string[] = [];

  async updateToken(token: string): Promise<void> {
    this.tokens.push(token);
  }

  async document(): Promise<object> {
    return {};
  }

  async list(): Promise<object> {
    return {};
  }

  async map(): Promise<object> {
    return {};
  }

  async stream(): Promise<object> {
    return {};
  }
}

/** Like `@twilio/voice-sdk` Device: synchronous `updateToken` that throws once destroyed; `tokenWillExpire`. */
export class FakeDevice extends EventEmitter {
  readonly tokens: string[] = [];
  destroyed = false;

  updateToken(token: string): void {
    if (this.destroyed) throw new Error('Attempt to "updateToken" when device is in state "destroyed".');
    this.tokens.push(token);
  }

  async register(): Promise<void> {}

  async unregister(): Promise<void> {}

  async connect(): Promise<object> {
    return {};
  }

  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

/** The payload twilsock emits as `connectionError` (Conversations and Sync re-emit it unchanged). */
export function twilsockConnectionError(errorCode: number | null, httpStatusCode: number | null = null) {
  return { terminal: false, message: 'Connection error: token rejected', httpStatusCode, errorCode };
}

/**
 * What the Voice SDK emits as `error`: a TwilioError whose `code` is the public code and whose `originalError`
 * carries the signaling payload (31204 becomes 20101, 31205 becomes 20104).
 */
export function voiceTwilioError(code: number, signalingCode?: number) {
  const error = Object.assign(new Error('Twilio error'), { name: 'TwilioError', code, causes: [], solutions: [] });
  if (signalingCode !== undefined) Object.assign(error, { originalError: { code: signalingCode, message: 'x' } });
  return error;
}
