// Real-format Twilio access tokens for the benchmarks, minted offline by the official `twilio` package from fake
// credentials (the same recipe as test/helpers/tokens.ts, which plain Node cannot import).
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
const ACCOUNT_SID = 'AC' + '0'.repeat(31) + '1';
const API_KEY_SID = 'SK' + '0'.repeat(31) + '2';
const API_KEY_SECRET = 'fake-secret-for-benchmarks-only';

/** Mints a signed Twilio access token issued at `at` (ms) and valid for `ttl` seconds. */
export function mintToken({ identity = 'alice', ttl = 3600, at = Date.now(), grants = ['chat', 'sync', 'voice'] } = {}) {
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity, ttl });
  for (const grant of grants) {
    if (grant === 'chat') token.addGrant(new AccessToken.ChatGrant({ serviceSid: 'IS' + '0'.repeat(32) }));
    if (grant === 'sync') token.addGrant(new AccessToken.SyncGrant({ serviceSid: 'IS' + '1'.repeat(32) }));
    if (grant === 'voice') token.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
    if (grant === 'video') token.addGrant(new AccessToken.VideoGrant({ room: 'bench-room' }));
  }
  // jsonwebtoken reads Date.now() for `iat` and `exp`; pin it so a simulated clock controls the timeline.
  const realNow = Date.now;
  Date.now = () => at;
  try {
    return token.toJwt();
  } finally {
    Date.now = realNow;
  }
}

/**
 * Returns `make(i)`, which builds a well-formed token from one real minted token with `exp` moved `i` seconds
 * later (and `jti` to match). The signature no longer verifies, which decoding never checks; minting 100,000
 * tokens through `twilio` would take most of the time budget.
 */
export function tokenSeries(options = {}) {
  const [header, payload, signature] = mintToken(options).split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  return (i) => {
    const body = { ...claims, exp: claims.exp + i, jti: `${claims.iss}-${claims.iat + i}` };
    return `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${signature}`;
  };
}
