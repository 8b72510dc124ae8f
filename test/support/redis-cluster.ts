// A real Redis Cluster for the tests: six Debian `redis-server` processes (3 primaries, 3 replicas) on free
// loopback ports, joined by `redis-cli --cluster create`. `npm test` starts one and passes it to the test files
// as REDIS_CLUSTER_NODES (set it yourself to use an existing cluster); the failover and resharding tests start
// their own, as they kill its processes and move its slots.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createConnection, createServer } from 'node:net';
import { hashSlot } from '../../lib/stores/redis/keys.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

const run = promisify(execFile);
export const REDIS_CLI_BINARY = process.env.REDIS_CLI_BINARY ?? 'redis-cli';

export interface ClusterNode {
  host: string;
  port: number;
}

export interface RedisCluster {
  /** Every node it was started with (or REDIS_CLUSTER_NODES): the clients' seed list. */
  nodes: ClusterNode[];
  /** `host:port,...`, the form of REDIS_CLUSTER_NODES. */
  spec: string;
  /** The node that serves `key`'s slot as primary now, from CLUSTER SLOTS on any live node. */
  primaryOf(key: string): Promise<ClusterNode>;
  /** SIGKILLs the node on `port` (only a cluster started here). */
  kill(port: number): void;
  /**
   * Starts the killed node on `port` again, on its folder and `nodes.conf`, as a process supervisor would: it
   * rejoins the cluster (as a replica when its replica took over) and resolves once it answers.
   */
  restart(port: number): Promise<void>;
  /** Sends one command to one node over its own short connection (redis-cli), and returns its text reply. */
  cli(node: ClusterNode, ...args: string[]): Promise<string>;
  /** Stops every process started here and removes their folders; nothing for an existing cluster. */
  stop(): Promise<void>;
}

/** `host:port,...` to nodes. */
export function parseNodes(spec: string): ClusterNode[] {
  return spec
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const at = item.lastIndexOf(':');
      return { host: item.slice(0, at), port: Number(item.slice(at + 1)) };
    });
}

/** The cluster the tests use: REDIS_CLUSTER_NODES (set by `npm test`, or by you to point at another cluster). */
export function clusterNodes(): ClusterNode[] {
  const spec = process.env.REDIS_CLUSTER_NODES;
  if (spec === undefined || spec === '')
    throw new Error('REDIS_CLUSTER_NODES is not set: run the tests with `npm test`, which starts a Redis Cluster.');
  return parseNodes(spec);
}

async function cli(node: ClusterNode, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI_BINARY, ['-h', node.host, '-p', String(node.port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

/** The part of a key Redis Cluster hashes: between the first `{` and the next `}`, if not empty; else the key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** The hash slot Redis Cluster gives `key`. */
export function slotOf(key: string): number {
  return hashSlot(hashTagOf(key));
}

/** Each slot range and the node that serves it as primary, from `CLUSTER SLOTS` (redis-cli's JSON output). */
async function slotTable(node: ClusterNode): Promise<{ from: number; to: number; primary: ClusterNode }[]> {
  // `--json` keeps the nesting of the reply (redis-cli 7).
  const reply = JSON.parse(await cli(node, '--json', 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return reply.map(([from, to, [host, port]]) => ({ from, to, primary: { host, port } }));
}

/** Waits until every node says `cluster_state:ok` and each primary has its replica in sync. */
export async function waitForCluster(nodes: ClusterNode[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      nodes.map(async (node) => {
        try {
          const info = await cli(node, 'CLUSTER', 'INFO');
          const replication = await cli(node, 'INFO', 'replication');
          const ok = info.includes('cluster_state:ok');
          const primary = replication.includes('role:master');
          const synced = primary
            ? !replication.includes('connected_slaves:0')
            : replication.includes('master_link_status:up');
          return ok && synced;
        } catch {
          return false;
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when something accepts connections on `node`. */
function isUp(node: ClusterNode): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(node.port, node.host);
    socket.setTimeout(250, () => socket.destroy());
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

function handle(nodes: ClusterNode[], servers: RedisServer[], args: string[] = []): RedisCluster {
  return {
    nodes,
    spec: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    async primaryOf(key) {
      const slot = slotOf(key);
      for (const node of nodes) {
        if (!(await isUp(node))) continue;
        try {
          const range = (await slotTable(node)).find((r) => r.from <= slot && slot <= r.to);
          if (range !== undefined) return range.primary;
        } catch {
          // a node that is going down: ask the next
        }
      }
      throw new Error(`no live node knows who serves slot ${slot}`);
    },
    kill(port) {
      const server = servers.find((s) => s.port === port);
      if (server === undefined) throw new Error(`no node on port ${port} was started here`);
      server.process.kill('SIGKILL');
    },
    async restart(port) {
      const index = servers.findIndex((s) => s.port === port);
      const old = servers[index];
      if (old === undefined) throw new Error(`no node on port ${port} was started here`);
      await old.stop({ keepData: true });
      servers[index] = await startRedisServer({ port, dataDir: old.dataDir, args });
    },
    cli,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      await Promise.all(servers.map((s) => rm(s.dataDir, { recursive: true, force: true })));
    },
  };
}

/** True when nothing listens on `port` of 127.0.0.1. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port for a node: from 10000 to 19999, below the range the kernel hands out to outgoing connections, and
 * free together with its cluster bus port (port + 10000, which must stay below 65536).
 */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 10_000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
}

/** A node on a port of its own, tried again on another port if one was taken meanwhile. */
async function startNode(args: string[]): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisServer({ port: await freeNodePort(), args });
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
}

/**
 * Starts six nodes (3 primaries with a replica each; `cluster-node-timeout` 1 s, so a dead primary is replaced
 * within seconds) and joins them. Persistence is off, as in the single-node tests.
 */
export async function startRedisCluster(options: { nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const args = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(options.nodeTimeoutMs ?? 1000),
    // A replica whose link broke a while ago may still take over: the tests kill primaries on purpose.
    '--cluster-replica-validity-factor',
    '0',
  ];
  try {
    for (let i = 0; i < 6; i++) servers.push(await startNode(args));
    const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    await run(
      REDIS_CLI_BINARY,
      ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 30_000 },
    );
    await waitForCluster(nodes);
    return handle(nodes, servers, args);
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
}

/** The cluster in REDIS_CLUSTER_NODES, as a handle (kill is refused: its processes are not ours). */
export function existingCluster(): RedisCluster {
  return handle(clusterNodes(), []);
}
