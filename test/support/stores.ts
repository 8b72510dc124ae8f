// Each store we ship, on the servers `npm test` starts (MongoDB-wire in MONGODB_URI, Redis in REDIS_URL), for
// tests that must hold on every store: a fresh store per call, and a count of a user's registry records.
import { after, before } from 'node:test';
import { MemoryRevocationStore, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { createTestDb, type TestDb } from './db.js';
import { connectDriver, randomPrefix, type TestRedisClient } from './redis-clients.js';

export interface ShippedStore {
  name: 'MemoryRevocationStore' | 'MongoRevocationStore' | 'RedisRevocationStore';
  /** A new store (sharing its server with the others of this file), and how to count a user's registry records. */
  create: () => { store: RevocationStore; records: (sub: string) => Promise<number> };
  /**
   * Makes the shared change feed begin a minute ago, for stores created after this: sessions signed in within
   * 10 s of a feed's start are checked against the store itself, never answered from a bounded-delay copy.
   */
  backdateFeed: () => Promise<void>;
}

/** The three stores; connects in the file's `before` and cleans up in its `after` (call it at the top level). */
export function shippedStores(label: string): ShippedStore[] {
  const quiet = { warn: () => {} };
  const prefix = randomPrefix(label);
  let db: TestDb | undefined;
  let redis: TestRedisClient | undefined;
  before(async () => {
    db = await createTestDb(label);
    redis = await connectDriver('node-redis');
  });
  after(async () => {
    await db?.cleanup();
    await redis?.close();
  });
  return [
    {
      name: 'MemoryRevocationStore',
      create: () => {
        const store = new MemoryRevocationStore();
        return { store, records: () => Promise.resolve(store.registrySize) };
      },
      backdateFeed: () => Promise.resolve(), // its feed has no start
    },
    {
      name: 'MongoRevocationStore',
      create: () => ({
        store: new MongoRevocationStore({ db: db!.db, logger: quiet }),
        records: (sub) => db!.db.collection('device_sessions').countDocuments({ sub }),
      }),
      backdateFeed: async () => {
        const started = { _id: 'started' as never };
        const startedAt = new Date(Date.now() - 60_000);
        await db!.db.collection('revocation_feed').updateOne(started, { $set: { startedAt } }, { upsert: true });
      },
    },
    {
      name: 'RedisRevocationStore',
      create: () => ({
        store: new RedisRevocationStore({ client: redis!.client, prefix, logger: quiet }),
        records: async (sub) => Number(await redis!.command('HLEN', `${prefix}{${encodeURIComponent(sub)}}:r`)),
      }),
      backdateFeed: async () => {
        await redis!.command('SET', `${prefix}{feed}:start`, String(Date.now() - 60_000));
      },
    },
  ];
}
