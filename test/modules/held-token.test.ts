// @vitest-environment node
// The held token and the rules a candidate must pass, alone: which refusal comes first, and its exact words.
import { describe, expect, it } from 'vitest';
import { Refusal } from '../../src/classify.js';
import { decodeToken } from '../../src/decode.js';
import { type CandidateRules, holdToken, judgeCandidate } from '../../src/held-token.js';
import { START as T } from '../helpers/time.mjs';
import { mintToken, rawToken } from '../helpers/tokens.mjs';

const aliceToken = mintToken({ at: T, identity: 'alice' });
const alice = decodeToken(aliceToken);
/** Alice again, one hour later: a later exp. */
const aliceLater = decodeToken(mintToken({ at: T + 3_600_000, identity: 'alice' }));
/** Alice, ten minutes before `alice`: an earlier exp. */
const aliceEarlier = decodeToken(mintToken({ at: T - 600_000, identity: 'alice' }));
const bob = decodeToken(mintToken({ at: T, identity: 'bob' }));
const bobEarlier = decodeToken(mintToken({ at: T - 600_000, identity: 'bob' }));
const exp = T + 3_600_000;
const held = holdToken(aliceToken, alice);

const rules = (overrides: Partial<CandidateRules> = {}): CandidateRules => ({
  held: undefined,
  identity: undefined,
  allowIdentityChange: false,
  ...overrides,
});

function refusal(code: Refusal['code'], message: string): Refusal {
  return new Refusal(code, message);
}

describe('holdToken', () => {
  it('keeps the token, its decoding and exp in ms, with no event fired yet', () => {
    expect(held).toEqual({
      token: aliceToken,
      decoded: alice,
      exp,
      aboutFired: false,
      expiredFired: false,
      expiredAtStart: false,
    });
    expect(held.decoded).toBe(alice);
  });
});

describe('judgeCandidate', () => {
  const rows: Array<[string, ReturnType<typeof decodeToken>, number, CandidateRules, Refusal | undefined]> = [
    ['valid, nothing held', alice, T, rules(), undefined],
    ['one ms before exp', alice, exp - 1, rules(), undefined],
    ['at exp: expired', alice, exp, rules(), refusal('TOKEN_EXPIRED', 'Token is expired.')],
    [
      'expired comes before the identity option',
      bob,
      exp,
      rules({ identity: 'alice' }),
      refusal('TOKEN_EXPIRED', 'Token is expired.'),
    ],
    [
      'another identity than the identity option',
      bob,
      T,
      rules({ identity: 'alice' }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.'),
    ],
    [
      'the identity option wins over allowIdentityChange',
      bob,
      T,
      rules({ identity: 'alice', allowIdentityChange: true }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.'),
    ],
    [
      'the identity option comes before the held identity and staleness',
      bobEarlier,
      T,
      rules({ identity: 'alice', held }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.'),
    ],
    ['the identity option matches', alice, T, rules({ identity: 'alice' }), undefined],
    [
      'no identity in the token, with the identity option',
      decodeToken(rawToken({ exp: exp / 1000 })),
      T,
      rules({ identity: 'alice' }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity than the identity option.'),
    ],
    [
      'another identity than the held one',
      bob,
      T,
      rules({ held }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity (see allowIdentityChange).'),
    ],
    [
      'another identity comes before staleness',
      bobEarlier,
      T,
      rules({ held }),
      refusal('IDENTITY_MISMATCH', 'Token is for another identity (see allowIdentityChange).'),
    ],
    ['an allowed identity change', bob, T, rules({ held, allowIdentityChange: true }), undefined],
    ['an allowed identity change is not checked for staleness', bobEarlier, T, rules({ held, allowIdentityChange: true }), undefined],
    ['an earlier exp: stale', aliceEarlier, T, rules({ held }), refusal('TOKEN_STALE', 'Token expires before the current one.')],
    ['the same exp', alice, T, rules({ held }), undefined],
    ['a later exp', aliceLater, T, rules({ held }), undefined],
  ];
  it.each(rows)('%s', (_label, candidate, serverNow, given, expected) => {
    const result = judgeCandidate(candidate, serverNow, given, 'Token');
    if (expected === undefined) {
      expect(result).toBeUndefined();
    } else {
      expect(result).toBeInstanceOf(Refusal);
      expect({ ...result }).toEqual({ ...expected });
    }
  });

  it.each([
    [alice, exp, rules(), 'Fetched token is expired.'],
    [bob, T, rules({ identity: 'alice' }), 'Fetched token is for another identity than the identity option.'],
    [bob, T, rules({ held }), 'Fetched token is for another identity (see allowIdentityChange).'],
    [aliceEarlier, T, rules({ held }), 'Fetched token expires before the current one.'],
  ])('the subject starts the message: %#', (candidate, serverNow, given, message) => {
    expect(judgeCandidate(candidate, serverNow, given, 'Fetched token')?.message).toBe(message);
  });
});
