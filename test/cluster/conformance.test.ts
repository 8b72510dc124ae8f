// RedisRevocationStore on a real Redis Cluster (REDIS_CLUSTER_NODES; `npm test` starts six nodes), through
// node-redis `createCluster` and ioredis `Cluster`: the published conformance suite.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RedisRevocationStore } from '../../lib/redis.js';
import { runStoreConformance } from '../../lib/testing.js';
import { connectClusterDriver, DRIVERS, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';

const quiet = { warn: () => {} };

for (const [driver, feedSlots] of DRIVERS.flatMap((d) => [[d, 1] as const, [d, 8] as const])) {
  let shared: TestRedisClient | undefined;
  after(async () => {
    await shared?.close();
  });
  runStoreConformance(
    {
      name: `RedisRevocationStore on a Redis Cluster (${driver}, feedSlots ${feedSlots})`,
      // A prefix of its own for each store: the session-lifetime bound's tests start from an empty store.
      createStore: async () => {
        shared ??= await connectClusterDriver(driver);
        const prefix = randomPrefix(`cluster-${driver}-${feedSlots}`);
        return new RedisRevocationStore({ client: shared.client, prefix, feedSlots, logger: quiet });
      },
      feed: true,
      claims: true,
      lifetime: true,
    },
    { describe, it: test },
  );
}

describe('RedisRevocationStore with a cluster client', () => {
  for (const driver of DRIVERS) {
    test(`${driver}: detected as a cluster; the offline-queue warning follows the client's own setting`, async () => {
      const quietClient = await connectClusterDriver(driver);
      const queueing = await connectClusterDriver(
        driver,
        undefined,
        driver === 'node-redis' ? { defaults: {} } : { enableOfflineQueue: true },
      );
      try {
        const warned = async (client: TestRedisClient) => {
          const warnings: string[] = [];
          const store = new RedisRevocationStore({ client: client.client, logger: { warn: (m) => warnings.push(m) } });
          await store.init();
          assert.equal(store.clientKind, `${driver}-cluster`);
          return warnings.some((w) => w.includes('queues commands while disconnected'));
        };
        assert.equal(await warned(quietClient), false);
        assert.equal(await warned(queueing), true);
      } finally {
        await quietClient.close();
        await queueing.close();
      }
    });
  }
});
