// @vitest-environment node
// Token fingerprints alone: FNV-1a of the signature only, six base-36 characters.
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/log.js';

describe('fingerprint', () => {
  it('is the 32-bit FNV-1a hash of the signature in base 36, its last six characters', () => {
    // FNV-1a("foobar") = 0xbf9cf968 (a published test vector) = "1h5yxyg" in base 36.
    expect(fingerprint('x.y.foobar')).toBe('h5yxyg');
  });

  it('reads the signature only: the same signature under another header and payload gives the same print', () => {
    expect(fingerprint('aaaa.bbbb.foobar')).toBe('h5yxyg');
    expect(fingerprint('foobar')).toBe('h5yxyg');
  });

  it('pads a short hash with zeros to six characters', () => {
    // FNV-1a("sig718") = 0x20d6f06 = "ki22u" in base 36: five characters.
    expect(fingerprint('h.p.sig718')).toBe('0ki22u');
  });
});
