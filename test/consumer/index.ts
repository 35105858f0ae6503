// A consumer of the published package, type-checked by scripts/check-package.mjs against the packed tarball
// under `moduleResolution: nodenext` and `bundler` (tsconfig.nodenext.json, tsconfig.bundler.json), with
// TypeScript 6 and 5, and under lib settings without `esnext` (so nothing here may need them; see disposable.ts).
// Inside this repo (tsconfig.test.json) 'token-warden' resolves to the package itself through its `exports`,
// so `npm run typecheck` needs a built dist/ as well.
import {
  AccessManager,
  AccessManagerError,
  decodeToken,
  isAccessManagerError,
  type AccessManagerOptions,
  type AccessManagerSnapshot,
  type DecodedToken,
  type TokenUpdatedInfo,
} from 'token-warden';
import { authorizedKy, createTokenFetcher } from 'token-warden/http';
import { connectTwilioClient, isTwilioTokenError, TWILIO_TOKEN_ERROR_CODES } from 'token-warden/twilio';
import { useAccessManager, useToken, type SnapshotSource } from 'token-warden/react';

const options: AccessManagerOptions = {
  fetchToken: createTokenFetcher('/api/token', { method: 'post', credentials: 'include' }),
  aboutToExpireMs: 60_000,
  crossTab: { name: 'app' },
};
const manager = new AccessManager(options);

// The typed event map must survive the packaging (it vanishes when the eventemitter3 import is wrong).
declare const token: string;
manager.on('tokenUpdated', (info) => info.token);
manager.on('tokenUpdated', (info: TokenUpdatedInfo) => info.source === 'peer');
manager.on('error', (err) => {
  const code: AccessManagerError['code'] = err.code;
  return code;
});
manager.once('tokenAboutToExpire', ({ msLeft }) => msLeft.toFixed());
// @ts-expect-error: not an event of AccessManager
manager.on('tokenWillExpire', () => {});
// @ts-expect-error: tokenUpdated listeners receive an info object, not a string
manager.on('tokenUpdated', (info: number) => info);

const decoded: DecodedToken = decodeToken(token);
const expiry: Date = decoded.expiresAt;
const fresh: Promise<string> = manager.getToken();
const api = authorizedKy(manager);
const client = { updateToken: async (next: string) => next };
const remove: () => void = manager.addClient(client, { name: 'mine', grants: ['chat'] });
const known = Object.keys(TWILIO_TOKEN_ERROR_CODES).length;
const isTokenError: boolean = isTwilioTokenError(new Error('x')) || isAccessManagerError(null);
const disconnect: () => void = connectTwilioClient(manager, client as never, { name: 'sdk' });
// The hooks take the manager of the root entry (bundled apart, they name no class of it) and return its types.
const source: SnapshotSource<AccessManagerSnapshot> = manager;
const state: AccessManager['state'] = useAccessManager(manager).state;
const current: string | undefined = useToken(source);

// The CommonJS declarations (dist/*.d.cts), as a `require('token-warden')` caller sees them.
type Cjs = typeof import('token-warden', { with: { 'resolution-mode': 'require' } });
declare const cjs: Cjs;
new cjs.AccessManager({ token }).on('tokenUpdated', (info) => info.token);
const cjsError: boolean = cjs.isAccessManagerError(new cjs.AccessManagerError('DISPOSED', 'disposed'));
type CjsReact = typeof import('token-warden/react', { with: { 'resolution-mode': 'require' } });
declare const cjsReact: CjsReact;
const cjsToken: string | undefined = cjsReact.useToken(new cjs.AccessManager({ token }));

export { api, cjsError, cjsToken, current, disconnect, expiry, fresh, isTokenError, known, remove, state };
