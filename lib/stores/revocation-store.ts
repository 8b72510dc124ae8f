// The RevocationStore interface every backend implements, and the runtime check of a store's shape.
import type { Logger } from '../config/logger.js';
import { ConfigError, MESSAGE_PREFIX } from '../errors/config-error.js';

/** A value or a promise of it: store methods may be synchronous or asynchronous. */
export type Awaitable<T> = T | Promise<T>;

/** What one request needs to know, fetched in one call so a store can answer it in one round trip. */
export interface RevocationState {
  /** The user's "log out everywhere" watermark; tokens issued at or before it are rejected. */
  lastLogoutAt: Date | null;
  /** True when this device session was logged out and its entry has not expired yet. */
  sessionRevoked: boolean;
}

/**
 * Server-side revocation state. Implement these methods to add a backend (Redis, SQL, ...) and run it
 * through the published conformance suite: `runStoreConformance` from
 * `express-revocable-jwt/testing`.
 */
export interface RevocationStore {
  /**
   * Revocation state for a user (`sub`) and one of their device sessions. Must read fresh, not cached.
   * `sessionId` is `''` for a token that names no session (checked with `createRevocation`): answer for the user.
   * `issuedAtMs` is the token's issue time (`iat_ms`); a store may use it to skip work (a session can only
   * have been revoked after its token was issued), never to answer differently.
   */
  getState(sub: string, sessionId: string, issuedAtMs: number): Awaitable<RevocationState>;
  /**
   * Raises the user's watermark to `at`, never lowering it, and creates the user's record if missing.
   * `relevantUntil` is when the watermark stops mattering (every token issued before it has expired):
   * stores with bounded memory may forget it then.
   */
  revokeUser(sub: string, at: Date, relevantUntil: Date): Awaitable<void>;
  /** Marks one device session revoked until `expiresAt`, extending (never shortening) an existing entry. */
  revokeSession(sessionId: string, sub: string, expiresAt: Date): Awaitable<void>;
  /** Optional one-time setup (indexes, connections); called once at startup. */
  init?(): Awaitable<void>;
  /** Optional shutdown: closes connections the store opened itself. */
  close?(): Awaitable<void>;
}

const REQUIRED_METHODS = ['getState', 'revokeUser', 'revokeSession'] as const;

/** Checks at startup that `store` looks like a RevocationStore, naming what is missing. */
export function assertRevocationStore(store: unknown): asserts store is RevocationStore {
  if (store === undefined || store === null) {
    throw new ConfigError(
      'store',
      'is missing. Pass `new MongoRevocationStore({ client, dbName })`, or `new MemoryRevocationStore()` for a single process.',
    );
  }
  if (typeof store === 'function') {
    throw new ConfigError(
      'store',
      'is a class or function, not a store instance. Did you forget `new` (e.g. `new MongoRevocationStore({ ... })`)?',
    );
  }
  if (typeof store !== 'object') {
    throw new ConfigError('store', `must be a store object, got ${typeof store}.`);
  }
  const record = store as Record<string, unknown>;
  const missing = REQUIRED_METHODS.filter((name) => typeof record[name] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError(
      'store',
      `lacks the method${missing.length > 1 ? 's' : ''} ${missing.map((m) => `\`${m}()\``).join(', ')} of a RevocationStore. Use MongoRevocationStore or MemoryRevocationStore, or implement the RevocationStore interface.`,
    );
  }
  for (const optional of ['init', 'close'] as const) {
    if (record[optional] !== undefined && typeof record[optional] !== 'function') {
      throw new ConfigError(`store.${optional}`, 'must be a function when present.');
    }
  }
}

/** Runs the store's optional one-time setup; never rejects (a failure is logged and retried by the store). */
export function initStore(store: RevocationStore, logger: Logger): Promise<void> {
  return Promise.resolve()
    .then(() => store.init?.())
    .then(
      () => undefined,
      (error: unknown) =>
        logger.warn(
          `${MESSAGE_PREFIX}: store setup failed (${error instanceof Error ? error.message : String(error)}); it is retried on the next logout.`,
        ),
    );
}
