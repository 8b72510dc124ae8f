// The RevocationStore interface every backend implements, and the runtime check of a store's shape.
import type { Logger } from '../config/logger.js';
import { ConfigError, MESSAGE_PREFIX } from '../core/config-error.js';
import { isThenable, withDeadline } from '../core/deadline.js';

/** A value or a promise of it: store methods may be synchronous or asynchronous. */
export type Awaitable<T> = T | Promise<T>;

/** What one request needs to know, fetched in one call so a store can answer it in one round trip. */
export interface RevocationState {
  /** The user's "log out everywhere" watermark; tokens issued at or before it are rejected. */
  lastLogoutAt: Date | null;
  /** True when this device session was logged out and its entry has not expired yet. */
  sessionRevoked: boolean;
  /**
   * When the user's claims last changed (`markClaimsChanged`), while it matters; null or left out when they never
   * did. Only stores that record claims changes answer it: tokens whose claims were loaded at or before it are
   * re-issued with fresh claims.
   */
  claimsChangedAt?: Date | null;
}

/** What an instance hands its store at startup (`init`). */
export interface StoreContext {
  /** The instance's logger (`createSessionAuth({ logger })`, `createRevocation({ logger })`). */
  logger: Logger;
  /**
   * How long the instance waits for each store call (`storeTimeoutMs`): a store that retries (the Redis store
   * on a cluster whose slots move) stops by then. Absent when a caller other than an instance runs `init`.
   */
  storeTimeoutMs?: number;
}

/** One signed-in device session, as the device registry keeps it (never the token). */
export interface SessionRecord {
  /** The session's id (the token's `sid`). */
  sessionId: string;
  /** The user. */
  sub: string;
  /** When the user signed in. */
  signedInAt: Date;
  /** The latest sign-in or renewal: updated at most once per `renewAfter`. */
  lastActiveAt: Date;
  /**
   * When the record may be forgotten: the session's absolute end (`signedInAt + maxAge`) plus 300 s, the
   * largest `clockTolerance`, until when an instance may still accept one of its tokens.
   */
  expiresAt: Date;
  /** The browser's User-Agent at sign-in, trimmed to 256 characters. */
  userAgent?: string;
  /** The IP of the sign-in as Express computed it (`req.ip`). */
  ip?: string;
}

/** One revocation as the change feed (`readFeed`) reports it. */
export type FeedChange =
  | {
      /** A user was logged out everywhere. */
      kind: 'user';
      /** The user. */
      sub: string;
      /** The watermark the user was raised to. */
      lastLogoutAt: Date;
      /** When it stops mattering (`revokeUser`'s `relevantUntil`). */
      relevantUntil: Date;
    }
  | {
      /** One session was logged out. */
      kind: 'session';
      /** The session's id. */
      sessionId: string;
      /** The user of the session: a session is revoked for its own user only (another may share its id). */
      sub: string;
      /** When the session's entry may be forgotten (the session can no longer be used). */
      expiresAt: Date;
    }
  | {
      /** A user's claims changed (`markClaimsChanged`). */
      kind: 'claims';
      /** The user. */
      sub: string;
      /** When they changed. */
      changedAt: Date;
      /** When it stops mattering (`markClaimsChanged`'s `relevantUntil`). */
      relevantUntil: Date;
    };

/** How a paged feed read continues (`readFeed`'s third argument). */
export interface FeedPageRequest {
  /** Most changes in this page (a store may return a few more, never many). */
  size: number;
  /** Where the previous page ended (its `cursor`); absent for the first page. */
  cursor?: string;
}

/** What `readFeed` answers. */
export interface FeedPage {
  /**
   * Since when every revocation written through this store is in the feed (for a store whose feed began after
   * it already held state, e.g. a database written by an older version). Sessions signed in before it are
   * always checked against the store itself.
   */
  startedAt: Date;
  /** The changes after `since`, oldest first, at most `limit` of them. */
  changes: FeedChange[];
  /**
   * More changes follow this page: the caller reads them with the same `since` and `{ cursor }`. Only a store that
   * pages (it was given a `FeedPageRequest`) sets it; each change is in at least one page, and a change written
   * while the pages are read may be in none (the next read by time has it).
   */
  cursor?: string;
}

/**
 * The longest session lifetime the instances sharing a store declared (`declareLifetime`): how long a logout
 * everywhere or a claims change must matter.
 */
export interface LifetimeBound {
  /** In ms: a session signed in before a watermark ends at most this long after it. */
  lifetimeMs: number;
  /** When it was last raised or set (by the store's clock, or the caller's). */
  raisedAt: Date;
  /**
   * Entries written before `raisedAt` with a shorter lifetime were all extended (`settleLifetime`), when this is
   * at or after `raisedAt`.
   */
  settledAt: Date;
}

/**
 * Server-side revocation state. Implement these methods to add a backend (Redis, SQL, ...) and run it
 * through the published conformance suite: `runStoreConformance` from
 * `express-revocable-jwt/testing`.
 */
