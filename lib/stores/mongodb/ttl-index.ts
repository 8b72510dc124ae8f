// The TTL indexes of the Mongo store, and what a server that refuses them answers.
import { MongoServerError, type Collection, type Document } from 'mongodb';

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
