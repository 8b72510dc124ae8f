// The model-based test's histories on MongoRevocationStore, for the two files that run it (the path the server
// picks, and the path of MongoDB itself).
import { after, before, describe, test } from 'node:test';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { runModel } from './model.js';
import { onRealClock, PATH, RUNS, SEED, timeoutFor } from './options.js';

/** Registers the Mongo model run; `atomicUpdates` as the store's option (undefined: asked of the server). */
export function mongoModel({ atomicUpdates }: { atomicUpdates: boolean | undefined }): void {
  const runs = RUNS ?? 100;
  const name = atomicUpdates === true ? 'MongoRevocationStore (atomicUpdates)' : 'MongoRevocationStore';
  describe(name, { timeout: timeoutFor(runs, 300) }, () => {
    let db: TestDb;
    let store: MongoRevocationStore;
    before(async () => {
      db = await createTestDb(atomicUpdates === true ? 'model_atomic' : 'model');
      store = new MongoRevocationStore({ db: db.db, logger: { warn: () => {} }, atomicUpdates });
      await store.init();
    });
    after(async () => {
      await db.cleanup();
    });

    test(`${name}: ${runs} random histories`, { timeout: timeoutFor(runs, 300) }, async () => {
      // Histories never share a user (each has its own prefix), so emptying the collections after one loses nothing
      // and keeps the 10,000th history as quick as the first (FerretDB scans where MongoDB would use an index).
      // The feed keeps its start marker.
      const emptyCollections = async () => {
        for (const collection of await db.db.collections()) {
          await collection.deleteMany(
            collection.collectionName === 'revocation_feed' ? { startedAt: { $exists: false } } : {},
          );
        }
      };
      const result = await runModel(onRealClock(name, store, emptyCollections), runs, SEED, PATH);
      console.log(
        `# model (${name} on ${process.env.MONGODB_URI}): ${result.runs} histories in ${(result.ms / 1000).toFixed(1)} s`,
      );
    });
  });
}
