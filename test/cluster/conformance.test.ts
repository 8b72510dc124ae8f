// RedisRevocationStore on a real Redis Cluster (REDIS_CLUSTER_NODES; `npm test` starts six nodes), through
// node-redis `createCluster` and ioredis `Cluster`: the published conformance suite.
import { after, describe, test } from 'node:test';
import { RedisRevocationStore } from '../../lib/redis.js';
import { runStoreConformance } from '../../lib/testing.js';
import { connectClusterDriver, DRIVERS, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';

const quiet = { warn: () => {} };

for (const driver of DRIVERS) {
  let shared: TestRedisClient | undefined;
  const prefix = randomPrefix(`cluster-${driver}`);
  after(async () => {
    await shared?.close();
  });
  runStoreConformance(
    {
      name: `RedisRevocationStore on a Redis Cluster (${driver})`,
      createStore: async () => {
        shared ??= await connectClusterDriver(driver);
        return new RedisRevocationStore({ client: shared.client, prefix, logger: quiet });
      },
      feed: true,
      claims: true,
    },
    { describe, it: test },
  );
}
