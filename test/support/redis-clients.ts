// Connected Redis clients of both drivers for the tests, created the way the README recommends (no offline
// queue), and a random key prefix per test file so files never share keys.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { clusterNodes, type ClusterNode } from './redis-cluster.js';
import { redisUrl } from './redis-server.js';

export type NodeRedisClient = ReturnType<typeof createClient>;

export const DRIVERS = ['node-redis', 'ioredis'] as const;
export type Driver = (typeof DRIVERS)[number];

export type NodeRedisCluster = ReturnType<typeof createCluster>;

export interface TestRedisClient {
  driver: Driver;
  client: NodeRedisClient | Redis | NodeRedisCluster | Cluster;
  /** Sends one raw command, e.g. `['PTTL', key]`. */
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A prefix of its own for one test file: `t<hex>:`. */
export function randomPrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}:`;
}

export async function connectNodeRedis(
  url = redisUrl(),
  extra: Record<string, unknown> = {},
): Promise<NodeRedisClient> {
  const client = createClient({ url, disableOfflineQueue: true, ...extra });
  client.on('error', () => {}); // node-redis throws on an 'error' event nobody listens to
  await client.connect();
  return client;
}

export async function connectIoredis(url = redisUrl(), extra: Record<string, unknown> = {}): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, lazyConnect: true, maxRetriesPerRequest: 1, ...extra });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function connectDriver(driver: Driver, url = redisUrl()): Promise<TestRedisClient> {
  if (driver === 'node-redis') {
    const client = await connectNodeRedis(url);
    return {
      driver,
      client,
      command: (...args) => client.sendCommand(args),
      close: () => {
        client.destroy();
        return Promise.resolve();
      },
    };
  }
  const client = await connectIoredis(url);
  return {
    driver,
    client,
    command: (name, ...args) => client.call(name ?? 'PING', ...args),
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

/**
 * A connected cluster client of `driver` (node-redis `createCluster`, ioredis `Cluster`), created the way the
 * README recommends (no offline queue), seeded with `nodes` (REDIS_CLUSTER_NODES by default). `command` sends
 * to the node of its first argument after the name (the key).
 */
export async function connectClusterDriver(
  driver: Driver,
  nodes: ClusterNode[] = clusterNodes(),
  extra: Record<string, unknown> = {},
): Promise<TestRedisClient> {
  if (driver === 'node-redis') {
    const client = createCluster({
      rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
      defaults: { disableOfflineQueue: true },
      ...extra,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      driver,
      client,
      command: (...args) => client.sendCommand(args[1], false, args),
      close: () => {
        client.destroy();
        return Promise.resolve();
      },
    };
  }
  const client = new Cluster(nodes, {
    enableOfflineQueue: false,
    lazyConnect: true,
    redisOptions: { maxRetriesPerRequest: 1 },
    ...extra,
  });
  client.on('error', () => {});
  await client.connect();
  return {
    driver,
    client,
    command: (name, ...args) => client.call(name ?? 'PING', ...args),
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}
