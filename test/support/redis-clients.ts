// Connected Redis clients of both drivers for the tests, created the way the README recommends (no offline
// queue), and a random key prefix per test file so files never share keys.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisUrl } from './redis-server.js';

export type NodeRedisClient = ReturnType<typeof createClient>;

export const DRIVERS = ['node-redis', 'ioredis'] as const;
export type Driver = (typeof DRIVERS)[number];

export interface TestRedisClient {
  driver: Driver;
  client: NodeRedisClient | Redis;
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
