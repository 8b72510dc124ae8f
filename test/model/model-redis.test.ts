// The model-based test on RedisRevocationStore (the redis-server `npm test` starts): a file of its own, so its
// histories get the runner's whole per-file budget. MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts.
import { after, before, describe, test } from 'node:test';
import { RedisRevocationStore } from '../../lib/redis.js';
import { connectDriver, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';
import { runModel, type ModelOptions } from './model.js';
import { memory } from './options.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 0) || undefined;
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH || undefined;
const timeoutFor = (runs: number, msPerRun: number) => Math.max(120_000, runs * msPerRun * 4);

describe('model-based test of the session contract', { timeout: 600_000 }, () => {
  describe('RedisRevocationStore', { timeout: 600_000 }, () => {
    let redis: TestRedisClient;
    let store: RedisRevocationStore;
    before(async () => {
      redis = await connectDriver('node-redis');
      store = new RedisRevocationStore({
        client: redis.client,
        prefix: randomPrefix('model'),
        logger: { warn: () => {} },
      });
      await store.init();
    });
    after(async () => {
      await redis.close();
    });

    test(`Redis store: ${RUNS ?? 100} random histories`, { timeout: timeoutFor(RUNS ?? 100, 300) }, async () => {
      const options: ModelOptions = {
        ...memory,
        storeName: 'RedisRevocationStore',
        makeStore: () => ({ inner: store }),
        // The store reads the real clock for the expiry of its entries (and Redis expires keys on its own):
        // histories stay short of every entry's end, as on MongoDB, so model time and real time agree.
        maxTotalAdvanceMs: 500_000,
        jumps: [999, 1_000, 59_000, 61_000, 121_000, 239_000, 241_000],
      };
      const { runs, ms } = await runModel(options, RUNS ?? 100, SEED, PATH);
      console.log(`# model (RedisRevocationStore): ${runs} histories in ${(ms / 1000).toFixed(1)} s`);
    });
  });
});
