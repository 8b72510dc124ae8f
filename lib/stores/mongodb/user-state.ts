// Where a user's watermark and device-logout hint live: on the user's own document (MongoDB), or in a
// collection only the store writes (servers whose updates are not atomic, such as FerretDB v1).
import type { Collection, Document, Filter } from 'mongodb';
import { MESSAGE_PREFIX } from '../../core/config-error.js';
import { asStored, idKey } from './ids.js';
import { isDuplicateKey, withWriteLock, type KeyedCollection } from './write-lock.js';

export const MAX_WRITE_ATTEMPTS = 5;

export interface UserStateLocation {
  /** The collection read by `_id` for a user's state. */
  readonly collection: Collection<Document>;
  /** The `_id` of the state document of a user whose `_id` in `users` is `userId`, as the server hands it back. */
  documentId(userId: unknown): unknown;
  /** Raises `field` to `at` (never lowers it), creating the document if missing. */
  raise(userId: unknown, field: string, at: Date): Promise<void>;
}

/** On a server whose updates are atomic: `$max` on the user's own document, as the app's own data. */
export function inUserDocuments(users: Collection<Document>): UserStateLocation {
  return {
    collection: users,
    documentId: asStored,
    async raise(userId, field, at) {
      const filter = { _id: userId } as Filter<Document>;
      await retryDuplicateKey(() => users.updateOne(filter, { $max: { [field]: at } }, { upsert: true }));
    },
  };
}

/**
 * On a server whose updates are not atomic, a write of the app to the user document can put back a copy from
 * before a logout, and two `$max` of the store on one document can lose one. Here the state lives in a
 * collection only the store writes, `{ _id: idKey(userId), user: userId, <field>: Date, <deviceField>: Date }`
 * with a string `_id`, and every write of one user holds that user's lock: no write can overlap another.
 */
export function inStateCollection(state: KeyedCollection): UserStateLocation {
  return {
    collection: state as unknown as Collection<Document>,
    documentId: (userId) => idKey(asStored(userId)),
    async raise(userId, field, at) {
      const _id = idKey(asStored(userId));
      // Read back after each locked write: a write slower than the lock's lifetime may have overlapped
      // another, whose replace could have put back an older date.
      await raiseUntilItHolds(`\`${field}\``, at, async () => {
        await withWriteLock(state, _id, () =>
          state.updateOne({ _id }, { $max: { [field]: at }, $setOnInsert: { user: userId } }, { upsert: true }),
        );
        return readDate(await state.findOne({ _id }, { projection: { [field]: 1 } }), field);
      });
    },
  };
}

/**
 * Runs `write` (a `$max` to `at`, then a read back of the stored date) until the stored date is at least `at`,
 * at most MAX_WRITE_ATTEMPTS times: on a server whose updates are not atomic, a concurrent write can put back an
 * older date after ours.
 */
export async function raiseUntilItHolds(what: string, at: Date, write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const stored = await write();
    if (stored instanceof Date && stored.getTime() >= at.getTime()) return;
  }
  throw new Error(`${MESSAGE_PREFIX}: ${what} did not hold after ${MAX_WRITE_ATTEMPTS} writes.`);
}

/** Concurrent upserts of one `_id` can race to insert; the loser sees E11000 and retries as an update. */
export async function retryDuplicateKey<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      if (attempt >= MAX_WRITE_ATTEMPTS)
        throw new Error(
          `${MESSAGE_PREFIX}: the write still failed with a duplicate key after ${MAX_WRITE_ATTEMPTS} attempts (a unique index on another field of the collection?).`,
          { cause: error },
        );
    }
  }
}

/** A stored date, or null; anything else throws, so a check fails closed instead of reading "never logged out". */
export function readDate(doc: Document | null | undefined, field: string): Date | null {
  const value: unknown = doc?.[field];
  if (value === undefined || value === null) return null;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  throw new TypeError(`${MESSAGE_PREFIX}: the user's \`${field}\` field holds a ${typeof value}, not a Date.`);
}
