// A per-key lock for servers whose updates are not atomic: an insert of a unique `_id` is atomic everywhere.
import { MongoServerError, type Collection } from 'mongodb';
import { MESSAGE_PREFIX } from '../../core/config-error.js';

/** A holder that died mid-write leaves its lock; it is taken over once this old. */
export const LOCK_TTL_MS = 10_000;
/** How long a writer waits for a busy lock before it fails (the logout then answers 503). */
const LOCK_WAIT_MS = 5_000;

/** A collection whose documents have string `_id`s. */
export type KeyedCollection = Collection<{ _id: string; [field: string]: unknown }>;

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `write` while holding the lock document `{ _id: 'lock:' + key }` of `collection`, so two writers of one
 * key never interleave their read-change-replace. Only writers take the lock; reads never wait for it.
 */
export async function withWriteLock<T>(collection: KeyedCollection, key: string, write: () => Promise<T>) {
  const lockId = `lock:${key}`;
  const started = Date.now();
  let expiresAt: Date;
  for (let attempt = 0; ; attempt++) {
    expiresAt = new Date(Date.now() + LOCK_TTL_MS);
    try {
      await collection.insertOne({ _id: lockId, expiresAt });
      break;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const held = await collection.findOne({ _id: lockId });
    const heldUntil: unknown = held?.expiresAt;
    if (heldUntil instanceof Date && heldUntil.getTime() < Date.now()) {
      // Left behind by a writer that died: remove that very lock (not one taken meanwhile) and try again.
      await collection.deleteOne({ _id: lockId, expiresAt: heldUntil });
      continue;
    }
    if (Date.now() - started > LOCK_WAIT_MS)
      throw new Error(`${MESSAGE_PREFIX}: another write of the same user held its lock for ${LOCK_WAIT_MS} ms.`);
    await sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
  }
  try {
    return await write();
  } finally {
    await collection.deleteOne({ _id: lockId, expiresAt }).catch(() => undefined);
  }
}
