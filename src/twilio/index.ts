// `token-warden/twilio`: Twilio's token error codes and the glue between an AccessManager and Twilio SDK clients.
// Bundled on its own, without the core class: see ./connect.ts for why.
export {
  TWILIO_TOKEN_ERROR_CODES,
  getTwilioTokenErrorCode,
  isTwilioTokenError,
  type TwilioTokenErrorCode,
  type TwilioTokenErrorTable,
} from './error-codes.js';
export {
  connectTwilioClient,
  type ConnectTwilioClientOptions,
  type TwilioClientLike,
  type TwilioListener,
  type TwilioManagerLike,
} from './connect.js';
