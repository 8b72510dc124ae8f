// MongoRevocationStore: lastLogoutAt on the user's document and revoked sessions with a TTL, in MongoDB.
import {
  BSON,
  MongoClient,
  MongoServerError,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type ObjectId,
} from 'mongodb';
import { z } from 'zod';
import { loggerSchema } from '../../config/logger.js';
import { validateOptions } from '../../config/validate-options.js';
import { ConfigError, MESSAGE_PREFIX } from '../../errors/config-error.js';
import { createLookupBatcher } from '../lookup-batcher.js';
import type { RevocationState, RevocationStore } from '../revocation-store.js';

const mongoStoreOptionsSchema = z
  .object({
    /** A connected or not yet connected MongoClient; needs `dbName`. The store never closes it. */
    client: z.instanceof(MongoClient, { message: 'must be a MongoClient from the `mongodb` package' }).optional(),
    /** A Db handle (`client.db('app')`). */
    db: z
      .custom<Db>((v) => typeof v === 'object' && v !== null && typeof (v as Db).collection === 'function', {
        message: 'must be a Db from `client.db(name)`',
      })
      .optional(),
    /** A connection string; the store opens (lazily) and closes its own client. Needs `dbName`. */
    uri: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, { message: 'must be a mongodb:// or mongodb+srv:// connection string' })
      .optional(),
    /** Database name, with `client` or `uri`. */
    dbName: z
      .string()
      .regex(/^[^/\\. "$*<>:|?]{1,63}$/, { message: 'must be a valid database name' })
      .optional(),
    /** Collection holding the users. Defaults to `users`. */
    usersCollection: z.string().min(1).default('users'),
    /** Field of the user document holding the watermark. Defaults to `lastLogoutAt`. */
    lastLogoutAtField: z
      .string()
      .regex(/^[^$.][^.]*$/, { message: 'must be a top-level field name' })
      .default('lastLogoutAt'),
    /** Maps a token's `sub` to the user document's `_id`, e.g. `(sub) => new ObjectId(sub)`. Defaults to the string itself. */
    userId: z
      .custom<(sub: string) => unknown>((v) => typeof v === 'function', {
        message: 'must be a function `(sub) => _id`',
      })
      .optional(),
    /**
     * Field of the user document holding the latest expiry of the user's revoked device sessions. Tokens
     * issued after it cannot belong to a revoked session, so their check is a single read. Defaults to
     * `lastDeviceLogoutAt`.
     */
    lastDeviceLogoutAtField: z
      .string()
      .regex(/^[^$.][^.]*$/, { message: 'must be a top-level field name' })
      .default('lastDeviceLogoutAt'),
    /** Collection of revoked device sessions. Defaults to `revoked_sessions`. */
    sessionsCollection: z.string().min(1).default('revoked_sessions'),
    /** Where warnings go (e.g. a server without TTL indexes). Defaults to `console`. */
    logger: loggerSchema.default(console),
  })
  .strict();

export type MongoRevocationStoreOptions = z.input<typeof mongoStoreOptionsSchema>;

interface RevokedSession {
  _id: string;
  sub: string;
  expiresAt: Date;
  revokedAt: Date;
}

const MAX_WRITE_ATTEMPTS = 5;
const TTL_INDEX_NAME = 'expiresAt_ttl';
const BATCHING = { maxBatch: 256, maxInFlight: 2, maxQueued: 20_000, timeoutMs: 10_000 };
const SESSION_PROJECTION = { _id: 1, expiresAt: 1 };

interface Lookup {
  sub: string;
  sessionId: string;
  issuedAtMs: number;
}

/**
 * The `_id` as the server will hand it back: BSON wrappers such as Int32, Long or Double come back as plain
 * numbers, so a key built from the query value would never match the document's.
 */
function asStored(id: unknown): unknown {
  if (typeof id === 'string') return id; // the default mapping, on every request: no round trip needed
  return BSON.deserialize(BSON.serialize({ _id: id }))._id as unknown;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Identity of an `_id` value for matching documents to lookups; tells `"42"` from `42` and from an ObjectId. */
function idKey(id: unknown): string {
  if (typeof id === 'string') return `s:${id}`;
  if (typeof id === 'object' && id !== null && typeof (id as { toHexString?: unknown }).toHexString === 'function')
    return `o:${(id as ObjectId).toHexString()}`;
  return `${typeof id}:${BSON.EJSON.stringify(id)}`;
}

/**
 * Reads from the primary and writes with majority write concern, so a logout acknowledged by one app
 * instance is seen by the next read of any other, even across a replica-set failover.
 */
export class MongoRevocationStore implements RevocationStore {
  readonly #users: Collection<Document>;
  readonly #sessions: Collection<RevokedSession>;
  readonly #field: string;
  readonly #deviceField: string;
  readonly #userId: (sub: string) => unknown;
  readonly #ownClient: MongoClient | undefined;
  readonly #logger: { warn(message: string): void };
  readonly #projection: Document;
  readonly #lookup: (lookup: Lookup) => Promise<RevocationState | Error>;
  #indexes: Promise<void> | undefined;

  constructor(options: MongoRevocationStoreOptions) {
    const config = validateOptions(mongoStoreOptionsSchema, options, 'MongoRevocationStore');
    const sources = (['client', 'db', 'uri'] as const).filter((k) => config[k] !== undefined);
    if (sources.length !== 1) {
      throw new ConfigError(
        'client',
        `${sources.length === 0 ? 'is missing' : `conflicts with \`${sources.slice(1).join('`, `')}\``}: pass exactly one of \`client\` (with \`dbName\`), \`db\`, or \`uri\` (with \`dbName\`).`,
      );
    }
    let db: Db;
    if (config.db !== undefined) {
      if (config.dbName !== undefined)
        throw new ConfigError('dbName', 'is not used with `db`: the Db handle already names the database.');
      db = config.db;
    } else {
      if (config.dbName === undefined)
        throw new ConfigError('dbName', `is required with \`${sources[0] ?? 'client'}\`, e.g. \`dbName: 'app'\`.`);
      const client = config.client ?? new MongoClient(config.uri ?? '', { serverSelectionTimeoutMS: 5000 });
      if (config.client === undefined) this.#ownClient = client;
      db = client.db(config.dbName);
    }
    const primary = { readPreference: 'primary', writeConcern: { w: 'majority' } } as const;
    this.#users = db.collection(config.usersCollection, primary);
    this.#sessions = db.collection<RevokedSession>(config.sessionsCollection, primary);
    this.#field = config.lastLogoutAtField;
    this.#deviceField = config.lastDeviceLogoutAtField;
    if (this.#deviceField === this.#field)
      throw new ConfigError('lastDeviceLogoutAtField', 'must differ from `lastLogoutAtField`.');
    this.#userId = config.userId ?? ((sub) => sub);
    this.#logger = config.logger;
    this.#projection = { _id: 1, [this.#field]: 1, [this.#deviceField]: 1 };
    this.#lookup = createLookupBatcher((lookups) => this.#readStates(lookups), BATCHING);
  }

  /** Creates the TTL index on revoked sessions once. A server without TTL support (FerretDB v1) gets a warning. */
  init(): Promise<void> {
    this.#indexes ??= this.#sessions
      .createIndex({ expiresAt: 1 }, { name: TTL_INDEX_NAME, expireAfterSeconds: 0 })
      .then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof MongoServerError && (error.code === 238 || error.code === 115)) {
            this.#logger.warn(
              `${MESSAGE_PREFIX}: this MongoDB-compatible server refuses TTL indexes (${error.message}); expired revoked-session entries will stay on disk but are ignored on read. Remove them periodically, or use MongoDB.`,
            );
            return;
          }
          this.#indexes = undefined; // retried on the next write, e.g. when the server is back
          throw error;
        },
      );
    return this.#indexes;
  }

  /**
   * Concurrent checks are answered together: one `find` of the user documents by `_id` (`$in`), and only
   * for tokens issued before their user's last device logout, one `find` of those revoked sessions. A check
   * never reuses a read sent before it was made, so a logout is still seen by the very next request.
   */
  async getState(sub: string, sessionId: string, issuedAtMs: number): Promise<RevocationState> {
    const state = await this.#lookup({ sub, sessionId, issuedAtMs });
    if (state instanceof Error) throw state;
    return state;
  }

  /** Answers a batch; a problem with one user's data (unreadable date, unmappable id) fails that lookup only. */
  async #readStates(lookups: Lookup[]): Promise<(RevocationState | Error)[]> {
    const entries = lookups.map((lookup) => {
      try {
        const id = asStored(this.#userId(lookup.sub));
        return { lookup, id, key: idKey(id) };
      } catch (error) {
        return { lookup, error: toError(error) };
      }
    });
    const ids = new Map<string, unknown>();
    for (const e of entries) if (e.key !== undefined) ids.set(e.key, e.id);
    const users =
      ids.size === 0
        ? new Map<string, Document>()
        : await this.#findByIds(this.#users, [...ids.values()], this.#projection);
    // A document that matches no lookup (a collation, an _id type we do not know) means "not found" cannot be
    // trusted for this batch: fail those lookups closed rather than read them as "never logged out".
    const unmatched = [...users.keys()].some((key) => !ids.has(key));
    const states = entries.map(({ lookup, key, error }) => {
      if (key === undefined) return { lookup, error };
      try {
        const user = users.get(key) ?? null;
        if (user === null && unmatched) throw new Error('the user document could not be matched to its _id');
        const lastDeviceLogoutAt = this.#readDate(user, this.#deviceField);
        // A session's logout always comes after its token's issue: an older device logout cannot concern it.
        const mayBeRevoked = lastDeviceLogoutAt !== null && lookup.issuedAtMs < lastDeviceLogoutAt.getTime();
        return { lookup, lastLogoutAt: this.#readDate(user, this.#field), mayBeRevoked };
      } catch (readError) {
        return { lookup, error: toError(readError) };
      }
    });
    const suspects = new Set(states.filter((s) => s.mayBeRevoked === true).map((s) => s.lookup.sessionId));
    // Expiry is checked here, not in the filter: reads must ignore expired entries anyway (MongoDB's TTL
    // monitor runs about once a minute), and FerretDB uses its index only for a lone `_id` condition.
    const sessions =
      suspects.size === 0
        ? new Map<string, Document>()
        : await this.#findByIds(this.#sessions as unknown as Collection<Document>, [...suspects], SESSION_PROJECTION);
    const now = Date.now();
    return states.map((state) => {
      if (state.error !== undefined) return state.error;
      const expiresAt: unknown = state.mayBeRevoked
        ? sessions.get(idKey(state.lookup.sessionId))?.expiresAt
        : undefined;
      return {
        lastLogoutAt: state.lastLogoutAt ?? null,
        sessionRevoked: expiresAt instanceof Date && expiresAt.getTime() > now,
      };
    });
  }

  /** Documents by `_id` (the projection must keep `_id`), keyed by `idKey(_id)`: a plain equality for one id (the form FerretDB indexes), `$in` for more. */
  async #findByIds(
    collection: Collection<Document>,
    ids: unknown[],
    projection: Document,
  ): Promise<Map<string, Document>> {
    const docs =
      ids.length === 1
        ? [await collection.findOne({ _id: ids[0] } as Filter<Document>, { projection })].filter((d) => d !== null)
        : await collection.find({ _id: { $in: ids } } as Filter<Document>, { projection }).toArray();
    return new Map(docs.map((doc) => [idKey(doc._id), doc]));
  }

  /** `relevantUntil` is not needed: the watermark stays on the user document, as the app's own data. */
  async revokeUser(sub: string, at: Date, _relevantUntil?: Date): Promise<void> {
    await this.#raiseUserDate(sub, this.#field, at);
  }

  async revokeSession(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    this.init().catch(() => undefined); // indexes only speed up cleanup; never block a logout on them
    await this.#retryDuplicateKey(() =>
      this.#sessions.updateOne(
        { _id: sessionId },
        { $max: { expiresAt }, $setOnInsert: { sub, revokedAt: new Date() } },
        { upsert: true },
      ),
    );
    // Only after the entry exists: from now on, checks of this user's tokens issued before `expiresAt` read the
    // sessions too. `expiresAt` comes from the revoked token's own `exp` (the clock that stamped its iat_ms),
    // so no clock skew between app servers can put the hint before the token's issue.
    await this.#raiseUserDate(sub, this.#deviceField, expiresAt);
  }

  /** Closes the client the store opened from `uri`; a client or Db passed in is left to its owner. */
  async close(): Promise<void> {
    await this.#ownClient?.close();
  }

  #userFilter(sub: string): Filter<Document> {
    return { _id: this.#userId(sub) } as Filter<Document>;
  }

  /** `$max` on a date of the user document, creating it if missing; never lowers the stored date. */
  async #raiseUserDate(sub: string, field: string, at: Date): Promise<void> {
    const filter = this.#userFilter(sub);
    // The read-back makes "never lower" hold on servers whose updates are not atomic (FerretDB v1 reads,
    // applies and writes), where a concurrent $max can overwrite a larger value.
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      await this.#retryDuplicateKey(() => this.#users.updateOne(filter, { $max: { [field]: at } }, { upsert: true }));
      const stored = this.#readDate(await this.#users.findOne(filter, { projection: this.#projection }), field);
      if (stored !== null && stored.getTime() >= at.getTime()) return;
    }
    throw new Error(
      `${MESSAGE_PREFIX}: could not raise \`${field}\` after ${MAX_WRITE_ATTEMPTS} attempts (concurrent writers).`,
    );
  }

  #readDate(doc: Document | null, field: string): Date | null {
    const value: unknown = doc?.[field];
    if (value === undefined || value === null) return null;
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
    if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
    // Failing closed: a date we cannot read must not be treated as "never logged out".
    throw new TypeError(`${MESSAGE_PREFIX}: the user's \`${field}\` field holds a ${typeof value}, not a Date.`);
  }

  async #retryDuplicateKey<T>(write: () => Promise<T>): Promise<T> {
    // Concurrent upserts of one _id can race to insert; the loser sees E11000 and retries as an update.
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === 11000) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }
}
