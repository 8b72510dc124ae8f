// MongoRevocationStore: lastLogoutAt (and claimsChangedAt) on the user's document and revoked sessions with a
// TTL, in MongoDB.
import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { validateOptions } from '../../config/validate-options.js';
import { argumentError, ConfigError, MESSAGE_PREFIX } from '../../core/config-error.js';
import { createLookupBatcher } from '../lookup-batcher.js';
import type {
  FeedPage,
  FeedPageRequest,
  LifetimeBound,
  RevocationState,
  RevocationStore,
  SessionRecord,
  StoreContext,
} from '../revocation-store.js';
import { storeLogger } from '../../config/logger.js';
import { mongoStoreOptionsSchema, type MongoRevocationStoreOptions } from './options.js';
import { readStates, type Lookup } from './read-states.js';
import { createFeed } from './feed.js';
import { hasAtomicUpdates } from './server-kind.js';
import { createSessionRegistry, type RegistryDocument } from './session-registry.js';
import { onceUntilFailure } from '../../core/once-until-failure.js';
import { createTtlIndex } from './ttl-index.js';
import type { KeyedCollection } from './write-lock.js';
import {
  inStateCollection,
  inUserDocuments,
  raiseUntilItHolds,
  retryDuplicateKey,
  type UserStateLocation,
} from './user-state.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../core/limits.js';
import { sessionIdentity } from '../../core/ids.js';

export type { MongoRevocationStoreOptions } from './options.js';

/** A revoked session, `_id: sessionIdentity(sub, sid)`: two users may share a session id. */
interface RevokedSession {
  _id: string;
  sub: string;
  sid: string;
  expiresAt: Date;
  revokedAt: Date;
}

const TTL_INDEX_NAME = 'expiresAt_ttl';
const BATCHING = { maxBatch: 256, maxInFlight: 2, maxQueued: 20_000, timeoutMs: 10_000 };
const PRIMARY = { readPreference: 'primary', writeConcern: { w: 'majority' } } as const;

/**
 * Revocation state in MongoDB: the watermark on the user's document (or, on a server whose updates are not
 * atomic, in a collection of the store's own), revoked sessions and the device registry in collections with
 * TTL indexes. Reads from the primary and writes with majority write concern, so a logout acknowledged by one
 * app instance is seen by the next read of any other, even across a replica-set failover.
 *
 * @example
 * ```ts
 * import { MongoClient } from 'mongodb';
 * import { MongoRevocationStore } from 'express-revocable-jwt/mongodb';
 *
 * const client = new MongoClient(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017');
 * const store = new MongoRevocationStore({ client, dbName: 'app' });
 * const auth = createSessionAuth({ secret, store });
 * ```
 */
