// The model-based test on MongoRevocationStore (FerretDB in `npm test`): a file of its own, so each store's
// histories get the runner's whole per-file budget. MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts.
import { after, before, describe, test } from 'node:test';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { runModel, type ModelOptions } from './model.js';
import { memory } from './options.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 0) || undefined;
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH || undefined;
const timeoutFor = (runs: number, msPerRun: number) => Math.max(120_000, runs * msPerRun * 4);

describe('model-based test of the session contract', { timeout: 600_000 }, () => {
  describe('MongoRevocationStore', { timeout: 600_000 }, () => {
    let db: TestDb;
    let store: MongoRevocationStore;
    before(async () => {
      db = await createTestDb('model');
      store = new MongoRevocationStore({ db: db.db, logger: { warn: () => {} } });
      await store.init();
    });
    after(async () => {
      await db.cleanup();
    });

    test(`Mongo store: ${RUNS ?? 100} random histories`, { timeout: timeoutFor(RUNS ?? 100, 300) }, async () => {
      const mongo: ModelOptions = {
        ...memory,
        storeName: 'MongoRevocationStore',
        makeStore: () => ({ inner: store }),
        // The store reads Date.now for the expiry of its entries: histories stay short of every entry's end
        // (a logout lasts at least expiresIn + 300 s, sessions maxAge), so model time and real time agree.
        maxTotalAdvanceMs: 500_000,
        jumps: [999, 1_000, 59_000, 61_000, 121_000, 239_000, 241_000],
      };
      const { runs, ms } = await runModel(mongo, RUNS ?? 100, SEED, PATH);
      console.log(
        `# model (MongoRevocationStore on ${process.env.MONGODB_URI}): ${runs} histories in ${(ms / 1000).toFixed(1)} s`,
      );
    });
  });
});
