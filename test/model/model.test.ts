// `npm run test:model` (and the short version in `npm test`): the model-based test of the session contract on
// the memory store and on MongoRevocationStore (FerretDB in `npm test`). MODEL_RUNS sets the number of
// histories per store; MODEL_SEED (with MODEL_PATH) replays a failure.
import { after, before, describe, test } from 'node:test';
import { MemoryRevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { runModel, type ModelOptions } from './model.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 0) || undefined;
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH || undefined;
const STRICT = process.env.MODEL_STRICT === '1';
/** Generous: other test files and other jobs share the machine. */
const timeoutFor = (runs: number, msPerRun: number) => Math.max(120_000, runs * msPerRun * 4);

const memory: ModelOptions = {
  storeName: 'memory',
  makeStore: (clock) => {
    const store = new MemoryRevocationStore({ now: () => clock.at(0) });
    return { inner: store, close: () => store.close() };
  },
  // Short lifetimes so that renewals, expiries, absolute ends and entry expiries all happen within a history.
  life: { expiresIn: 240, renewAfter: 120, maxAge: 900, fresh: 60, maxSessions: 3 },
  maxTotalAdvanceMs: Infinity,
  jumps: [999, 1_000, 59_000, 61_000, 121_000, 239_000, 241_000, 400_000, 900_000],
  strictLogout: STRICT,
};

describe('model-based test of the session contract', { timeout: 600_000 }, () => {
  test(`memory store: ${RUNS ?? 200} random histories`, { timeout: timeoutFor(RUNS ?? 200, 60) }, async () => {
    const { runs, ms } = await runModel(memory, RUNS ?? 200, SEED, PATH);
    console.log(`# model (memory store): ${runs} histories in ${(ms / 1000).toFixed(1)} s`);
  });

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
