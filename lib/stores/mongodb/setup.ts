// One-time set-up steps of the Mongo store (indexes, server checks): run once, run again after a failure.
import { MongoServerError, type Collection, type Document } from 'mongodb';

/** `run` on the first call, its promise shared by later calls; after a failure the next call runs it again. */
export function onceUntilFailure<T>(run: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= run().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

/**
 * Creates a TTL index (`expireAfterSeconds: 0`) on `field`; resolves to the server's reason when it refuses
 * TTL indexes (FerretDB v1), else to undefined.
 */
export async function createTtlIndex<T extends Document>(
  collection: Collection<T>,
  field: string,
  name: string,
): Promise<string | undefined> {
  try {
    await collection.createIndex({ [field]: 1 }, { name, expireAfterSeconds: 0 });
    return undefined;
  } catch (error) {
    if (error instanceof MongoServerError && (error.code === 238 || error.code === 115)) return error.message;
    throw error;
  }
}