export class MongoRevocationStore implements RevocationStore {
  readonly #users: Collection<Document>;
  readonly #state: KeyedCollection;
  readonly #sessions: Collection<RevokedSession>;
  readonly #field: string;
  readonly #deviceField: string;
  readonly #claimsField: string;
  readonly #userId: (sub: string) => unknown;
  readonly #ownClient: MongoClient | undefined;
  readonly #logger: ReturnType<typeof storeLogger>;
  readonly #lookup: (lookup: Lookup) => Promise<RevocationState | Error>;
  readonly #registry: ReturnType<typeof createSessionRegistry>;
  readonly #log: ReturnType<typeof createFeed>;
  /** Where the per-user state lives: found out once (`buildInfo`), asked again after a failure. */
  readonly #stateLocation: () => Promise<UserStateLocation>;
  /** The TTL index of revoked sessions; retried on the next write after a failure (e.g. when the server is back). */
  readonly #ttlIndex = onceUntilFailure(async () => {
    const refused = await createTtlIndex(this.#sessions, 'expiresAt', TTL_INDEX_NAME);
    if (refused === undefined) return;
    this.#logger.warn(
      `${MESSAGE_PREFIX}: this MongoDB-compatible server refuses TTL indexes (${refused}); expired revoked-session entries will stay on disk but are ignored on read. Remove them periodically, or use MongoDB.`,
    );
  });

  constructor(options: MongoRevocationStoreOptions) {
    const config = validateOptions(mongoStoreOptionsSchema, options, 'MongoRevocationStore');
    const { db, ownClient } = openDb(config);
    this.#ownClient = ownClient;
    this.#users = db.collection(config.usersCollection, PRIMARY);
    this.#state = db.collection<{ _id: string; [field: string]: unknown }>(config.stateCollection, PRIMARY);
    this.#sessions = db.collection<RevokedSession>(config.sessionsCollection, PRIMARY);
    this.#field = config.lastLogoutAtField;
    this.#deviceField = config.lastDeviceLogoutAtField;
    this.#claimsField = config.claimsChangedAtField;
    if (this.#deviceField === this.#field)
      throw new ConfigError('lastDeviceLogoutAtField', 'must differ from `lastLogoutAtField`.');
    if (this.#claimsField === this.#field || this.#claimsField === this.#deviceField)
      throw new ConfigError(
        'claimsChangedAtField',
        'must differ from `lastLogoutAtField` and `lastDeviceLogoutAtField`.',
      );
    if (config.stateCollection === config.usersCollection)
      throw new ConfigError('stateCollection', 'must differ from `usersCollection`: only the store writes it.');
    const mapping = config.userId;
    this.#userId = mapping === undefined ? (sub) => sub : (sub) => mappedUserId(mapping, sub);
    this.#logger = storeLogger(config.logger);
    const { atomicUpdates } = config;
    const serverIsAtomic =
      atomicUpdates === undefined ? onceUntilFailure(() => hasAtomicUpdates(db)) : () => Promise.resolve(atomicUpdates);
    this.#stateLocation = async () => this.#locationFor(await serverIsAtomic());
    const revoked = this.#sessions as unknown as Collection<Document>;
    const read = {
      sessions: revoked,
      userId: this.#userId,
      field: this.#field,
      deviceField: this.#deviceField,
      claimsField: this.#claimsField,
    };
    this.#lookup = createLookupBatcher(
      async (lookups) => readStates({ ...read, location: await this.#stateLocation() }, lookups),
      BATCHING,
    );
    this.#log = createFeed(db.collection(config.feedCollection, PRIMARY), serverIsAtomic);
    this.#registry = createSessionRegistry({
      registry: db.collection<RegistryDocument>(config.registryCollection, PRIMARY),
      revoked,
      userState: (sub) => this.getState(sub, '', 0),
    });
  }

  /**
   * Finds out once (`buildInfo`) whether the server's updates are atomic, creates the indexes (the TTL index on
   * revoked sessions, the registry's and the feed's) and writes the feed's start marker. A server without TTL
   * support (FerretDB v1) gets a warning.
   */
  async init(context?: StoreContext): Promise<void> {
    this.#logger.adopt(context?.logger);
    await Promise.all([
      this.#stateLocation(),
      this.#ttlIndex(),
      this.#registry.createIndexes(),
      this.#log.ensureIndexes(),
      this.#log.startedAt(),
    ]);
  }

  /**
   * Concurrent checks are answered together: one `find` of the users' state by `_id` (`$in`), and only
   * for sessions signed in before the end of their user's latest revoked-session entry, one `find` of those
   * revoked sessions. A check
   * never reuses a read sent before it was made, so a logout is still seen by the very next request.
   */
  async getState(sub: string, sessionId: string, signedInAtMs: number): Promise<RevocationState> {
    const state = await this.#lookup({ sub, sessionId, signedInAtMs });
    if (state instanceof Error) throw state;
    return state;
  }

  /**
   * The watermark stays as long as the user (or their state document); its entry in the change feed until
   * `relevantUntil`.
   */
  async revokeUser(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    const userId = this.#userId(sub); // an id the mapping refuses is refused before anything is written
    const location = await this.#stateLocation();
    // Called without a valid relevantUntil (not by this package): the entry stays as long as any token may live.
    const exp = validDate(relevantUntil) ?? new Date(at.getTime() + MAX_REVOCATION_LIFETIME_MS);
    // The feed first: a write that fails half-way leaves a revocation instances with a copy refuse, never one
    // only the store knows (a retry of the logout may not come, or may not write again).
    await this.#log.append({ sub, logoutAt: at, exp });
    await location.raise(userId, this.#field, at);
    // The records this ended are never listed again; deleting them keeps listings short. Best effort.
    await this.#registry.forgetSignedInBefore(sub, at).catch(() => undefined);
  }

  /**
   * The user's claims change, beside the watermark (`claimsChangedAtField`), read by the same `find`; its feed
   * entry until `relevantUntil`, in fields older versions' feed reads never match.
   */
  async markClaimsChanged(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    const userId = this.#userId(sub);
    const location = await this.#stateLocation();
    const cexp = validDate(relevantUntil) ?? new Date(at.getTime() + MAX_REVOCATION_LIFETIME_MS);
    await this.#log.appendClaims({ sub, changedAt: at, cexp });
    await location.raise(userId, this.#claimsField, at);
  }

  async revokeSession(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    const userId = this.#userId(sub);
    this.#ttlIndex().catch(() => undefined); // indexes only speed up cleanup; never block a logout on them
    const location = await this.#stateLocation();
    // The feed first, as in revokeUser; not again when it holds this revocation for as long already (a logout
    // replayed: another entry would add nothing, and replaying one cookie could fill the feed). Asked of the feed
    // only when the entry lasts already (a lookup by `_id`: the feed's own index may not be used, as on FerretDB).
    // `holds` may see a feed entry not yet on a majority; the majority writes below are acknowledged only once it is.
    const change = { sub, sid: sessionId, exp: expiresAt };
    const stored = await this.#storedExpiry(sessionIdentity(sub, sessionId));
    const replayed = stored instanceof Date && stored >= expiresAt && (await this.#log.holds(change));
    if (!replayed) await this.#log.append(change);
    await this.#extendEntry(sessionId, sub, expiresAt);
    // Only after the entry exists: from now on, checks of this user's sessions signed in before `expiresAt` read
    // the revoked sessions too. `expiresAt` is at least the session's end, stamped by the clock that stamped its
    // sign-in time, so no clock skew between app servers can put the hint before the session's sign-in.
    await location.raise(userId, this.#deviceField, expiresAt);
    await this.#registry.forget(sessionId, sub).catch(() => undefined); // as in revokeUser
  }

  /**
   * The change feed (`feedCollection`): every revocation that still matters, or those written since `since`.
   * Each revocation is added to it just before it is stored (both before `revokeUser`/`revokeSession` resolve).
   * With `page`, at most `page.size` changes (`limit` is then the caller's to count) and a `cursor` while more
   * follow: per kind (revocations, claims changes), a `find` sorted by the date read and `_id`, from where the
   * previous page ended.
   */
  async readFeed(since: Date | null, limit: number, page?: FeedPageRequest): Promise<FeedPage> {
    return this.#log.read(since, limit, page);
  }

  /**
   * The session-lifetime bound, a document of the feed collection (`_id: 'lifetime'`), as
   * `RevocationStore.declareLifetime` says (`raisedAt` by this process's clock). Read, then changed only if no
   * other writer changed it meanwhile, again until it holds (on a server whose updates are not atomic, under a
   * lock). A bound not stored yet starts at `lifetimeMs` when the feed collection holds no revocation, else at 400
   * days.
   */
  async declareLifetime(lifetimeMs: number, mode: 'raise' | 'set'): Promise<LifetimeBound> {
    if (typeof lifetimeMs !== 'number' || !Number.isSafeInteger(lifetimeMs) || lifetimeMs < 1)
      throw argumentError('lifetimeMs', 'must be a positive whole number of milliseconds.');
    if (mode !== 'raise' && mode !== 'set') throw argumentError('mode', "must be 'raise' or 'set'.");
    return this.#log.declareLifetime(lifetimeMs, mode);
  }

  /** Raises the bound's `settledAt` to `raisedAt` (`$max`), never lowers it; a missing bound is left missing. */
  async settleLifetime(raisedAt: Date): Promise<void> {
    if (validDate(raisedAt) === undefined) throw argumentError('raisedAt', 'must be a valid Date.');
    await this.#log.settleLifetime(raisedAt);
  }

  /** The stored expiry of a revoked-session entry, if there is one. */
  async #storedExpiry(_id: string): Promise<unknown> {
    return (await this.#sessions.findOne({ _id }, { projection: { expiresAt: 1 } }))?.expiresAt;
  }

  /**
   * `$max` on the entry's expiry, read back: on a server whose updates are not atomic, a concurrent revocation
   * of the same session could put back a shorter expiry.
   */
  async #extendEntry(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    const _id = sessionIdentity(sub, sessionId);
    await raiseUntilItHolds('the revoked session entry', expiresAt, async () => {
      await retryDuplicateKey(() =>
        this.#sessions.updateOne(
          { _id },
          { $max: { expiresAt }, $setOnInsert: { sub, sid: sessionId, revokedAt: new Date() } },
          { upsert: true },
        ),
      );
      return this.#storedExpiry(_id);
    });
  }

  /** Records a signed-in session in the device registry (`registryCollection`). */
  async registerSession(record: SessionRecord): Promise<void> {
    await this.#registry.register(record);
  }

  /** Raises a registered session's last activity; never creates a record. */
  async touchSession(sessionId: string, sub: string, lastActiveAt: Date): Promise<void> {
    await this.#registry.touch(sessionId, sub, lastActiveAt);
  }

  /** The user's live sessions: registered, not expired, not revoked, signed in after the watermark. */
  async listSessions(sub: string): Promise<SessionRecord[]> {
    return this.#registry.list(sub);
  }

  /** Closes the client the store opened from `uri`; a client or Db passed in is left to its owner. */
  async close(): Promise<void> {
    await this.#ownClient?.close();
  }

  #locationFor(atomicUpdates: boolean): UserStateLocation {
    return atomicUpdates ? inUserDocuments(this.#users) : inStateCollection(this.#state);
  }
}

function validDate(value: unknown): Date | undefined {
  return value instanceof Date && Number.isFinite(value.getTime()) ? value : undefined;
}

/**
 * The `_id` the app's mapping gives for `sub`. A mapping that throws (`new ObjectId('not-hex')`) is a problem
 * of the app's data, not an outage: a `ConfigError` naming the option (a check of such a token answers 401
 * `invalid_claims`; nothing is logged as an outage). A mapped `_id` must be a value: an async mapping would put
 * the same `{}` (a Promise) in every query, so one logout-everywhere would log every user out.
 */
function mappedUserId(mapping: (sub: string) => unknown, sub: string): unknown {
  let id: unknown;
  try {
    id = mapping(sub);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(
      'userId',
      `threw for a user id (${reason}): the mapping must accept every \`sub\` the app signs tokens for.`,
      { cause, code: 'invalid_argument' },
    );
  }
  const isPromise = typeof (id as { then?: unknown } | null | undefined)?.then === 'function';
  if (id === undefined || id === null || typeof id === 'function' || isPromise) {
    const got = isPromise ? 'a Promise' : id === null ? 'null' : typeof id;
    throw new ConfigError(
      'userId',
      `must return the user's \`_id\` synchronously (got ${got}), e.g. \`(sub) => new ObjectId(sub)\`.`,
    );
  }
  return id;
}

/** The Db to use and the client the store opened itself (from `uri`), from exactly one of client, db, uri. */
function openDb(config: ReturnType<typeof mongoStoreOptionsSchema.parse>): { db: Db; ownClient?: MongoClient } {
  const sources = (['client', 'db', 'uri'] as const).filter((k) => config[k] !== undefined);
  if (sources.length !== 1) {
    throw new ConfigError(
      'client',
      `${sources.length === 0 ? 'is missing' : `conflicts with \`${sources.slice(1).join('`, `')}\``}: pass exactly one of \`client\` (with \`dbName\`), \`db\`, or \`uri\` (with \`dbName\`).`,
    );
  }
  if (config.db !== undefined) {
    if (config.dbName !== undefined)
      throw new ConfigError('dbName', 'is not used with `db`: the Db handle already names the database.');
    return { db: config.db };
  }
  if (config.dbName === undefined)
    throw new ConfigError('dbName', `is required with \`${sources[0] ?? 'client'}\`, e.g. \`dbName: 'app'\`.`);
  if (config.client !== undefined) return { db: config.client.db(config.dbName) };
  const client = new MongoClient(config.uri ?? '', { serverSelectionTimeoutMS: 5000 });
  return { db: client.db(config.dbName), ownClient: client };
}
