// `token-warden/http`: ky-based helpers. ky is an optional peer dependency, imported only from this entry, so the
// core bundle never contains it.
export { createTokenFetcher } from './token-fetcher.js';
export type { TokenFetcherInput, TokenFetcherOptions, TokenFetcherResult, TokenResponseParser } from './token-fetcher.js';
export { authorizedKy } from './authorized-ky.js';
export type { TokenProvider } from './authorized-ky.js';
