// The model-based test on RedisRevocationStore over a real Redis Cluster (REDIS_CLUSTER_NODES), through each
// driver's cluster client: a short run by default (MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts).
import { after, before, describe, test } from 'node:test';
import { RedisRevocationStore } from '../../lib/redis.js';
import { connectClusterDriver, DRIVERS, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';
import { runModel } from '../model/model.js';
import { onRealClock, PATH, RUNS, SEED, timeoutFor } from '../model/options.js';

const runs = RUNS ?? 100;

describe('model-based test of the session contract on a Redis Cluster', { timeout: timeoutFor(runs, 300) }, () => {
  for (const driver of DRIVERS) {
    describe(`RedisRevocationStore on a Redis Cluster (${driver})`, () => {
      let redis: TestRedisClient;
      let store: RedisRevocationStore;
      before(async () => {
        redis = await connectClusterDriver(driver);
        store = new RedisRevocationStore({
          client: redis.client,
          prefix: randomPrefix(`model-cluster-${driver}`),
          logger: { warn: () => {} },
        });
        await store.init();
      });
      after(async () => {
        await redis.close();
      });

      test(`${runs} random histories`, { timeout: timeoutFor(runs, 300) }, async () => {
        const result = await runModel(onRealClock(`RedisRevocationStore (${driver} cluster)`, store), runs, SEED, PATH);
        console.log(
          `# model (RedisRevocationStore, ${driver} cluster): ${result.runs} histories in ${(result.ms / 1000).toFixed(1)} s`,
        );
      });
    });
  }
});
