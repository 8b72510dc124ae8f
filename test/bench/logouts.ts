// The logout driver, in its own process: `node --import tsx test/bench/logouts.ts`, driven over IPC by run.ts.
// Calls RedisRevocationStore's revokeSession / revokeUser (the built package, as the apps use it) from
// `concurrency` callers at once, each calling again as soon as its call returned, on one Redis or a Redis
// Cluster; counts the calls that returned in the measured window, and reads the CPU time the Redis nodes
// (`INFO cpu`), this process and the machine used in it. No HTTP: what it measures is what the store and Redis
// sustain, not what an Express app in front of them does.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ACCEPTED_PAST_END_MS, MAX_REVOCATION_LIFETIME_MS } from '../../lib/core/limits.js';
import { connectBenchRedis, loadRedisStore, type BenchRedisClient } from './apps.js';
import { machineBusySeconds } from './proc.js';
import { infoNumber, infoText, rewriteAof, type RawRedis } from './redis-seed.js';
import type { LogoutCommand, LogoutMessage, LogoutNodeCpu, LogoutResult, LogoutSpec } from './shared.js';

function send(message: LogoutMessage): void {
  process.send?.(message);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Each warning once (every cell has a store of its own). */
const warned = new Set<string>();
const logger = {
  warn(message: string) {
    if (warned.has(message)) return;
    warned.add(message);
    process.stderr.write(`[logout driver] ${message}\n`);
  },
};

interface Watched {
  address: string;
  redis: BenchRedisClient;
  /** The same single-node client, for raw commands. */
  raw: RawRedis;
  role: LogoutNodeCpu['role'];
}

async function cpuOf(node: Watched): Promise<number> {
  const sys = await infoNumber(node.raw, 'cpu', 'used_cpu_sys');
  const user = await infoNumber(node.raw, 'cpu', 'used_cpu_user');
  return sys + user;
}

async function run(spec: LogoutSpec): Promise<LogoutResult> {
  const watched: Watched[] = [];
  for (const { host, port } of spec.watch) {
    const redis = await connectBenchRedis(`redis://${host}:${port}`);
    const raw = redis.client as RawRedis;
    watched.push({
      address: `${host}:${port}`,
      redis,
      raw,
      role: /^role:master/m.test(await infoText(raw, 'replication')) ? 'primary' : 'replica',
    });
  }
  const redis = await connectBenchRedis(spec.url, spec.cluster);
  const store = new (await loadRedisStore())({
    client: redis.client,
    prefix: spec.prefix,
    feedSlots: spec.feedSlots,
    logger,
  });
  try {
    await store.init();
    // 22 characters, as the library's session ids: a tag of this cell, then a counter.
    const tag = randomBytes(4).toString('hex');
    let next = 0;
    let running = true;
    let measuring = false;
    let latencies = new Float64Array(1 << 16);
    let recorded = 0;
    let errors = 0;
    let firstError: string | undefined;
    const call = (n: number): Promise<void> => {
      const sub = spec.users === 'one' ? spec.sub : `u-${n}`;
      const now = Date.now();
      if (spec.call === 'revokeUser')
        return store.revokeUser(sub, new Date(now), new Date(now + MAX_REVOCATION_LIFETIME_MS));
      // A device logout of a session whose token expires in an hour: the entry lasts that plus the tolerance.
      const sid = `${tag}${n.toString(36).padStart(14, '0')}`;
      return store.revokeSession(sid, sub, new Date(now + 3_600_000 + ACCEPTED_PAST_END_MS));
    };
    const worker = async () => {
      while (running) {
        const started = performance.now();
        try {
          await call(next++);
        } catch (error) {
          if (measuring) errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
          continue;
        }
        if (!measuring) continue;
        if (recorded === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[recorded++] = performance.now() - started;
      }
    };
    const workers = Array.from({ length: spec.concurrency }, worker);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(spec.warmupSeconds * 1000);

    const cpuStart = await Promise.all(watched.map(cpuOf));
    const ownStart = process.cpuUsage();
    const machineStart = machineBusySeconds();
    const windowStart = performance.now();
    measuring = true;
    await sleep(spec.durationSeconds * 1000);
    measuring = false;
    const seconds = (performance.now() - windowStart) / 1000;
    const own = process.cpuUsage(ownStart);
    const machineCpuSeconds = machineBusySeconds() - machineStart;
    const cpuEnd = await Promise.all(watched.map(cpuOf));
    running = false;
    await Promise.all(workers);

    const sorted = latencies.slice(0, recorded).sort();
    return {
      ops: recorded,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      seconds,
      rate: recorded / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      driverCpuSeconds: (own.user + own.system) / 1e6,
      machineCpuSeconds,
      nodes: watched.map((node, i) => ({
        address: node.address,
        role: node.role,
        cpuSeconds: (cpuEnd[i] ?? Number.NaN) - (cpuStart[i] ?? Number.NaN),
      })),
    };
  } finally {
    redis.close();
    try {
      await cleanUp(spec, watched);
    } finally {
      for (const node of watched) node.redis.close();
    }
  }
}

/** Removes what the cell wrote (see LogoutSpec.cleanup), and waits until the nodes have freed it. */
async function cleanUp(spec: LogoutSpec, watched: Watched[]): Promise<void> {
  const primaries = watched.filter((node) => node.role === 'primary');
  if (spec.cleanup === 'flush') {
    for (const node of primaries) await node.raw.sendCommand(['FLUSHALL', 'ASYNC']);
  } else {
    // Keys found on a node are served by it: UNLINK them one by one (on a cluster, a multi-key UNLINK would
    // span slots), many at a time.
    for (const node of primaries) {
      let cursor = '0';
      do {
        const [next, keys] = (await node.raw.sendCommand([
          'SCAN',
          cursor,
          'MATCH',
          `${spec.prefix}*`,
          'COUNT',
          '1000',
        ])) as [string, string[]];
        cursor = next;
        await Promise.all(keys.map((key) => node.raw.sendCommand(['UNLINK', key])));
      } while (cursor !== '0');
    }
  }
  // Freed in the background: wait for it (and, after a flush, rewrite the AOF) so the next cell starts clean.
  for (const node of watched) {
    const deadline = performance.now() + 120_000;
    while ((await infoNumber(node.raw, 'memory', 'lazyfree_pending_objects')) > 0) {
      if (performance.now() > deadline) throw new Error(`${node.address} still frees memory after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (spec.cleanup === 'flush') await rewriteAof(node.raw);
  }
}

process.on('message', (command: LogoutCommand) => {
  if (command.type === 'run') {
    run(command.spec).then(
      (result) => send({ type: 'result', result }),
      (error: unknown) =>
        send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  } else {
    process.disconnect();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
