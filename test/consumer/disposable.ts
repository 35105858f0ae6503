// Explicit resource management, for apps whose `lib` includes `esnext` (or `esnext.disposable`): the manager is a
// `Disposable`, so `using` disposes it at the end of the scope. scripts/check-package.mjs type-checks this file
// only under those lib settings; index.ts must also pass without them.
import { AccessManager } from 'token-warden';

declare const token: string;

export function withManager(): string | undefined {
  using manager = new AccessManager({ token });
  return manager.token;
}

export const disposable: Disposable = new AccessManager({ token });
