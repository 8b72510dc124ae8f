// Public API of express-revocable-jwt: revocable JWT cookie sessions for Express, backed by MongoDB.
export { createSessionAuth } from './session-auth.js';
export type { LoginClaims, SessionAuth } from './session-auth.js';
export type { SessionAuthOptions } from './options.js';
export { MongoRevocationStore } from './mongo-store.js';
export type { MongoRevocationStoreOptions } from './mongo-store.js';
export { MemoryRevocationStore } from './memory-store.js';
export type { MemoryRevocationStoreOptions } from './memory-store.js';
export type { Awaitable, RevocationState, RevocationStore } from './store.js';
export { ERROR_STATUS, SessionAuthError, isSessionAuthError, sendErrorJson } from './errors.js';
export type { SessionAuthErrorBody, SessionAuthErrorCode } from './errors.js';
export { ConfigError } from './config-error.js';
export type { Algorithm, KeyInput } from './keys.js';
export type { SignedSession } from './token.js';
export type { AuthInfo, Register, RegisteredClaims, SessionInfo } from './types.js';
export type { Logger } from './validate-options.js';
