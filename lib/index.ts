// express-revocable-jwt: revocable JWT sessions for Express. This entry never loads a database driver: the
// MongoDB store is in `express-revocable-jwt/mongodb`, the store test suite in `express-revocable-jwt/testing`.
export { createSessionAuth } from './session-auth.js';
export { createRevocation } from './revocation/create-revocation.js';
export type { Revocation } from './revocation/create-revocation.js';
export type { RevocationOptions } from './config/revocation-options.js';
export type { LoginClaims, SessionAuth } from './session-auth.js';
export type { SessionAuthOptions } from './config/options.js';
export type { Logger } from './config/logger.js';
export { MemoryRevocationStore } from './stores/memory-store.js';
export type { MemoryRevocationStoreOptions } from './stores/memory-store.js';
export type {
  Awaitable,
  RevocationChange,
  RevocationLog,
  RevocationState,
  RevocationStore,
  StoreContext,
  SessionRecord,
} from './stores/revocation-store.js';
export { ERROR_STATUS, SessionAuthError, isSessionAuthError } from './errors/session-auth-error.js';
export type { SessionAuthErrorBody, SessionAuthErrorCode } from './errors/session-auth-error.js';
export { ConfigError, MESSAGE_PREFIX } from './errors/config-error.js';
export type { ConfigErrorCode } from './errors/config-error.js';
export { sendErrorJson } from './http/error-response.js';
export type { ErrorHandler } from './http/error-response.js';
export type { Algorithm, KeyInput } from './token/keys.js';
export type { SignedSession } from './token/sign-token.js';
export type { AuthInfo, Register, RegisteredClaims, SessionInfo } from './types.js';
