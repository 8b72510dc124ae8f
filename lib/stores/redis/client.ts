// Talks to the app's own Redis client, node-redis or ioredis (single node or cluster), through the client's
// generic command method, so this package imports neither driver.

/** A node-redis client or cluster (`sendCommand`) or an ioredis client or cluster (`call`). */
export type RedisClientLike =
  | {
      /** node-redis: sends one command. */
      sendCommand(...args: never[]): Promise<unknown>;
    }
  | {
      /** ioredis: sends one command. */
      call(...args: never[]): Promise<unknown>;
    };

/** One command: its name then its arguments, e.g. `['MGET', 'a', 'b']`. */
export type RedisCommand = readonly string[];

/** The kinds of client `RedisRevocationStore` detects and speaks to. */
export type ClientKind = 'node-redis' | 'node-redis-cluster' | 'ioredis' | 'ioredis-cluster';

/** The app's client seen through the one thing the store needs: sending commands for one user's keys. */
export interface RedisConnection {
  readonly kind: ClientKind;
  /**
   * Sends `commands` in order to the node that holds `routeKey`, writing them all before reading any reply
   * (one round trip), and resolves with their replies; rejects with the first error.
   */
  send(routeKey: string, commands: readonly RedisCommand[]): Promise<unknown[]>;
  /** True when the client queues commands while disconnected (its default) instead of failing them. */
  readonly queuesOffline: boolean;
}

type Loose = Record<string, unknown> & { options?: Record<string, unknown> };
type Fn = (...args: unknown[]) => Promise<unknown>;
interface IoPipeline {
  call(...args: string[]): IoPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** Which driver made `client`, from the client object alone; undefined when it is neither. */
export function detectClient(client: unknown): ClientKind | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const c = client as Loose;
  // ioredis clients have `call` (and also a low-level `sendCommand`), and say whether they are a cluster.
  if (typeof c.call === 'function' && typeof c.isCluster === 'boolean')
    return c.isCluster ? 'ioredis-cluster' : 'ioredis';
  if (typeof c.sendCommand === 'function') return Array.isArray(c.masters) ? 'node-redis-cluster' : 'node-redis';
  return undefined;
}

/** Wraps a client that `detectClient` recognised. */
export function connect(client: RedisClientLike): RedisConnection {
  const kind = detectClient(client);
  const c = client as unknown as Loose;
  switch (kind) {
    case 'node-redis': {
      const send = (c.sendCommand as Fn).bind(c);
      // Commands sent in the same tick leave in one write: Promise.all keeps them one round trip.
      return {
        kind,
        queuesOffline: c.options?.disableOfflineQueue !== true,
        send: (_key, commands) => Promise.all(commands.map((command) => send([...command]))),
      };
    }
    case 'node-redis-cluster': {
      const send = (c.sendCommand as Fn).bind(c);
      const defaults = c.options?.defaults as Record<string, unknown> | undefined;
      return {
        kind,
        queuesOffline: defaults?.disableOfflineQueue !== true,
        // The route key picks the shard, also for key-less commands such as WAIT; `false` = not read-only,
        // so reads go to the primary too.
        send: (key, commands) => Promise.all(commands.map((command) => send(key, false, [...command]))),
      };
    }
    case 'ioredis': {
      const call = (c.call as Fn).bind(c);
      return {
        kind,
        queuesOffline: c.options?.enableOfflineQueue !== false,
        send: (_key, commands) => Promise.all(commands.map((command) => call(...command))),
      };
    }
    case 'ioredis-cluster':
      return {
        kind,
        queuesOffline: c.options?.enableOfflineQueue !== false,
        send: (_key, commands) => sendIoredisCluster(c, commands),
      };
    default:
      throw new TypeError('not a node-redis or ioredis client');
  }
}

/** A cluster pipeline goes to the node of its keyed commands, taking key-less ones (WAIT) along. */
async function sendIoredisCluster(cluster: Loose, commands: readonly RedisCommand[]): Promise<unknown[]> {
  if (commands.length === 1) return [await (cluster.call as Fn).call(cluster, ...(commands[0] ?? []))];
  const pipeline = (cluster.pipeline as () => IoPipeline).call(cluster);
  for (const command of commands) pipeline.call(...command);
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, reply]) => {
    if (error !== null) throw error;
    return reply;
  });
}
