/**
 * Revocable JWT sessions for Express. This entry never loads a database driver: the stores are in
 * `express-revocable-jwt/mongodb` and `/redis`, the store test suite in `/testing`.
 *
 * @module express-revocable-jwt
 */
export { createSessionAuth } from './session-auth.js';
export { createRevocation } from './create-revocation.js';
export type { Revocation, RevocationOptions, VerifiedClaims } from './create-revocation.js';
export type { LoginClaims, SessionAuth, SessionAuthOptions } from './session-auth.js';
export type { SessionSummary } from './http/sessions.js';
export type { Logger } from './config/logger.js';
export type { SessionEvent, SessionEventType } from './config/session-events.js';
export { MemoryRevocationStore } from './stores/memory-store.js';
export type { MemoryRevocationStoreOptions } from './stores/memory-store.js';
export type {
  Awaitable,
  FeedChange,
  FeedPage,
  FeedPageRequest,
  LifetimeBound,
  RevocationState,
  RevocationStore,
  StoreContext,
  SessionRecord,
} from './stores/revocation-store.js';
export { ERROR_STATUS, SessionAuthError, isSessionAuthError } from './core/session-auth-error.js';
export type { SessionAuthErrorBody, SessionAuthErrorCode } from './core/session-auth-error.js';
export { ConfigError, isConfigError, MESSAGE_PREFIX } from './core/config-error.js';
export type { ConfigErrorCode } from './core/config-error.js';
export { sendErrorJson } from './http/error-response.js';
export type { ErrorHandler } from './http/error-response.js';
export type { Algorithm, KeyInput } from './core/algorithms.js';
export type { SignedSession } from './token/sign-token.js';
export type { AuthInfo, SessionInfo } from './core/session-info.js';
