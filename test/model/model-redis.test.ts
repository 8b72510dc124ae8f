// The model-based test on RedisRevocationStore (the redis-server `npm test` starts): a file of its own, so its
// histories get the runner's whole per-file budget. MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts.
import { after, before, describe, test } from 'node:test';
import { RedisRevocationStore } from '../../lib/redis.js';
import { connectDriver, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';
import { runModel } from './model.js';
import { onRealClock, PATH, RUNS, SEED, timeoutFor } from './options.js';

const runs = RUNS ?? 100;

describe('model-based test of the session contract', { timeout: timeoutFor(runs, 300) }, () => {
  describe('RedisRevocationStore', () => {
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

    test(`Redis store: ${runs} random histories`, { timeout: timeoutFor(runs, 300) }, async () => {
      const result = await runModel(onRealClock('RedisRevocationStore', store), runs, SEED, PATH);
      console.log(`# model (RedisRevocationStore): ${result.runs} histories in ${(result.ms / 1000).toFixed(1)} s`);
    });
  });
});
