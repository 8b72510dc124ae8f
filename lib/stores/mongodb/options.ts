// The options of MongoRevocationStore, checked at construction.
import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { loggerSchema } from '../../config/logger.js';

/** A field of the user documents, at their top level. */
const fieldName = (fallback: string) =>
  z
    .string()
    .regex(/^[^$.][^.]*$/, { message: 'must be a top-level field name' })
    .default(fallback);

export const mongoStoreOptionsSchema = z
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
    lastLogoutAtField: fieldName('lastLogoutAt'),
    /** Maps a token's `sub` to the user document's `_id`, e.g. `(sub) => new ObjectId(sub)`. Defaults to the string itself. */
    userId: z
      .custom<(sub: string) => unknown>((v) => typeof v === 'function', {
        message: 'must be a function `(sub) => _id`',
      })
      .optional(),
    /**
     * Field of the user document holding the latest expiry of the user's revoked device sessions. Sessions
     * signed in after it cannot be a revoked one, so their check is a single read. Defaults to
     * `lastDeviceLogoutAt`.
     */
    lastDeviceLogoutAtField: fieldName('lastDeviceLogoutAt'),
    /**
     * Field of the user document holding when the user's claims last changed (`refreshClaims`). Defaults to
     * `claimsChangedAt`.
     */
    claimsChangedAtField: fieldName('claimsChangedAt'),
    /** Collection of revoked device sessions. Defaults to `revoked_sessions`. */
    sessionsCollection: z.string().min(1).default('revoked_sessions'),
    /**
     * Collection of the change feed: one document per revocation until it stops mattering, read by instances
     * with `maxRevocationDelay` to keep every revocation in memory. Defaults to `revocation_feed`.
     */
    feedCollection: z.string().min(1).default('revocation_feed'),
    /** Collection of the device registry (signed-in sessions, for `listSessions`). Defaults to `device_sessions`. */
    registryCollection: z.string().min(1).default('device_sessions'),
    /**
     * Whether the server applies each update to a document atomically. MongoDB does; FerretDB v1 reads, changes
     * and replaces the whole document, so a concurrent write can put back an older copy. Detected once with
     * `buildInfo` when left out. Where updates are not atomic, the store keeps the watermark and the device
     * hint in `stateCollection` instead of the user documents.
     */
    atomicUpdates: z.boolean().optional(),
    /**
     * Collection of the per-user revocation state on a server whose updates are not atomic; written only by the
     * store. Defaults to `revocation_users`.
     */
    stateCollection: z.string().min(1).default('revocation_users'),
    /**
     * Where warnings go (e.g. a server without TTL indexes). Defaults to the `logger` of the instance that uses the
     * store (`createSessionAuth`, `createRevocation`), or `console` before one does.
     */
    logger: loggerSchema.optional(),
  })
  .strict();

/** The options of `MongoRevocationStore`, declared with their documentation and defaults by the schema that validates them. */
export interface MongoRevocationStoreOptions extends z.input<typeof mongoStoreOptionsSchema> {}
