// connectTwilioClient's wiring against a recording stand-in manager: which SDK event leads to which manager call,
// and that a disconnect takes back exactly what the connect added. The real AccessManager is in access-manager.test.ts.
import { EventEmitter as NodeEmitter } from 'node:events';
import { EventEmitter as Emitter3 } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { isTwilioTokenError, connectTwilioClient, type TwilioManagerLike } from '../../src/twilio/index.js';
import type { ClientOptions, TokenClient } from '../../src/types.js';
import {
  FakeConversationsClient,
  FakeDevice,
  FakeSyncClient,
  listenerTotal,
  twilsockConnectionError,
  voiceTwilioError,
} from './fakes.js';

interface Recorder extends TwilioManagerLike {
  added: Array<{ client: TokenClient; options: ClientOptions | undefined }>;
  removed: number;
  refreshes: number;
  handled: unknown[];
}

function recorder(overrides: Partial<TwilioManagerLike> = {}): Recorder {
  const manager: Recorder = {
    added: [],
    removed: 0,
    refreshes: 0,
    handled: [],
    addClient(client, options) {
      manager.added.push({ client, options });
      return () => {
        manager.removed++;
      };
    },
    async refresh() {
      manager.refreshes++;
      return 'token';
    },
    handleClientError(error) {
      manager.handled.push(error);
      return isTwilioTokenError(error);
    },
    ...overrides,
  };
  return manager;
}

