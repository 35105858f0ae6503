// Real-format Twilio access tokens, minted offline by the official `twilio` package from fake credentials.
import twilio from 'twilio';

const { AccessToken } = twilio.jwt;
export const ACCOUNT_SID = 'AC' + '0'.repeat(31) + '1';
export const API_KEY_SID = 'SK' + '0'.repeat(31) + '2';
export const API_KEY_SECRET = 'fake-secret-for-tests-only';

export type GrantName = 'chat' | 'sync' | 'voice' | 'video';

export interface MintOptions {
  identity?: string;
  /** Seconds. Default 3600. */
  ttl?: number;
  grants?: GrantName[];
  /** Issue time in ms since the epoch (the token's `iat`). Default `Date.now()`. */
  at?: number;
  region?: string;
  nbf?: number;
}

/** Mints a signed Twilio access token whose `iat` is `at` and `exp` is `at + ttl`. */
export function mintToken(options: MintOptions = {}): string {
  const { identity = 'alice', ttl = 3600, grants = ['chat', 'sync', 'voice'], at = Date.now(), region, nbf } = options;
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity, ttl, region, nbf });
  for (const grant of grants) {
    if (grant === 'chat') token.addGrant(new AccessToken.ChatGrant({ serviceSid: 'IS' + '0'.repeat(32) }));
    if (grant === 'sync') token.addGrant(new AccessToken.SyncGrant({ serviceSid: 'IS' + '1'.repeat(32) }));
    if (grant === 'voice') token.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
    if (grant === 'video') token.addGrant(new AccessToken.VideoGrant({ room: 'test-room' }));
  }
  // jsonwebtoken reads Date.now() for `iat`; pin it so tests control the timeline exactly.
  const realNow = Date.now;
  Date.now = () => at;
  try {
    return token.toJwt();
  } finally {
    Date.now = realNow;
  }
}

/** Builds an unsigned JWT from arbitrary header and payload, for malformed and edge cases. */
export function rawToken(payload: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${enc(header)}.${enc(payload)}.c2lnbmF0dXJl`;
}
