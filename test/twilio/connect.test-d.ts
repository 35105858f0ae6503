// The subpath must accept the real SDK classes as published, and reject objects that could not work at runtime.
import type { Client } from '@twilio/conversations';
import type { Device } from '@twilio/voice-sdk';
import type { SyncClient } from 'twilio-sync';
import { describe, expectTypeOf, it } from 'vitest';
import { AccessManager } from '../../src/index.js';
import {
  connectTwilioClient,
  getTwilioTokenErrorCode,
  isTwilioTokenError,
  TWILIO_TOKEN_ERROR_CODES,
  type ConnectTwilioClientOptions,
  type TwilioClientLike,
  type TwilioManagerLike,
  type TwilioTokenErrorCode,
} from '../../src/twilio/index.js';

declare const manager: TwilioManagerLike;

describe('connectTwilioClient types', () => {
  it('accepts the real Conversations Client, SyncClient and Voice Device', () => {
    expectTypeOf<Client>().toExtend<TwilioClientLike>();
    expectTypeOf<SyncClient>().toExtend<TwilioClientLike>();
    expectTypeOf<Device>().toExtend<TwilioClientLike>();

    const conversations = {} as Client;
    const sync = {} as SyncClient;
    const device = {} as Device;
    expectTypeOf(connectTwilioClient(manager, conversations)).toEqualTypeOf<() => void>();
    expectTypeOf(connectTwilioClient(manager, sync, { name: 'sync' })).toEqualTypeOf<() => void>();
    expectTypeOf(connectTwilioClient(manager, device, { grants: ['voice'] })).toEqualTypeOf<() => void>();
  });

  it('accepts any emitter with updateToken, via on/off or addListener/removeListener', () => {
    connectTwilioClient(manager, { updateToken: (_token: string) => {}, on: () => {}, off: () => {} });
    connectTwilioClient(manager, {
      updateToken: async (_token: string) => 'done',
      addListener: () => {},
      removeListener: () => {},
    });
  });

  it('rejects objects without updateToken or without a way to subscribe and unsubscribe', () => {
    // @ts-expect-error no updateToken
    connectTwilioClient(manager, { on: () => {}, off: () => {} });
    // @ts-expect-error no on (nor addListener)
    connectTwilioClient(manager, { updateToken: (_token: string) => {}, off: () => {} });
    // @ts-expect-error no off (nor removeListener)
    connectTwilioClient(manager, { updateToken: (_token: string) => {}, on: () => {} });
    // @ts-expect-error updateToken must take a string
    connectTwilioClient(manager, { updateToken: (_token: number) => {}, on: () => {}, off: () => {} });
    // @ts-expect-error not a client at all
    connectTwilioClient(manager, 'client');
  });

  it('takes the real AccessManager without importing its class', () => {
    expectTypeOf<AccessManager>().toExtend<TwilioManagerLike>();
    const real = new AccessManager({ token: 'x' });
    expectTypeOf(connectTwilioClient(real, {} as Device, { name: 'voice' })).toEqualTypeOf<() => void>();
  });

  it('requires a manager with addClient, refresh and handleClientError', () => {
    const client = {} as Device;
    // @ts-expect-error no handleClientError
    connectTwilioClient({ addClient: () => () => {}, refresh: async () => 'token' }, client);
    // @ts-expect-error refresh must resolve with the token
    connectTwilioClient({ addClient: () => () => {}, refresh: () => 1, handleClientError: () => true }, client);
  });

  it('types the options', () => {
    expectTypeOf<ConnectTwilioClientOptions>().toEqualTypeOf<{ name?: string; grants?: readonly string[] }>();
    const grants = ['chat', 'data_sync'] as const;
    connectTwilioClient(manager, {} as Client, { grants });
    // @ts-expect-error grants are strings
    connectTwilioClient(manager, {} as Client, { grants: [1] });
  });
});

describe('error helpers types', () => {
  it('indexes the code table both ways', () => {
    expectTypeOf(TWILIO_TOKEN_ERROR_CODES[20104]).toEqualTypeOf<string>();
    expectTypeOf(TWILIO_TOKEN_ERROR_CODES.get(20104)).toEqualTypeOf<string | undefined>();
    expectTypeOf(TWILIO_TOKEN_ERROR_CODES).toExtend<ReadonlyMap<number, string>>();
    // @ts-expect-error the table is read-only
    TWILIO_TOKEN_ERROR_CODES.set(1, 'x');
    // @ts-expect-error not a listed code
    void TWILIO_TOKEN_ERROR_CODES[12345];
  });

  it('takes anything and answers with a boolean or a listed code', () => {
    expectTypeOf(isTwilioTokenError).parameter(0).toEqualTypeOf<unknown>();
    expectTypeOf(isTwilioTokenError).returns.toEqualTypeOf<boolean>();
    expectTypeOf(getTwilioTokenErrorCode).returns.toEqualTypeOf<TwilioTokenErrorCode | undefined>();
    expectTypeOf<20157>().toExtend<TwilioTokenErrorCode>();
    expectTypeOf<31205>().toExtend<TwilioTokenErrorCode>();
  });
});
