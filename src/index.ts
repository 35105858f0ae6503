export { AccessManager } from './access-manager.js';
export { decodeToken, type DecodedToken } from './decode.js';
export {
  AccessManagerError,
  isAccessManagerError,
  type AccessManagerErrorCode,
  type AccessManagerErrorOf,
  type AnyAccessManagerError,
  type AccessManagerErrorDetails,
} from './errors.js';
export type {
  AccessManagerEvents,
  AccessManagerOptions,
  AccessManagerSnapshot,
  AccessManagerState,
  ClientOptions,
  ConsoleLike,
  Clock,
  FetchContext,
  FetchReason,
  FetchResult,
  LogEntry,
  Logger,
  LogLevel,
  RetryOptions,
  StateChangeInfo,
  TokenAboutToExpireInfo,
  TokenClient,
  TokenExpiredInfo,
  TokenFetcher,
  TokenSource,
  TokenUpdatedInfo,
} from './types.js';
