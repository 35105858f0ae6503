import { describe, expect, it } from 'vitest';
import { AccessManagerError, decodeToken, isAccessManagerError } from '../../src/index.js';
import { START as AT } from '../helpers/time.mjs';
import { mintToken, rawToken } from '../helpers/tokens.mjs';

describe('decodeToken', () => {
  it('decodes a Twilio access token minted by the official helper', () => {
    const token = mintToken({ identity: 'alice', ttl: 3600, at: AT, grants: ['chat', 'voice'] });
    const decoded = decodeToken(token);
    expect(decoded.header).toEqual({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
    expect(decoded.expiresAt).toEqual(new Date(AT + 3600_000));
    expect(decoded.issuedAt).toEqual(new Date(AT));
    expect(decoded.notBefore).toBeUndefined();
    expect(decoded.identity).toBe('alice');
    expect(Object.keys(decoded.grants).sort()).toEqual(['chat', 'identity', 'voice']);
    expect(decoded.payload.iss).toMatch(/^SK/);
    expect(decoded.payload.sub).toMatch(/^AC/);
    expect(decoded.payload.jti).toBe(`${decoded.payload.iss}-${AT / 1000}`);
  });

  it('keeps the optional region header and nbf', () => {
    const decoded = decodeToken(mintToken({ at: AT, region: 'ie1', nbf: AT / 1000 + 5 }));
    expect(decoded.header.twr).toBe('ie1');
    expect(decoded.notBefore).toEqual(new Date(AT + 5000));
  });

  it('decodes UTF-8 identities', () => {
    for (const identity of ['Zoë 日本', 'émoji 🎉', 'Ωμέγα']) {
      expect(decodeToken(mintToken({ identity, at: AT })).identity).toBe(identity);
    }
  });

  it('takes identity from sub when there are no grants', () => {
    expect(decodeToken(rawToken({ sub: 'user-1', exp: 2e9 })).identity).toBe('user-1');
    expect(decodeToken(rawToken({ sub: 'user-1', exp: 2e9, grants: {} })).identity).toBeUndefined();
    expect(decodeToken(rawToken({ exp: 2e9 })).grants).toEqual({});
  });

  it('handles base64url without padding and with - and _', () => {
    // Payloads chosen so their base64 contains '-' / '_' and needs padding.
    const token = rawToken({ exp: 2e9, grants: { identity: '>>>???~~~' } });
    expect(token.split('.')[1]).toMatch(/[-_]/);
    expect(decodeToken(token).identity).toBe('>>>???~~~');
  });

  const secret = 'c2VjcmV0LXBhcnQ';
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const header = b64({ alg: 'HS256' });
  const malformed: [string, unknown][] = [
    ['a number', 42],
    ['null', null],
    ['an object', { token: 'x' }],
    ['an empty string', ''],
    ['two parts', `${header}.${b64({ exp: 2e9 })}`],
    ['four parts', `${header}.${b64({ exp: 2e9 })}.${secret}.${secret}`],
    ['bad base64url characters', `${header}.${b64({ exp: 2e9 })}+/=.${secret}`],
    ['an impossible base64 length', `${header}.${b64({ exp: 2e9 })}A.${secret}`],
    ['invalid UTF-8', `${header}.${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}.${secret}`],
    ['a non-JSON payload', `${header}.${b64('not json')}.${secret}`],
    ['a non-JSON header', `${b64('{nope')}.${b64({ exp: 2e9 })}.${secret}`],
    ['an array payload', `${header}.${b64([1, 2])}.${secret}`],
    ['a string payload', `${header}.${b64('"str"')}.${secret}`],
    ['a null payload', `${header}.${b64('null')}.${secret}`],
    ['a missing exp', `${header}.${b64({ iat: 1 })}.${secret}`],
    ['a string exp', `${header}.${b64({ exp: '2000000000' })}.${secret}`],
    ['a null exp', `${header}.${b64({ exp: null })}.${secret}`],
    ['an absurd exp', `${header}.${b64({ exp: 1e300 })}.${secret}`],
    ['an empty signature', `${header}.${b64({ exp: 2e9 })}.`],
    ['a one-character signature', `e30.${b64({ exp: 1 })}.A`],
    ['a standard-base64 signature (+ and /)', `${header}.${b64({ exp: 2e9 })}.${secret}+/${secret}`],
    ['a padded signature', `${header}.${b64({ exp: 2e9 })}.${secret}=`],
    ['an empty header', `.${b64({ exp: 2e9 })}.${secret}`],
  ];

  it('says which part is wrong when the signature is', () => {
    expect(() => decodeToken(`${header}.${b64({ exp: 2e9 })}.`)).toThrow('Token is malformed: signature is missing or not base64url.');
  });

  it.each(malformed)('throws TOKEN_MALFORMED for %s, without any part of the token in the message', (_, input) => {
    let caught: unknown;
    try {
      decodeToken(input as string);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AccessManagerError);
    expect(isAccessManagerError(caught)).toBe(true);
    const error = caught as AccessManagerError;
    expect(error.code).toBe('TOKEN_MALFORMED');
    expect(error.name).toBe('AccessManagerError');
    if (typeof input === 'string') {
      for (const part of input.split('.').filter((p) => p.length >= 4)) expect(error.message).not.toContain(part);
      expect(error.message).not.toContain(secret);
    }
    expect(String(error.stack)).not.toContain(secret);
  });
});
