// The error event's payload narrows on `code` to the fields that code carries.
import { describe, expectTypeOf, it } from 'vitest';
import { AccessManager, type AccessManagerError, type AnyAccessManagerError } from '../../src/index.js';

declare const manager: AccessManager;

describe('AnyAccessManagerError', () => {
  it('narrows on code', () => {
    manager.on('error', (err) => {
      expectTypeOf(err).toEqualTypeOf<AnyAccessManagerError>();
      expectTypeOf(err).toMatchTypeOf<AccessManagerError>();
      switch (err.code) {
        case 'FETCH_FAILED':
          expectTypeOf(err.attempt).toEqualTypeOf<number>();
          expectTypeOf(err.retryInMs).toEqualTypeOf<number | undefined>();
          break;
        case 'FETCH_UNAUTHORIZED':
          expectTypeOf(err.retryInMs).toEqualTypeOf<undefined>();
          break;
        case 'CLIENT_UPDATE_FAILED':
          expectTypeOf(err.clientName).toEqualTypeOf<string>();
          break;
        case 'CLIENT_TOKEN_REJECTED':
          expectTypeOf(err.retryInMs).toEqualTypeOf<number>();
          expectTypeOf(err.clientName).toEqualTypeOf<string | undefined>();
          break;
        case 'DISPOSED':
          expectTypeOf(err.name).toEqualTypeOf<'AccessManagerError'>();
          break;
      }
    });
  });

  it('still accepts a listener typed with the class', () => {
    manager.on('error', (err: AccessManagerError) => void err.code);
  });
});
