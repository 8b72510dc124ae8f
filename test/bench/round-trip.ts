// The unit the c1 excess is counted in: a bare MongoDB driver round trip (`ping`, and a `find` by `_id` the way
// the store reads a user), one at a time, measured in the orchestrator's own process with its own client; and
// the same for Redis (`PING`, and an `MGET` of the three keys a check reads), the unit of the exact-mode model.
import { performance } from 'node:perf_hooks';
import type { MongoClient } from 'mongodb';

export interface RoundTrip {
  /** Operations measured, one after the other. */
  count: number;
  /** Mean wall time per operation (ms). */
  wallMs: number;
  /** Mean CPU time (user + system) of this process per operation (µs): the driver's client-side cost. */
  cpuUs: number;
}

/** Documents in the batched bare read (`findBatch`): about what a read carries at 16 connections. */
export const BATCH_IDS = 8;

export interface RoundTrips {
  ping: RoundTrip;
  findById: RoundTrip;
  /**
   * `find({ _id: { $in } })` of `BATCH_IDS` documents, as the store reads a batch of checks: with `findById`, the
   * client CPU each further document of a read costs.
   */
  findBatch?: RoundTrip;
  /** With a Redis in the run: node-redis round trips to it. */
  redis?: RedisRoundTrips;
}

export interface RedisRoundTrips {
  ping: RoundTrip;
  /** `MGET` of a user's watermark, claims-change and session keys (absent keys), as RedisRevocationStore checks. */
  mget: RoundTrip;
}

/** What the Redis round trips need of a node-redis client. */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

async function timed(count: number, op: () => Promise<unknown>): Promise<RoundTrip> {
  for (let i = 0; i < Math.min(50, count); i++) await op(); // warm the connection and the JIT
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await op();
  const wallMs = (performance.now() - t0) / count;
  const cpu = process.cpuUsage(cpu0);
  return { count, wallMs, cpuUs: (cpu.user + cpu.system) / count };
}

/** The mean of slices of one measurement, weighted by their counts. */
function merge(parts: RoundTrip[]): RoundTrip {
  const count = parts.reduce((n, p) => n + p.count, 0);
  return {
    count,
    wallMs: parts.reduce((n, p) => n + p.wallMs * p.count, 0) / count,
    cpuUs: parts.reduce((n, p) => n + p.cpuUs * p.count, 0) / count,
  };
}

/**
 * `ping` on the admin database and `findOne({ _id }, { projection })` on `collection` of `dbName` (a document
 * that exists), `count` of each, measured alternately in `rounds` slices so that a drift of the machine hits
 * both alike. Returns the means over all slices.
 */
export async function measureRoundTrips(
  client: MongoClient,
  dbName: string,
  collection: string,
  { count = 1000, rounds = 4 } = {},
): Promise<RoundTrips> {
  const admin = client.db('admin');
  const users = client.db(dbName).collection<{ _id: string }>(collection, { readPreference: 'primary' });
  await users.updateOne({ _id: 'round-trip-probe' }, { $set: { probe: true } }, { upsert: true });
  const projection = { _id: 1, lastLogoutAt: 1, lastDeviceLogoutAt: 1 };
  const batchIds = Array.from({ length: BATCH_IDS }, (_, i) => `round-trip-probe-${i}`);
  for (const _id of batchIds) await users.updateOne({ _id }, { $set: { probe: true } }, { upsert: true });
  const slice = Math.max(1, Math.round(count / rounds));
  const pings: RoundTrip[] = [];
  const finds: RoundTrip[] = [];
  const batches: RoundTrip[] = [];
  for (let r = 0; r < rounds; r++) {
    pings.push(await timed(slice, () => admin.command({ ping: 1 })));
    finds.push(await timed(slice, () => users.findOne({ _id: 'round-trip-probe' }, { projection })));
    batches.push(await timed(slice, () => users.find({ _id: { $in: batchIds } }, { projection }).toArray()));
  }
  return { ping: merge(pings), findById: merge(finds), findBatch: merge(batches) };
}

/** `PING` and an `MGET` of the three keys of a check (`prefix` + `{round-trip-probe}`), alternately as above. */
export async function measureRedisRoundTrips(
  client: RedisCommander,
  prefix: string,
  { count = 1000, rounds = 4 } = {},
): Promise<RedisRoundTrips> {
  const tag = `${prefix}{round-trip-probe}`;
  const keys = [`${tag}:u`, `${tag}:c`, `${tag}:s:probe-session`];
  const slice = Math.max(1, Math.round(count / rounds));
  const pings: RoundTrip[] = [];
  const mgets: RoundTrip[] = [];
  for (let r = 0; r < rounds; r++) {
    pings.push(await timed(slice, () => client.sendCommand(['PING'])));
    mgets.push(await timed(slice, () => client.sendCommand(['MGET', ...keys])));
  }
  return { ping: merge(pings), mget: merge(mgets) };
}