export interface RevocationStore {
  /**
   * Revocation state for a user (`sub`) and one of their device sessions. Must read fresh, not cached.
   * `signedInAtMs` is when the session signed in (kept across renewals); a store may use it to skip work (a
   * session can only have been revoked after it signed in), never to answer differently.
   * `sessionId` is `''` for a token that names no session (checked with `createRevocation`): answer for the user.
   */
  getState(sub: string, sessionId: string, signedInAtMs: number): Awaitable<RevocationState>;
  /**
   * Raises the user's watermark to `at`, never lowering it, and creates the user's record if missing.
   * `relevantUntil` is when the watermark stops mattering (every token issued before it has expired):
   * stores with bounded memory may forget it then.
   */
  revokeUser(sub: string, at: Date, relevantUntil: Date): Awaitable<void>;
  /** Marks one device session revoked until `expiresAt`, extending (never shortening) an existing entry. */
  revokeSession(sessionId: string, sub: string, expiresAt: Date): Awaitable<void>;
  /**
   * Claims refresh (optional: without it, `loadClaims` and `refreshClaims` are not available). Raises the user's
   * claims change to `at` (never lowering it), answered by `getState` as `claimsChangedAt` until `relevantUntil`,
   * and, with a change feed, reported by `readFeed` as a `claims` change before it resolves.
   */
  markClaimsChanged?(sub: string, at: Date, relevantUntil: Date): Awaitable<void>;
  /**
   * Device registry (optional: without it, `listSessions`, `revokeOtherSessions` and `maxSessions` are not
   * available). Records a new session; a repeated call for the same id replaces the record.
   */
  registerSession?(record: SessionRecord): Awaitable<void>;
  /** Raises a registered session's `lastActiveAt` (never lowers it); never creates a record. */
  touchSession?(sessionId: string, sub: string, lastActiveAt: Date): Awaitable<void>;
  /**
   * The user's live sessions, in any order: registered, not past `expiresAt`, not revoked (`revokeSession`),
   * and signed in after the user's watermark (`revokeUser`).
   */
  listSessions?(sub: string): Awaitable<SessionRecord[]>;
  /**
   * Change feed (optional: it lets `maxRevocationDelay` answer every check from memory). With `since` null,
   * every revocation that still matters; else every revocation written at or after `since` by the writing
   * process's clock (a change is reported again harmlessly; an old one may be left out). At most `limit`
   * changes: when there are more, answer at least `limit` (the caller then stops using the feed).
   * A write must be in the feed before `revokeUser`/`revokeSession` resolve.
   */
  readFeed?(since: Date | null, limit: number, page?: FeedPageRequest): Awaitable<FeedPage>;
  /**
   * Session-lifetime bound (optional, with `readFeed` and `settleLifetime`: without it, a logout everywhere matters
   * 400 days). `'raise'`: raises the stored bound to at least `lifetimeMs`, never lowering it, and answers it; a
   * store that holds none yet starts it at `lifetimeMs` when it holds no revocation either, else at 400 days
   * (an older version wrote them, and may still run). `'set'`: sets it to `lifetimeMs` (the explicit lowering).
   * Either way `raisedAt` becomes now when the bound changed, and always later than the `raisedAt` it replaces (so
   * that `settledAt`, a `raisedAt` that was settled, never covers a later change, whatever the callers' clocks).
   */
  declareLifetime?(lifetimeMs: number, mode: 'raise' | 'set'): Awaitable<LifetimeBound>;
  /** Records that entries written up to `raisedAt` were extended: `settledAt` becomes at least `raisedAt`. */
  settleLifetime?(raisedAt: Date): Awaitable<void>;
  /**
   * Optional one-time setup (indexes, connections, checks of the server); called at startup by each instance
   * that uses the store, with that instance's `logger`: a store created without a logger of its own should
   * warn through it. Bounded by the instance's `storeTimeoutMs`.
   */
  init?(context?: StoreContext): Awaitable<void>;
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
      `lacks the method${missing.length > 1 ? 's' : ''} ${missing.map((m) => `\`${m}()\``).join(', ')} of a RevocationStore. Use MemoryRevocationStore, MongoRevocationStore or RedisRevocationStore, or implement the RevocationStore interface.`,
    );
  }
  const registry = (['registerSession', 'touchSession', 'listSessions'] as const).filter(
    (m) => record[m] !== undefined,
  );
  if (registry.length > 0 && registry.length < 3) {
    throw new ConfigError(
      'store',
      `has ${registry.map((m) => `\`${m}()\``).join(', ')} but not all of \`registerSession()\`, \`touchSession()\` and \`listSessions()\`: a device registry needs the three.`,
    );
  }
  const lifetime = (['declareLifetime', 'settleLifetime', 'readFeed'] as const).filter((m) => record[m] !== undefined);
  if (lifetime.length > 0 && lifetime.length < 3 && record.declareLifetime !== undefined) {
    throw new ConfigError(
      'store',
      'has `declareLifetime()` but not all of `declareLifetime()`, `settleLifetime()` and `readFeed()`: a session-lifetime bound needs the three.',
    );
  }
  const optionals = ['init', 'close', 'readFeed', 'markClaimsChanged', 'declareLifetime', 'settleLifetime'] as const;
  for (const optional of [...optionals, ...registry] as const) {
    if (record[optional] !== undefined && typeof record[optional] !== 'function') {
      throw new ConfigError(`store.${optional}`, 'must be a function when present.');
    }
  }
}

/**
 * Runs the store's optional one-time setup, handing it the instance's logger, for at most `timeoutMs`; never
 * rejects. A failure or a setup still running then is logged: our stores retry their setup on their next
 * write until it succeeds.
 */
export function initStore(store: RevocationStore, logger: Logger, timeoutMs: number): Promise<void> {
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
  return Promise.resolve()
    .then(() => {
      const pending = store.init?.({ logger, storeTimeoutMs: timeoutMs });
      if (!isThenable(pending)) return pending;
      return withDeadline(pending, timeoutMs, () => new Error(`it did not finish within ${timeoutMs} ms`));
    })
    .then(
      () => undefined,
      (error: unknown) =>
        logger.warn(`${MESSAGE_PREFIX}: store setup failed (${reason(error)}); it is retried on the next write.`),
    );
}
