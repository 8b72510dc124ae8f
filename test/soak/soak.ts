// `npm run soak`: mixed traffic (sign-ins, requests, renewals, logouts, logout-everywhere) against two instances
// sharing a FerretDB of their own (or, with SOAK_STORE=redis, a redis-server of their own), for SOAK_MINUTES
// (default 10). Samples RSS, heap used after GC, event-loop
// delay and open handles every SOAK_SAMPLE_SECONDS (default 60) and prints them as a table. Fails when the heap
// after GC grows more than 10 % after the first sample, or when a logged-out session is ever accepted.
// Run with `node --expose-gc --import tsx test/soak/soak.ts` (the npm script does).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import express from 'express';
import { MongoClient } from 'mongodb';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import type { RevocationStore } from '../../lib/index.js';
import { startFerretDb } from '../ferretdb/launcher.js';
import { connectNodeRedis } from '../support/redis-clients.js';
import { startRedisServer } from '../support/redis-server.js';
import { testSecret } from '../support/apps.js';
import { listenLocally } from '../support/listen.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 60) * 1000;
const WORKERS = 8;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run soak does)');

const STORE = process.env.SOAK_STORE === 'redis' ? 'redis' : 'mongo';
const db =
  STORE === 'mongo'
    ? { kind: 'mongo' as const, server: await startFerretDb() }
    : { kind: 'redis' as const, server: await startRedisServer() };
const closers: (() => Promise<unknown>)[] = [];

/** One instance's store: on the soak's own FerretDB or redis-server. */
async function openStore(): Promise<RevocationStore> {
  if (db.kind === 'mongo') {
    const client = new MongoClient(db.server.uri);
    await client.connect();
    closers.push(() => client.close());
    return new MongoRevocationStore({ client, dbName: 'soak', logger: { warn: () => {} } });
  }
  const client = await connectNodeRedis(db.server.url);
  closers.push(() => client.quit());
  return new RedisRevocationStore({ client, prefix: 'soak:', logger: { warn: () => {} } });
}

const servers: Server[] = [];
const ports: number[] = [];
const secret = testSecret();
for (let i = 0; i < 2; i++) {
  const auth = createSessionAuth({
    secret,
    store: await openStore(),
    cookie: { secure: false },
    expiresIn: 4, // seconds: renewals (after 2 s) and expiries happen all the time
    renewAfter: 2,
    maxAge: 3600,
    logger: { warn: () => {} },
  });
  await auth.ready;
  const app = express();
  app.use(auth.authenticate);
  app.post('/login', (req, res, next) => {
    auth.login(res, { sub: typeof req.query.u === 'string' ? req.query.u : 'nobody' }).then(() => res.end(), next);
  });
  app.get('/me', auth.requireAuth, (_req, res) => res.end());
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);
  const { server, port } = await listenLocally(app);
  servers.push(server);
  ports.push(port);
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });
function call(port: number, method: string, path: string, cookie?: string) {
  return new Promise<{ status: number; cookie: string | undefined }>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: cookie ? { cookie } : {} },
      (res) => {
        res.resume();
        res.on('end', () => {
          const set = (res.headers['set-cookie'] ?? []).find(
            (c) => c.startsWith('session=') && !c.startsWith('session=;'),
          );
          resolve({ status: res.statusCode ?? 0, cookie: set?.split(';')[0] });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const counts = { requests: 0, logins: 0, renewals: 0, logouts: 0, logoutAlls: 0, acceptedAfterLogout: 0, errors: 0 };
let running = true;
async function worker(w: number): Promise<void> {
  for (let round = 0; running; round++) {
    const port = () => ports[Math.floor(Math.random() * 2)] as number;
    const user = `w${w}-u${round % 50}`;
    let cookie = (await call(port(), 'POST', `/login?u=${user}`)).cookie;
    counts.logins++;
    const copies: string[] = [];
    for (let i = 0; i < 20 && running && cookie !== undefined; i++) {
      const res = await call(port(), 'GET', '/me', cookie);
      counts.requests++;
      if (res.status !== 200) counts.errors++;
      if (res.cookie !== undefined) {
        counts.renewals++;
        copies.push(cookie);
        cookie = res.cookie;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (cookie === undefined) continue;
    const everywhere = round % 3 === 0;
    const out = await call(port(), 'POST', everywhere ? '/logout-all' : '/logout', cookie);
    if (out.status !== 204) counts.errors++;
    if (everywhere) counts.logoutAlls++;
    else counts.logouts++;
    // Accepted after logout: the cookie itself on both instances (and, after logout-all, the older copies).
    for (const c of everywhere ? [cookie, ...copies] : [cookie]) {
      for (const p of ports) if ((await call(p, 'GET', '/me', c)).status === 200) counts.acceptedAfterLogout++;
    }
  }
}

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const rows: {
  minute: string;
  rssMb: number;
  heapAfterGcMb: number;
  eldP99Ms: number;
  eldMaxMs: number;
  handles: number;
  requests: number;
}[] = [];
function sample(label: string): void {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  rows.push({
    minute: label,
    rssMb: Math.round(m.rss / 1e5) / 10,
    heapAfterGcMb: Math.round(m.heapUsed / 1e5) / 10,
    eldP99Ms: Math.round(eld.percentile(99) / 1e5) / 10,
    eldMaxMs: Math.round(eld.max / 1e5) / 10,
    handles: process.getActiveResourcesInfo().length,
    requests: counts.requests,
  });
  eld.reset();
}

const started = Date.now();
const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
const samples = Math.max(1, Math.round((MINUTES * 60_000) / SAMPLE_MS));
for (let i = 1; i <= samples; i++) {
  await new Promise((r) => setTimeout(r, started + i * SAMPLE_MS - Date.now()));
  sample(((i * SAMPLE_MS) / 60_000).toFixed(SAMPLE_MS % 60_000 === 0 ? 0 : 2));
  process.stdout.write(`soak: sample ${i}/${samples}\n`);
}
running = false;
await Promise.all(workers);
agent.destroy();
for (const s of servers) s.close();
for (const close of closers) await close();
await db.server.stop();
if (db.kind === 'mongo') await rm(db.server.dataDir, { recursive: true, force: true });

console.log(
  `\nSoak: ${MINUTES} min, two instances on ${db.kind === 'mongo' ? 'FerretDB' : 'Redis'}, ${WORKERS} workers`,
);
console.log('| minute | RSS MB | heap after GC MB | event-loop p99 ms | max ms | open handles | requests so far |');
console.log('| -----: | -----: | ---------------: | ----------------: | -----: | -----------: | --------------: |');
for (const r of rows)
  console.log(
    `| ${r.minute} | ${r.rssMb} | ${r.heapAfterGcMb} | ${r.eldP99Ms} | ${r.eldMaxMs} | ${r.handles} | ${r.requests} |`,
  );
console.log(`\n${JSON.stringify(counts)}`);
const first = rows[0]?.heapAfterGcMb ?? 0;
const last = rows[rows.length - 1]?.heapAfterGcMb ?? 0;
const problems: string[] = [];
if (rows.length > 1 && last > first * 1.1) problems.push(`heap after GC grew from ${first} MB to ${last} MB (> 10 %)`);
if (counts.acceptedAfterLogout > 0) problems.push(`${counts.acceptedAfterLogout} requests accepted after logout`);
if (counts.requests === 0) problems.push('no traffic');
for (const p of problems) console.error(`SOAK FAILED: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
