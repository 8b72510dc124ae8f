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
  /**
   * A cluster client only: brings the client's map of the slots up to date after an error the cluster answers
   * while it changes (`isClusterTransient`), before the same commands are sent again. Every command the store
   * sends can run twice without harm.
   */
  readonly recover?: (error: unknown) => Promise<void>;
}

/**
 * What a cluster answers while a slot moves or a primary is replaced, and how each driver words a node that went
 * away (a lost connection may have run the command: the store's commands are all safe to run twice).
 */
const CLUSTER_TRANSIENT =
  /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN|READONLY) |WAIT cannot be used with replica|client is offline|client is closed|Disconnects client|Socket closed unexpectedly|Connection is closed|Connection timeout|Socket timeout|Too many Cluster redirections|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/;

/** True for what a cluster answers while its slots move or a primary is replaced, or for a node gone. */
export function isClusterTransient(error: unknown): boolean {
  return error instanceof Error && CLUSTER_TRANSIENT.test(error.message);
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
      // node-redis 5 keeps a cluster's options in `_options` (`options` in earlier releases).
      const options = (c._options ?? c.options) as Loose | undefined;
      const defaults = options?.defaults as Loose | undefined;
      return {
        kind,
        queuesOffline: defaults?.disableOfflineQueue !== true,
        // The route key picks the shard; `false` = not read-only, so reads go to the primary too. Several
        // commands go as one pipeline to one node, so that a `WAIT` counts the replicas of the node that ran the
        // write before it (sent alone, a write redirected by MOVED would leave the WAIT on the old node).
        send: (key, commands) =>
          commands.length === 1
            ? Promise.all([send(key, false, [...(commands[0] ?? [])])])
            : followAsk(sendNodeRedisPipeline(c, key, commands), (node) => sendNodeRedisAsking(c, node, commands)),
        recover: () => rediscoverNodeRedis(c),
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
        send: (_key, commands) =>
          followAsk(sendIoredisCluster(c, commands), (node) => sendIoredisAsking(c, node, commands)),
        // ioredis re-reads its map of the slots when a node goes away, and on a MOVED of a single command, but not
        // on a MOVED in a pipeline that also holds a command that succeeded (a write and its WAIT).
        recover: (error) => (isMoved(error) ? refreshIoredisSlots(c) : Promise.resolve()),
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

/** True for a `MOVED` answer: the slot has a new owner. */
function isMoved(error: unknown): boolean {
  return error instanceof Error && /(^|ReplyError: )MOVED /.test(error.message);
}

/**
 * A batch sent to one node meets `ASK <slot> <host:port>` while its slot moves and its keys are already at the
 * target: sends it again there, after `ASKING` (clients follow `ASK` for single commands only).
 */
async function followAsk(pending: Promise<unknown[]>, sendTo: (node: string) => Promise<unknown[]>) {
  try {
    return await pending;
  } catch (error) {
    const ask = error instanceof Error ? /^ASK \d+ (\S+)$/.exec(error.message) : null;
    if (ask === null) throw error;
    return sendTo(ask[1] ?? '');
  }
}

interface NodeRedisPipeline {
  addCommand(firstKey: string, isReadonly: boolean, args: string[]): NodeRedisPipeline;
  execAsPipeline(): Promise<unknown[]>;
}

/** Several commands in one pipeline to the primary of `key`'s slot (no redirection: a MOVED fails it). */
function sendNodeRedisPipeline(cluster: Loose, key: string, commands: readonly RedisCommand[]): Promise<unknown[]> {
  const pipeline = (cluster.multi as (routing: string) => NodeRedisPipeline).call(cluster, key);
  for (const command of commands) pipeline.addCommand(key, false, [...command]);
  return pipeline.execAsPipeline();
}

interface NodeRedisNodePipeline {
  addCommand(args: string[]): NodeRedisNodePipeline;
  execAsPipeline(): Promise<unknown[]>;
}

/** `ASKING` then the batch, in one pipeline to the node at `address` (`host:port`). */
async function sendNodeRedisAsking(cluster: Loose, address: string, commands: readonly RedisCommand[]) {
  const node = (cluster.nodeByAddress as Map<string, unknown> | undefined)?.get(address);
  if (node === undefined) throw new Error(`ASK to an unknown node ${address}`);
  const client = await (cluster.nodeClient as (n: unknown) => Promise<Loose>).call(cluster, node);
  const pipeline = (client.multi as () => NodeRedisNodePipeline).call(client).addCommand(['ASKING']);
  for (const command of commands) pipeline.addCommand([...command]);
  return (await pipeline.execAsPipeline()).slice(1);
}

/** The same with an ioredis cluster: its node at `address`. */
async function sendIoredisAsking(cluster: Loose, address: string, commands: readonly RedisCommand[]) {
  const nodes = (cluster.nodes as (role: string) => Loose[]).call(cluster, 'master');
  const node = nodes.find((n) => `${String(n.options?.host)}:${String(n.options?.port)}` === address);
  if (node === undefined) throw new Error(`ASK to an unknown node ${address}`);
  const pipeline = (node.pipeline as () => IoPipeline).call(node).call('ASKING');
  for (const command of commands) pipeline.call(...command);
  const results = ((await pipeline.exec()) ?? []).slice(1);
  return results.map(([error, reply]) => {
    if (error !== null) throw error;
    return reply;
  });
}

/** Asks an ioredis cluster to read its map of the slots again; resolves once it did (or failed). */
function refreshIoredisSlots(cluster: Loose): Promise<void> {
  return new Promise((resolve) => {
    (cluster.refreshSlotsCache as (done: () => void) => void).call(cluster, () => resolve());
  });
}

const lastRediscovery = new WeakMap<object, number>();

/**
 * node-redis 5 updates its map of the slots only when a node answers MOVED: when a primary dies, its slots stay
 * mapped to the dead node ("The client is offline") even after a replica took over, until that node comes back.
 * Asks it to read the map again from a live node (its own `rediscover`, the step it takes on MOVED).
 */
async function rediscoverNodeRedis(cluster: Loose): Promise<void> {
  // At most one fresh read of the map per client each 200 ms (each opens a connection), however many calls fail.
  const now = Date.now();
  if (now - (lastRediscovery.get(cluster) ?? 0) < 200) return;
  lastRediscovery.set(cluster, now);
  const slots = cluster._slots as { rediscover?: (startWith: unknown) => Promise<void> } | undefined;
  if (typeof slots?.rediscover !== 'function') return;
  const masters = (cluster.masters ?? []) as { client?: { isReady?: boolean; options?: unknown } }[];
  const live = masters.find((node) => node.client?.isReady === true)?.client;
  const options = (cluster._options ?? cluster.options) as Loose | undefined;
  const rootNodes = (options?.rootNodes ?? []) as unknown[];
  await slots.rediscover.call(slots, live ?? { options: rootNodes[0] });
}
