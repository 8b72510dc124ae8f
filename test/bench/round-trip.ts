// The unit the c1 excess is counted in: a bare MongoDB driver round trip (`ping`, and a `find` by `_id` the way
// the store reads a user), one at a time, measured in the orchestrator's own process with its own client.
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

export interface RoundTrips {
  ping: RoundTrip;
  findById: RoundTrip;
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
  const slice = Math.max(1, Math.round(count / rounds));
  const pings: RoundTrip[] = [];
  const finds: RoundTrip[] = [];
  for (let r = 0; r < rounds; r++) {
    pings.push(await timed(slice, () => admin.command({ ping: 1 })));
    finds.push(await timed(slice, () => users.findOne({ _id: 'round-trip-probe' }, { projection })));
  }
  const merge = (parts: RoundTrip[]): RoundTrip => ({
    count: parts.reduce((n, p) => n + p.count, 0),
    wallMs: parts.reduce((n, p) => n + p.wallMs * p.count, 0) / parts.reduce((n, p) => n + p.count, 0),
    cpuUs: parts.reduce((n, p) => n + p.cpuUs * p.count, 0) / parts.reduce((n, p) => n + p.count, 0),
  });
  return { ping: merge(pings), findById: merge(finds) };
}
