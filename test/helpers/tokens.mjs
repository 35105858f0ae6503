// Real-format Twilio access tokens, minted offline by the official `twilio` package from fake credentials (real
// format, no account behind them: the tokens are well-formed and signed, just not by Twilio). One minter for the
// tests, the benchmarks and the demo server; plain JavaScript (typed by tokens.d.mts) so plain Node can import it.
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
export const ACCOUNT_SID = 'AC' + '0'.repeat(31) + '1';
export const API_KEY_SID = 'SK' + '0'.repeat(31) + '2';
export const API_KEY_SECRET = 'fake-secret-for-tests-only';
const CHAT_SERVICE_SID = 'IS' + '0'.repeat(32);
const SYNC_SERVICE_SID = 'IS' + '1'.repeat(32);

/** Mints a signed Twilio access token whose `iat` is `at` and `exp` is `at + ttl`. */
export function mintToken(options = {}) {
  const { identity = 'alice', ttl = 3600, grants = ['chat', 'sync', 'voice'], at = Date.now(), region, nbf } = options;
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity, ttl, region, nbf });
  for (const grant of grants) {
    if (grant === 'chat') token.addGrant(new AccessToken.ChatGrant({ serviceSid: CHAT_SERVICE_SID }));
    if (grant === 'sync') token.addGrant(new AccessToken.SyncGrant({ serviceSid: SYNC_SERVICE_SID }));
    if (grant === 'voice') token.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
    if (grant === 'video') token.addGrant(new AccessToken.VideoGrant({ room: 'test-room' }));
  }
  // jsonwebtoken reads Date.now() for `iat`; pin it so a test (or a simulated clock) controls the timeline exactly.
  const realNow = Date.now;
  Date.now = () => at;
  try {
    return token.toJwt();
  } finally {
    Date.now = realNow;
  }
}

/** Builds an unsigned JWT from arbitrary header and payload, for malformed and edge cases. */
export function rawToken(payload, header = { alg: 'HS256', typ: 'JWT' }) {
  const enc = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${enc(header)}.${enc(payload)}.c2lnbmF0dXJl`;
}

/**
 * `token` with its claims replaced by `change(claims)`. The signature no longer verifies, which decoding never
 * checks: a quick way to many well-formed tokens when minting each through `twilio` would take too long.
 */
export function withClaims(token, change) {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  return `${header}.${Buffer.from(JSON.stringify(change(claims))).toString('base64url')}.${signature}`;
}

/**
 * Returns `make(i)`: the token `mintToken(options)` mints, with `exp` moved `i` seconds later (and `jti` to
 * match), built by {@link withClaims}.
 */
export function tokenSeries(options = {}) {
  const token = mintToken(options);
  return (i) => withClaims(token, (claims) => ({ ...claims, exp: claims.exp + i, jti: `${claims.iss}-${claims.iat + i}` }));
}