describe('connectTwilioClient wiring', () => {
  it('registers the client with the manager, passing name and grants', () => {
    const manager = recorder();
    const device = new FakeDevice();
    connectTwilioClient(manager, device, { name: 'phone', grants: ['voice'] });
    expect(manager.added).toEqual([{ client: device, options: { name: 'phone', grants: ['voice'] } }]);
  });

  it('copies the grants, so later changes to the caller array do not leak in', () => {
    const manager = recorder();
    const grants = ['chat'];
    connectTwilioClient(manager, new FakeConversationsClient(), { grants });
    grants.push('voice');
    expect(manager.added[0]?.options?.grants).toEqual(['chat']);
  });

  it.each([
    ['a Conversations Client', () => new FakeConversationsClient(), 'conversations'],
    ['a SyncClient', () => new FakeSyncClient(), 'sync'],
    ['a Voice Device', () => new FakeDevice(), 'voice'],
  ])('names %s by default', (_label, make, expected) => {
    const manager = recorder();
    connectTwilioClient(manager, make());
    expect(manager.added[0]?.options).toEqual({ name: expected });
  });

  it('recognizes SDKs by constructor name when their methods are not there', () => {
    class Device extends NodeEmitter {
      updateToken(): void {}
    }
    class SyncClient extends NodeEmitter {
      async updateToken(): Promise<void> {}
    }
    const manager = recorder();
    connectTwilioClient(manager, new Device());
    connectTwilioClient(manager, new SyncClient());
    expect(manager.added.map((entry) => entry.options?.name)).toEqual(['voice', 'sync']);
  });

  it('leaves the name to the manager for an unknown client', () => {
    const manager = recorder();
    class Whiteboard extends NodeEmitter {
      updateToken(): void {}
    }
    connectTwilioClient(manager, new Whiteboard());
    expect(manager.added[0]?.options).toEqual({});
  });

  it.each([
    ['tokenAboutToExpire', () => new FakeConversationsClient()],
    ['tokenExpired', () => new FakeConversationsClient()],
    ['tokenAboutToExpire', () => new FakeSyncClient()],
    ['tokenExpired', () => new FakeSyncClient()],
    ['tokenWillExpire', () => new FakeDevice()],
  ])('refreshes once on %s', (event, make) => {
    const manager = recorder();
    const client = make();
    connectTwilioClient(manager, client);
    client.emit(event, client);
    expect(manager.refreshes).toBe(1);
    expect(manager.handled).toEqual([]);
  });

  it.each([
    ['connectionError', () => new FakeConversationsClient(), twilsockConnectionError(20104, 401)],
    ['connectionError', () => new FakeSyncClient(), twilsockConnectionError(20101)],
    ['error', () => new FakeDevice(), voiceTwilioError(20104, 31205)],
    ['error', () => new FakeDevice(), voiceTwilioError(31005)],
  ])('hands %s payloads to handleClientError unchanged', (event, make, payload) => {
    const manager = recorder();
    const client = make();
    connectTwilioClient(manager, client);
    client.emit(event, payload);
    expect(manager.handled).toEqual([payload]);
    expect(manager.handled[0]).toBe(payload);
    expect(manager.refreshes).toBe(0);
  });

  it('never throws into the SDK emitter: a rejected refresh is swallowed, a throwing manager contained', async () => {
    const rejections: unknown[] = [];
    const onUnhandled = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const manager = recorder({
        refresh: () => Promise.reject(new Error('NO_FETCHER')),
        handleClientError: () => {
          throw new Error('DISPOSED');
        },
      });
      const device = new FakeDevice();
      connectTwilioClient(manager, device);
      expect(() => device.emit('tokenWillExpire', device)).not.toThrow();
      expect(() => device.emit('error', voiceTwilioError(20104))).not.toThrow();

      const throwing = recorder({
        refresh: () => {
          throw new Error('DISPOSED');
        },
      });
      const sync = new FakeSyncClient();
      connectTwilioClient(throwing, sync);
      expect(() => sync.emit('tokenExpired')).not.toThrow();
      // Node reports unhandled rejections once the microtask queue drains; one macrotask turn is enough.
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('adds no listener when the manager refuses the client', () => {
    const device = new FakeDevice();
    const manager = recorder({
      addClient: () => {
        throw new Error('DISPOSED');
      },
    });
    expect(() => connectTwilioClient(manager, device)).toThrow('DISPOSED');
    expect(listenerTotal(device)).toBe(0);
  });
});

describe('disconnect', () => {
  it.each([
    ['Conversations', () => new FakeConversationsClient()],
    ['Sync', () => new FakeSyncClient()],
    ['Voice', () => new FakeDevice()],
  ])('removes every listener it added on %s and keeps the app listeners', (_label, make) => {
    const manager = recorder();
    const client = make();
    const appListener = () => {};
    client.on('tokenAboutToExpire', appListener);
    client.on('error', appListener);
    expect(listenerTotal(client)).toBe(2);

    const disconnect = connectTwilioClient(manager, client);
    expect(listenerTotal(client)).toBe(8);
    expect(client.eventNames().sort()).toEqual(
      ['connectionError', 'destroyed', 'error', 'tokenAboutToExpire', 'tokenExpired', 'tokenWillExpire'].sort(),
    );

    disconnect();
    expect(listenerTotal(client)).toBe(2);
    expect(client.listeners('tokenAboutToExpire')).toEqual([appListener]);
    expect(client.listeners('error')).toEqual([appListener]);
    expect(manager.removed).toBe(1);

    client.emit('tokenExpired');
    client.emit('error', voiceTwilioError(20104));
    expect(manager.refreshes).toBe(0);
    expect(manager.handled).toEqual([]);
  });

  it('is harmless when called twice', () => {
    const manager = recorder();
    const sync = new FakeSyncClient();
    const disconnect = connectTwilioClient(manager, sync);
    disconnect();
    expect(() => disconnect()).not.toThrow();
    expect(manager.removed).toBe(1);
    expect(listenerTotal(sync)).toBe(0);
  });

  it('only undoes its own connection when a client is connected twice', () => {
    const manager = recorder();
    const sync = new FakeSyncClient();
    const first = connectTwilioClient(manager, sync);
    connectTwilioClient(manager, sync);
    expect(listenerTotal(sync)).toBe(12);
    first();
    expect(listenerTotal(sync)).toBe(6);
    sync.emit('tokenExpired');
    expect(manager.refreshes).toBe(1);
  });

  it('still succeeds when the manager was disposed and its unsubscribe throws', () => {
    const manager = recorder({
      addClient: () => () => {
        throw new Error('DISPOSED');
      },
    });
    const device = new FakeDevice();
    const disconnect = connectTwilioClient(manager, device);
    expect(() => disconnect()).not.toThrow();
    expect(listenerTotal(device)).toBe(0);
  });

  it('happens by itself when a Voice Device is destroyed', () => {
    const manager = recorder();
    const device = new FakeDevice();
    const disconnect = connectTwilioClient(manager, device);
    device.destroy();
    expect(listenerTotal(device)).toBe(0);
    expect(manager.removed).toBe(1);
    disconnect();
    expect(manager.removed).toBe(1);
  });

  it('works with addListener/removeListener-only emitters', () => {
    const inner = new NodeEmitter();
    const client = {
      updateToken: (_token: string) => {},
      addListener: (event: string, listener: (...args: unknown[]) => void) => inner.addListener(event, listener),
      removeListener: (event: string, listener: (...args: unknown[]) => void) => inner.removeListener(event, listener),
    };
    const manager = recorder();
    const disconnect = connectTwilioClient(manager, client);
    expect(listenerTotal(inner)).toBe(6);
    inner.emit('tokenExpired');
    inner.emit('connectionError', twilsockConnectionError(20104));
    expect(manager.refreshes).toBe(1);
    expect(manager.handled).toHaveLength(1);
    disconnect();
    expect(listenerTotal(inner)).toBe(0);
  });

  it('works with eventemitter3 emitters', () => {
    class Client extends Emitter3 {
      updateToken(_token: string): void {}
    }
    const client = new Client();
    const manager = recorder();
    const disconnect = connectTwilioClient(manager, client);
    expect(client.eventNames()).toHaveLength(6);
    client.emit('tokenAboutToExpire');
    expect(manager.refreshes).toBe(1);
    disconnect();
    expect(client.eventNames()).toHaveLength(0);
  });

  it('leaves nothing behind when the emitter refuses a subscription halfway', () => {
    const inner = new NodeEmitter();
    let calls = 0;
    const client = {
      updateToken: (_token: string) => {},
      on: (event: string, listener: (...args: unknown[]) => void) => {
        if (++calls === 4) throw new Error('unsupported event');
        inner.on(event, listener);
      },
      off: (event: string, listener: (...args: unknown[]) => void) => inner.off(event, listener),
    };
    const manager = recorder();
    expect(() => connectTwilioClient(manager, client)).toThrow('unsupported event');
    expect(listenerTotal(inner)).toBe(0);
    expect(manager.removed).toBe(1);
  });
});

/** A Sync-like client in `state`, and a recorder manager through which the test pushes tokens. */
function closing(state: string, updateToken: (token: string) => void | Promise<unknown> = () => {}) {
  const client = Object.assign(new NodeEmitter(), { connectionState: state, updateToken });
  const pushed: Array<(token: string) => unknown> = [];
  const manager = recorder({
    addClient(registered) {
      pushed.push((token) => registered.updateToken(token));
      return () => {};
    },
  });
  const disconnect = connectTwilioClient(manager, client, { name: 'sync' });
  const move = (next: string) => {
    client.connectionState = next;
    client.emit('connectionStateChanged', next);
  };
  return { client, push: (token: string) => pushed[0]!(token), move, disconnect };
}

describe('a twilsock client whose connection is closing', () => {
  it('gets the token once the connection state moves on (twilsock ignores updateToken while disconnecting)', async () => {
    const received: string[] = [];
    const { client, push, move, disconnect } = closing('disconnecting', async (token) => void received.push(token));
    const first = push('t1');
    const second = push('t2');
    await Promise.resolve();
    expect(received).toEqual([]);
    expect(client.listenerCount('connectionStateChanged')).toBe(1);
    move('disconnected');
    await Promise.all([first, second]);
    // Only the newest token is handed over, once.
    expect(received).toEqual(['t2']);
    expect(client.listenerCount('connectionStateChanged')).toBe(0);
    // Connected again: straight through.
    client.connectionState = 'connected';
    await push('t3');
    expect(received).toEqual(['t2', 't3']);
    disconnect();
  });
});

describe('a twilsock client whose connection is closing: the edges', () => {
  it('keeps waiting through another "disconnecting" state event, then hands over what updateToken returns', async () => {
    const result = { updated: true };
    const received: string[] = [];
    const { client, push, move } = closing('disconnecting', (token) => {
      received.push(token);
      return result as unknown as Promise<unknown>;
    });
    const pending = push('t1');
    move('disconnecting');
    await Promise.resolve();
    expect(received).toEqual([]);
    expect(client.listenerCount('connectionStateChanged')).toBe(1);
    move('connecting');
    await expect(pending).resolves.toBe(result);
    expect(received).toEqual(['t1']);
  });

  it('rejects every waiting push with the error updateToken throws once the state moves on', async () => {
    const boom = new Error('client destroyed');
    const { push, move } = closing('disconnecting', () => {
      throw boom;
    });
    const first = push('t1');
    const second = push('t2');
    move('disconnected');
    await expect(first).rejects.toBe(boom);
    await expect(second).rejects.toBe(boom);
  });

  it('hands nothing over after a disconnect, and takes its state listener back', async () => {
    const received: string[] = [];
    const { client, push, move, disconnect } = closing('disconnecting', (token) => void received.push(token));
    void push('t1');
    expect(client.listenerCount('connectionStateChanged')).toBe(1);
    disconnect();
    expect(client.listenerCount('connectionStateChanged')).toBe(0);
    move('connected');
    await Promise.resolve();
    expect(received).toEqual([]);
  });

  it('an emitter whose off() throws: the listener left behind does nothing, and never throws into emit', async () => {
    const received: string[] = [];
    const inner = new NodeEmitter();
    const client = {
      connectionState: 'disconnecting',
      updateToken: (token: string) => void received.push(token),
      on: (event: string, listener: (...args: unknown[]) => void) => inner.on(event, listener),
      off: () => {
        throw new Error('off is broken');
      },
    };
    const pushed: Array<(token: string) => unknown> = [];
    const manager = recorder({
      addClient(registered) {
        pushed.push((token) => registered.updateToken(token));
        return () => {};
      },
    });
    const disconnect = connectTwilioClient(manager, client);
    const first = pushed[0]!('t1');
    client.connectionState = 'connected';
    expect(() => inner.emit('connectionStateChanged', 'connected')).not.toThrow();
    await first;
    expect(received).toEqual(['t1']);
    // The listener is still there; with nothing waiting it hands nothing over.
    expect(() => inner.emit('connectionStateChanged', 'connected')).not.toThrow();
    expect(received).toEqual(['t1']);

    // Waiting again, then disconnected: the stale listener finds the client gone and hands nothing over.
    client.connectionState = 'disconnecting';
    const second = pushed[0]!('t2');
    expect(() => disconnect()).not.toThrow();
    client.connectionState = 'connected';
    expect(() => inner.emit('connectionStateChanged', 'connected')).not.toThrow();
    await Promise.resolve();
    expect(received).toEqual(['t1']);
    void second;
  });

  it('a client whose connectionState getter throws is registered as it is', () => {
    const client = Object.defineProperty(new FakeSyncClient(), 'connectionState', {
      get(): never {
        throw new Error('getter');
      },
    });
    const manager = recorder();
    connectTwilioClient(manager, client);
    expect(manager.added[0]?.client).toBe(client);
  });

  it('a client with a connectionState is wrapped, one without is registered as it is', () => {
    const manager = recorder();
    const plain = new FakeSyncClient();
    const stateful = Object.assign(new FakeSyncClient(), { connectionState: 'connected' });
    connectTwilioClient(manager, plain);
    connectTwilioClient(manager, stateful);
    expect(manager.added[0]?.client).toBe(plain);
    expect(manager.added[1]?.client).not.toBe(stateful);
  });
});

describe('default names: only the full method set counts', () => {
  it.each([
    ['register and connect without unregister', ['register', 'connect']],
    ['createConversation without getConversationBySid', ['createConversation']],
    ['getConversationBySid without createConversation', ['getConversationBySid']],
    ['document, list and map without stream', ['document', 'list', 'map']],
  ])('%s: no name', (_label, methods) => {
    class Unknown extends NodeEmitter {
      updateToken(): void {}
    }
    const client = Object.assign(new Unknown(), Object.fromEntries(methods.map((m) => [m, () => {}])));
    const manager = recorder();
    connectTwilioClient(manager, client);
    expect(manager.added[0]?.options).toEqual({});
  });

  it('names a client with createConversation and getConversationBySid (without getSubscribedConversations)', () => {
    class Other extends NodeEmitter {
      updateToken(): void {}
      createConversation(): void {}
      getConversationBySid(): void {}
    }
    const manager = recorder();
    connectTwilioClient(manager, new Other());
    expect(manager.added[0]?.options).toEqual({ name: 'conversations' });
  });

  it('leaves name out entirely, and copes with a client without a prototype', () => {
    const inner = new NodeEmitter();
    const client = Object.assign(Object.create(null) as object, {
      updateToken: (_token: string) => {},
      on: (event: string, listener: (...args: unknown[]) => void) => inner.on(event, listener),
      off: (event: string, listener: (...args: unknown[]) => void) => inner.off(event, listener),
    });
    const manager = recorder();
    connectTwilioClient(manager, client);
    expect(manager.added[0]?.options).toStrictEqual({});
    expect('name' in manager.added[0]!.options!).toBe(false);
  });

  it('names a ConversationsClient by its constructor, and getSubscribedConversations alone', () => {
    class ConversationsClient extends NodeEmitter {
      updateToken(): void {}
    }
    class Other extends NodeEmitter {
      updateToken(): void {}
      getSubscribedConversations(): void {}
    }
    const manager = recorder();
    connectTwilioClient(manager, new ConversationsClient());
    connectTwilioClient(manager, new Other());
    expect(manager.added.map((entry) => entry.options?.name)).toEqual(['conversations', 'conversations']);
  });
});

describe('emitters with an unusable on or off', () => {
  it('an on or off that is not a function: addListener and removeListener are used', () => {
    const inner = new NodeEmitter();
    const client = {
      on: undefined,
      off: 'no',
      updateToken: (_token: string) => {},
      addListener: (event: string, listener: (...args: unknown[]) => void) => inner.addListener(event, listener),
      removeListener: (event: string, listener: (...args: unknown[]) => void) => inner.removeListener(event, listener),
    };
    const manager = recorder();
    const disconnect = connectTwilioClient(manager, client as never);
    expect(listenerTotal(inner)).toBe(6);
    disconnect();
    expect(listenerTotal(inner)).toBe(0);
  });

  it('an off that throws: after disconnect the listeners left behind call nothing', () => {
    const inner = new NodeEmitter();
    const client = {
      updateToken: (_token: string) => {},
      on: (event: string, listener: (...args: unknown[]) => void) => inner.on(event, listener),
      off: () => {
        throw new Error('off is broken');
      },
    };
    const manager = recorder();
    const disconnect = connectTwilioClient(manager, client);
    expect(() => disconnect()).not.toThrow();
    expect(listenerTotal(inner)).toBe(6);
    inner.emit('tokenExpired');
    inner.emit('tokenAboutToExpire');
    inner.emit('error', voiceTwilioError(20104));
    expect(manager.refreshes).toBe(0);
    expect(manager.handled).toEqual([]);
  });

  it('a client with a connectionState that never waited: its state listener is never taken off', () => {
    const inner = new NodeEmitter();
    const offs: string[] = [];
    const client = {
      connectionState: 'connected',
      updateToken: (_token: string) => {},
      on: (event: string, listener: (...args: unknown[]) => void) => inner.on(event, listener),
      off: (event: string, listener: (...args: unknown[]) => void) => {
        offs.push(event);
        inner.off(event, listener);
      },
    };
    const disconnect = connectTwilioClient(recorder(), client);
    disconnect();
    expect(offs).not.toContain('connectionStateChanged');
    expect(offs).toHaveLength(6);
  });
});
