// `npm run bench`: HTTP load against each scenario app, side by side on this machine, printed as a markdown
// table (and written as JSON with BENCH_JSON=path). Starts its own FerretDB server unless MONGODB_URI is set,
// and its own redis-server (for revocable-redis and the Redis runs below) unless REDIS_URL is set.
//
// Settings (environment): BENCH_DURATION seconds per measured run (default 10), BENCH_WARMUP (default 2),
// BENCH_JSON output path, BENCH_CONNECTIONS (default 1,16,64), BENCH_TOKENS (default 10000),
// BENCH_MEMORY_SECONDS length of the memory run (default 60, less with a short BENCH_DURATION),
// BENCH_ONLY / BENCH_SKIP comma lists of scenarios or of the extra runs `scale`, `memory` (the memory run
// also holds the correctness check), `memory-scale` (MemoryRevocationStore with 10^6 watermarks and 10^6 revoked
// sessions), `cached-correctness` (two maxRevocationDelay instances on one database), and the Redis runs:
// `redis-scale` (revocable-redis against a redis-server of its own seeded with 10^6 watermarks, 10^6 revoked
// sessions and 10^6 device-registry records, with their change-feed entries, and against an empty one; the
// count is BENCH_REDIS_SCALE_ENTRIES), `redis-cluster` (revocable-redis on a 6-node Redis Cluster against the
// same app on one Redis, at each connection level; REDIS_CLUSTER_NODES uses an existing cluster instead of
// starting one) and `redis-logouts` (revokeSession / revokeUser called directly on the store by as many callers
// as the top connection level, for one user and for many, on one Redis and on the cluster, the cluster's cells once
// for each `feedSlots` of BENCH_FEED_SLOTS, default `1,8`; one Redis: 1), and `copy-scale` (the bounded-delay copy
// at scale: `revocable-redis-cached`, maxRevocationDelay 100 ms, on a redis-server of its own whose change feed
// holds BENCH_COPY_SCALE_ENTRIES revocations, default 10^6, half watermarks and half revoked sessions of users
// outside the load, against the same app on an empty one, alternately at the top level; the time a new instance
// takes to load them (to `auth.ready`, and to its first check answered without a store read, waited for at most
// BENCH_COPY_WAIT_SECONDS, default 60), its RSS and heap, and the cross-instance delay under
// BENCH_COPY_LOGOUT_RATE logouts per second, default 20, for BENCH_DURATION), BENCH_REPEAT passes of
// the matrix at each level (default 1; ratios use medians), BENCH_EXPERIMENTS=1 to add the investigation-only
// apps, BENCH_APP_FLAGS node flags for the app processes (e.g. `--cpu-prof --cpu-prof-dir=.bench/prof`).
// The claims scenarios (`revocable-mongo-claims`, `revocable-mongo-claims-refresh`) use tokens of their own,
// signed with a `role` claim; the refresh scenario has its own database and its own copy of them, which its load
// clients update with the cookies it re-issues. BENCH_REFRESH_PERCENT: the users whose claims it changes each
// second (default 1).
//
// The exact scenarios (`revocable-mongo`, `revocable-redis`) are also compared with their model (report.ts,
// `exactModel`), from figures of the same run: stateless-key's, bare store round trips (measured at the
// 1-connection level, or before and after the matrix when it has none) and the store's round trips per request.
// JSON: the scale results under `scale` (`scale.copy`, `scale.memory_store`, `scale.exact_model`, beside the
// MongoDB scale run's own fields).
//
// Processes: this orchestrator, the database server, one process per app, one load-generator process; for the
// Redis runs, their redis-servers (a cluster: six) and the logout driver (logouts.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import { MongoClient } from 'mongodb';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { CHANGE_OVERLAP_MS } from '../../lib/revocation/feed-copy.js';
import { idKey } from '../../lib/stores/mongodb/ids.js';
import { hasAtomicUpdates } from '../../lib/stores/mongodb/server-kind.js';
import { startFerretDb, type FerretDbServer } from '../ferretdb/launcher.js';
import { existingCluster, startRedisCluster, type ClusterNode, type RedisCluster } from '../support/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { feedKeys, feedPartOf } from '../../lib/stores/redis/keys.js';
import { BenchClaims, connectBenchRedis, loadLibrary, loadRedisStore } from './apps.js';
import {
  checkCachedInstances,
  checkCachedUnderLogoutRate,
  type CachedCheckResult,
  type RateCheckResult,
  type Victim,
} from './cached-check.js';
import { cpuSeconds, rssBytes } from './proc.js';
import { buildReport, type CopyInstanceLoad, type MemorySample, type ReportInput, type RunRecord } from './report.js';
import { measureRedisRoundTrips, measureRoundTrips, type RoundTrips } from './round-trip.js';
import {
  checkSeeded,
  infoNumber,
  memoryUsage,
  redisCounters,
  rewriteAof,
  seedRedis,
  seedTimes,
  setFeedStart,
  type RawRedis,
} from './redis-seed.js';
import {
  CLAIMS_SCENARIO,
  EXPERIMENT_SCENARIOS,
  MAIN_SCENARIOS,
  MAX_REVOCATION_DELAY_MS,
  REFRESH_SCENARIO,
  readSettings,
  type AppCommand,
  type AppMessage,
  type AppStartup,
  type CheckerSpec,
  type LoadCommand,
  type LoadMessage,
  type LoadResult,
  type LoadSpec,
  type LogoutCommand,
  type LogoutMessage,
  type LogoutResult,
  type LogoutSpec,
  type Scenario,
} from './shared.js';
import { sessionIdentity } from '../../lib/core/ids.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
// Databases of this run only (a fixed prefix and a random part), dropped at the end, also after a failure: a
// server given in MONGODB_URI never has a database of its own overwritten or left behind.
const DB_PREFIX = `bench_${randomBytes(4).toString('hex')}`;
const DB_MAIN = `${DB_PREFIX}_main`;
const DB_SCALE = `${DB_PREFIX}_scale`;
const DB_MEMORY = `${DB_PREFIX}_memory`;
const DB_CACHED = `${DB_PREFIX}_cached`;
/** The refresh scenario's: its users' claims changes never reach the other apps' users. */
const DB_CLAIMS = `${DB_PREFIX}_claims`;
/** Users with a watermark and revoked sessions in the memory-store scale run. */
const MEMORY_SCALE_ENTRIES = 1_000_000;
const SCALE_DOCS = 100_000;
const SEED_BATCH = 1000;
/** Users seeded in the Redis scale run, each with a watermark, a revoked session and a registry record. */
const REDIS_SCALE_ENTRIES = Math.round(Number(process.env.BENCH_REDIS_SCALE_ENTRIES ?? '') || 1_000_000);
/** The prefix of the revocable-redis app's keys (apps.ts). */
const REDIS_APP_PREFIX = 'bench:';
/** Revocations in the copy-scale run's change feed: half users' watermarks, half revoked sessions. */
const COPY_SCALE_ENTRIES = Math.round(Number(process.env.BENCH_COPY_SCALE_ENTRIES ?? '') || 1_000_000);
/** The copy-scale run's seeded users are `user-<COPY_FIRST_USER>` on: none of the load's (`user-0` ...). */
const COPY_FIRST_USER = 10_000_000;
/** How long the copy-scale run waits for a new instance's first check answered from its copy. */
const COPY_WAIT_SECONDS = Number(process.env.BENCH_COPY_WAIT_SECONDS ?? '') || 60;
/** Logouts per second through instance A in the copy-scale run's cross-instance test. */
const COPY_LOGOUT_RATE = Number(process.env.BENCH_COPY_LOGOUT_RATE ?? '') || 20;
/**
 * The copy's whole read, as the library sends it with the default `revocationCopyLimit` (2,000,000): feed-copy.ts
 * asks for 4 feed entries per entry it may hold. Timed once from the orchestrator, for the report only.
 */
const WHOLE_READ_LIMIT = 4 * 2_000_000;

const settings = readSettings();
const started = performance.now();
const children = new Set<ChildProcess>();
let database: FerretDbServer | undefined;
let dbClient: MongoClient | undefined;
let redisServer: RedisServer | undefined;
let redisUrl = process.env.REDIS_URL ?? '';
/** The redis-scale run's two servers, and the Redis Cluster of the cluster and logout runs (when started here). */
const extraRedisServers = new Set<RedisServer>();
let ownCluster: { cluster: RedisCluster; pids: number[] } | undefined;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function wanted(name: string): boolean {
  if (settings.skip.has(name)) return false;
  return settings.only === undefined || settings.only.has(name);
}

async function cleanup(): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  if (dbClient !== undefined) {
    for (const name of [DB_MAIN, DB_SCALE, DB_MEMORY, DB_CACHED, DB_CLAIMS])
      await dbClient
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
    await dbClient.close().catch(() => undefined);
    dbClient = undefined;
  }
  await database?.stop();
  database = undefined;
  await redisServer?.stop();
  redisServer = undefined;
  for (const server of extraRedisServers) await server.stop();
  extraRedisServers.clear();
  await ownCluster?.cluster.stop();
  ownCluster = undefined;
}

// Last resort (an exception thrown from a callback): no child process and no database outlives this one.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  database?.process.kill('SIGKILL');
  redisServer?.process.kill('SIGKILL');
  for (const server of extraRedisServers) server.process.kill('SIGKILL');
  for (const pid of ownCluster?.pids ?? []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

process.once('SIGINT', () => {
  log('Interrupted: stopping the apps, the load generator and the database.');
  void cleanup().finally(() => process.exit(130));
});

// ---------------------------------------------------------------------------------------------------------
// Child processes

function forkTs(file: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): ChildProcess {
  const child = fork(join(HERE, file), args, {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...nodeFlags],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function nextMessage<T>(child: ChildProcess, accept: (message: T) => boolean, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      if (!accept(message)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`${what}: the process exited (code ${code}) before answering`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface AppHandle {
  scenario: Scenario;
  url: string;
  pid: number;
  child: ChildProcess;
}

function forkApp(
  scenario: Scenario,
  secret: string,
  mongoUri: string,
  dbName: string,
  extraEnv: Record<string, string>,
  extraFlags: string[] = [],
): ChildProcess {
  // BENCH_APP_FLAGS passes node flags to the app processes, e.g. `--cpu-prof --cpu-prof-dir=.bench/prof`.
  const flags = (process.env.BENCH_APP_FLAGS ?? '').split(' ').filter((f) => f !== '');
  return forkTs(
    'app-process.ts',
    [scenario],
    {
      BENCH_SECRET: secret,
      BENCH_MONGODB_URI: mongoUri,
      BENCH_DB_NAME: dbName,
      BENCH_REDIS_URL: redisUrl,
      ...extraEnv,
    },
    [...new Set([...flags, ...extraFlags])],
  );
}

async function appReady(scenario: Scenario, child: ChildProcess): Promise<AppHandle & { startup?: AppStartup }> {
  const ready = await nextMessage<AppMessage>(child, (m) => m.type === 'ready', `app ${scenario}`);
  if (ready.type !== 'ready') throw new Error('unreachable');
  return {
    scenario,
    url: `http://127.0.0.1:${ready.port}`,
    pid: ready.pid,
    child,
    ...(ready.startup === undefined ? {} : { startup: ready.startup }),
  };
}

async function startApp(
  scenario: Scenario,
  secret: string,
  mongoUri: string,
  dbName: string,
  extraEnv: Record<string, string> = {},
): Promise<AppHandle> {
  return appReady(scenario, forkApp(scenario, secret, mongoUri, dbName, extraEnv));
}

/** An app process that has loaded the package and builds its app on `startDeferredApp` (BENCH_DEFER_START). */
interface DeferredApp {
  scenario: Scenario;
  child: ChildProcess;
  pid: number;
}

/** Forks a deferred app, run with --expose-gc (its heap is measured after a full collection). */
async function forkDeferredApp(
  scenario: Scenario,
  secret: string,
  mongoUri: string,
  extraEnv: Record<string, string>,
): Promise<DeferredApp> {
  const child = forkApp(scenario, secret, mongoUri, DB_MAIN, { ...extraEnv, BENCH_DEFER_START: '1' }, ['--expose-gc']);
  const loaded = await nextMessage<AppMessage>(child, (m) => m.type === 'loaded', `app ${scenario}`);
  if (loaded.type !== 'loaded') throw new Error('unreachable');
  return { scenario, child, pid: loaded.pid };
}

async function startDeferredApp(app: DeferredApp): Promise<AppHandle & { startup?: AppStartup }> {
  const ready = appReady(app.scenario, app.child);
  app.child.send({ type: 'start' } satisfies AppCommand);
  return ready;
}

async function appStats(app: AppHandle): Promise<Record<string, number>> {
  const reply = nextMessage<AppMessage>(app.child, (m) => m.type === 'stats', `stats of ${app.scenario}`);
  app.child.send({ type: 'stats' } satisfies AppCommand);
  const message = await reply;
  return message.type === 'stats' ? message.stats : {};
}

/** Turns the app's own background work on or off (see AppCommand) and waits until it has. */
async function appBackground(app: AppHandle, on: boolean): Promise<void> {
  const reply = nextMessage<AppMessage>(app.child, (m) => m.type === 'background', `background of ${app.scenario}`);
  app.child.send({ type: 'background', on } satisfies AppCommand);
  await reply;
}

async function appHeap(
  app: AppHandle,
): Promise<{ heapUsed: number; afterGc: boolean; external?: number; arrayBuffers?: number }> {
  const reply = nextMessage<AppMessage>(app.child, (m) => m.type === 'heap', `heap of ${app.scenario}`);
  app.child.send({ type: 'heap' } satisfies AppCommand);
  const message = await reply;
  return message.type === 'heap' ? message : { heapUsed: Number.NaN, afterGc: false };
}

async function stopApp(app: Pick<AppHandle, 'child'>): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.send({ type: 'shutdown' } satisfies AppCommand);
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

class LoadProcess {
  readonly child = forkTs('load.ts', [], {});

  async ready(): Promise<void> {
    await nextMessage<LoadMessage>(this.child, (m) => m.type === 'ready', 'load generator');
  }

  async loadCookies(name: string, cookies: string[]): Promise<void> {
    const done = nextMessage<LoadMessage>(
      this.child,
      (m) => m.type === 'cookies-loaded' && m.name === name,
      'load generator',
    );
    this.child.send({ type: 'cookies', name, cookies } satisfies LoadCommand);
    await done;
  }

  async run(spec: LoadSpec): Promise<LoadResult> {
    const reply = nextMessage<LoadMessage>(
      this.child,
      (m) => m.type === 'result' || m.type === 'error',
      'load generator',
    );
    this.child.send({ type: 'run', spec } satisfies LoadCommand);
    const message = await reply;
    if (message.type === 'error') throw new Error(`load generator failed: ${message.message}`);
    if (message.type !== 'result') throw new Error('unreachable');
    return message.result;
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'exit' } satisfies LoadCommand);
    await exited;
  }
}

/** The logout driver (logouts.ts): one cell at a time. */
class LogoutProcess {
  readonly child = forkTs('logouts.ts', [], {});

  async ready(): Promise<void> {
    await nextMessage<LogoutMessage>(this.child, (m) => m.type === 'ready', 'logout driver');
  }

  async run(spec: LogoutSpec): Promise<LogoutResult> {
    const reply = nextMessage<LogoutMessage>(
      this.child,
      (m) => m.type === 'result' || m.type === 'error',
      'logout driver',
    );
    this.child.send({ type: 'run', spec } satisfies LogoutCommand);
    const message = await reply;
    if (message.type === 'error') throw new Error(`logout driver failed: ${message.message}`);
    if (message.type !== 'result') throw new Error('unreachable');
    return message.result;
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'exit' } satisfies LogoutCommand);
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Redis: the cluster of the cluster and logout runs

/** A field of `INFO <section>` of one cluster node, read with redis-cli. */
async function clusterInfo(cluster: RedisCluster, node: ClusterNode, section: string, field: string): Promise<number> {
  const text = await cluster.cli(node, 'INFO', section);
  const match = new RegExp(`^${field}:([^\\r\\n]*)`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

/**
 * The Redis Cluster of the cluster and logout runs: REDIS_CLUSTER_NODES when set (left as it is), else six
 * redis-servers started here (3 primaries, 3 replicas), with AOF turned on at once (`CONFIG SET appendonly yes`,
 * fsync every second) so that they persist as revocable-redis's server does; resolves once no node rewrites
 * its AOF any more.
 */
async function clusterForBench(): Promise<{ cluster: RedisCluster; pids: number[] | undefined }> {
  if ((process.env.REDIS_CLUSTER_NODES ?? '') !== '') {
    const cluster = existingCluster();
    log(`Redis runs: the cluster in REDIS_CLUSTER_NODES (${cluster.spec}); its CPU time is read with INFO cpu only.`);
    return { cluster, pids: undefined };
  }
  const cluster = await startRedisCluster();
  const pids = await Promise.all(cluster.nodes.map((node) => clusterInfo(cluster, node, 'server', 'process_id')));
  ownCluster = { cluster, pids };
  for (const node of cluster.nodes) await cluster.cli(node, 'CONFIG', 'SET', 'appendonly', 'yes');
  for (const node of cluster.nodes) {
    const deadline = performance.now() + 60_000;
    while (
      (await clusterInfo(cluster, node, 'persistence', 'aof_rewrite_in_progress')) !== 0 ||
      (await clusterInfo(cluster, node, 'persistence', 'aof_rewrite_scheduled')) !== 0
    ) {
      if (performance.now() > deadline) throw new Error(`node ${node.port}: AOF still being written after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  log(`Redis runs: a 6-node Redis Cluster started on ${cluster.spec} (3 primaries, 3 replicas, AOF every second).`);
  return { cluster, pids };
}

// ---------------------------------------------------------------------------------------------------------
// Data: tokens from the library, express-session sessions from its login route, the scale-test documents

interface Tokens {
  cookies: string[];
  /** Token index -> user: token i belongs to user `user-(i % users)`, so each user has two device sessions. */
  userOf(index: number): string;
  mintedAt: number;
}

/**
 * The tokens in rotation; `withClaims`: those of the claims scenarios, signed with the role `reader`. `count`
 * tokens of the users `userOf` names (default: the settings' tokens, token i of `user-(i % users)`).
 */
async function mintTokens(
  secret: string,
  withClaims = false,
  count = settings.tokens,
  userOf = (index: number) => `user-${index % settings.users}`,
): Promise<Tokens> {
  const lib = await loadLibrary();
  const store = new lib.MemoryRevocationStore();
  const options = { secret, store, cookie: { secure: false }, expiresIn: '1h' } as const;
  const plain = lib.createSessionAuth(options);
  const claims = lib.createSessionAuth({ ...options, claims: BenchClaims });
  // The smallest response object the cookie writer needs; the token is taken from login()'s result.
  const fakeRes = { headersSent: false, append: () => fakeRes, setHeader: () => fakeRes } as unknown as Response;
  const mintedAt = Date.now();
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const session = withClaims
      ? await claims.login(fakeRes, { sub: userOf(i), role: 'reader' })
      : await plain.login(fakeRes, { sub: userOf(i) });
    cookies.push(`session=${session.token}`);
  }
  await plain.close();
  await claims.close();
  store.close();
  return { cookies, userOf, mintedAt };
}

/** The load generator's cookie set of a scenario. */
function cookieSetOf(scenario: Scenario): string {
  if (scenario === 'session-mongo') return 'express-session';
  if (scenario === CLAIMS_SCENARIO) return 'jwt-claims';
  if (scenario === REFRESH_SCENARIO) return 'jwt-claims-refresh';
  return 'jwt';
}

/** express-session's cookie value for a session id: `s:` + id + `.` + base64 HMAC-SHA256 without padding. */
function signSessionId(sid: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `s:${sid}.${mac}`;
}

/**
 * One express-session session per token's user. The first is created through the app's login route; the
 * others are copies of the document connect-mongo stored for it (new ids, their own user), inserted in
 * batches, because FerretDB needs minutes for 10,000 single upserts. Their cookies are signed the way
 * express-session signs them, checked against the real one, and a sample is checked against the app.
 */
async function createSessions(app: AppHandle, tokens: Tokens, client: MongoClient, secret: string): Promise<string[]> {
  const res = await fetch(`${app.url}/login?sub=${encodeURIComponent(tokens.userOf(0))}`, { method: 'POST' });
  await res.arrayBuffer();
  const realCookie = res.headers.getSetCookie()[0]?.split(';', 1)[0];
  if (res.status !== 200 || realCookie === undefined)
    throw new Error(`session login answered ${res.status} without a cookie`);
  const [cookieName] = realCookie.split('=', 1) as [string];
  const sessions = client.db(DB_MAIN).collection<{ _id: string; expires: Date; session: string }>('sessions');
  const stored = await sessions.findOne({});
  if (stored === null) throw new Error('the login route stored no session');
  if (`${cookieName}=${encodeURIComponent(signSessionId(stored._id, secret))}` !== realCookie) {
    throw new Error('express-session signs its cookies differently than this harness expects');
  }
  const template = JSON.parse(stored.session) as Record<string, unknown>;
  const cookies = new Array<string>(settings.tokens);
  cookies[0] = realCookie;
  for (let start = 1; start < settings.tokens; start += SEED_BATCH) {
    const docs = [];
    for (let i = start; i < Math.min(settings.tokens, start + SEED_BATCH); i++) {
      const sid = randomBytes(24).toString('base64url');
      docs.push({
        _id: sid,
        expires: stored.expires,
        session: JSON.stringify({ ...template, user: tokens.userOf(i) }),
      });
      cookies[i] = `${cookieName}=${encodeURIComponent(signSessionId(sid, secret))}`;
    }
    await sessions.insertMany(docs, { ordered: false });
  }
  for (let i = 0; i < settings.tokens; i += Math.ceil(settings.tokens / 20)) {
    const check = await fetch(`${app.url}/me`, { headers: { cookie: cookies[i] as string } });
    const body = (await check.json()) as { sub?: string };
    if (check.status !== 200 || body.sub !== tokens.userOf(i))
      throw new Error(`session ${i} is not accepted by the app (${check.status})`);
  }
  return cookies;
}

const READ_COMMANDS = ['find', 'aggregate', 'count', 'getMore'] as const;
const WRITE_COMMANDS = ['update', 'insert', 'delete', 'findAndModify'] as const;

/** The server's own count of each command run so far (`serverStatus.metrics.commands`), if it reports them. */
async function commandCounts(client: MongoClient): Promise<Record<string, number> | undefined> {
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const commands = (status.metrics as { commands?: Record<string, { total?: unknown }> } | undefined)?.commands;
    if (commands === undefined) return undefined;
    const counts: Record<string, number> = {};
    for (const [name, value] of Object.entries(commands)) counts[name] = Number(value.total ?? 0);
    return counts;
  } catch {
    return undefined;
  }
}

/** Waits (at most `maxSeconds`) until `pid` uses under 10 % of a core over half a second. */
async function waitForIdle(pid: number, maxSeconds: number): Promise<void> {
  const deadline = performance.now() + maxSeconds * 1000;
  let last = cpuSeconds(pid);
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = cpuSeconds(pid);
    if (!(now - last > 0.05)) return;
    last = now;
  }
}

/**
 * Polls `/me` on a bounded-delay app with the load's cookies (of sessions signed in after the feed's start, so
 * the copy may answer them) until a check is answered without a store read: the server's `MGET` count did not
 * move across that request (nothing else reads that server meanwhile; this process only sends INFO). Each
 * request is what traffic does: a check that finds the copy missing or old starts its next read. Resolves to when
 * that response arrived (`Date.now()`), or undefined after `maxSeconds`, with the requests sent and those refused.
 */
async function waitForCopyInUse(
  url: string,
  raw: RawRedis,
  cookies: string[],
  maxSeconds: number,
): Promise<{ atMs: number | undefined; polls: number; refused: number; waitedSeconds: number }> {
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  let polls = 0;
  let refused = 0;
  while (performance.now() < deadline) {
    const before = (await redisCounters(raw)).mget;
    const res = await fetch(`${url}/me`, { headers: { cookie: cookies[polls % cookies.length] as string } });
    await res.arrayBuffer();
    const answeredAt = Date.now();
    const after = (await redisCounters(raw)).mget;
    polls++;
    if (res.status !== 200) refused++;
    else if (after === before)
      return { atMs: answeredAt, polls, refused, waitedSeconds: (performance.now() - t0) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { atMs: undefined, polls, refused, waitedSeconds: (performance.now() - t0) / 1000 };
}

/**
 * The app's heap and its array buffers (typed arrays live there, outside the heap) after a full collection (its
 * process runs with --expose-gc), then its RSS.
 */
async function memorySample(app: AppHandle): Promise<MemorySample> {
  const heap = await appHeap(app);
  return {
    rss: rssBytes(app.pid),
    heapUsed: heap.heapUsed,
    arrayBuffers: heap.arrayBuffers ?? Number.NaN,
    afterGc: heap.afterGc,
  };
}

/** The median wall time (ms) of `count` calls of `read`, one after the other. */
async function medianWallMs(count: number, read: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await read();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function prepareDatabases(client: MongoClient): Promise<void> {
  for (const name of [DB_MAIN, DB_SCALE, DB_MEMORY, DB_CACHED, DB_CLAIMS]) {
    const db = client.db(name);
    await db.dropDatabase();
    // Existing but empty collections, so that "empty database" lookups do reach the storage engine.
    for (const collection of ['users', 'revocation_users', 'revoked_sessions', 'sessions'])
      await db.createCollection(collection);
  }
  // The change feed of the bounded-delay apps begins before any session signs in, as in an app that runs with
  // maxRevocationDelay from the start (sessions signed in before the feed, plus its margin for clock skew, are
  // checked per user instead).
  let startedAt = 0;
  for (const name of [DB_MAIN, DB_CACHED]) {
    const store = new MongoRevocationStore({ client, dbName: name, logger: { warn: log } });
    await store.init();
    startedAt = Math.max(startedAt, (await store.readFeed(null, 1)).startedAt.getTime());
  }
  const wait = startedAt + CHANGE_OVERLAP_MS + 1 - Date.now();
  if (wait > 0) {
    log(`Waiting ${(wait / 1000).toFixed(1)} s: the sessions sign in after the change feed's start and its margin.`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * 100,000 users with a `lastLogoutAt` and 100,000 revoked sessions (one per user), in batches, as the store
 * writes them: the sessions were logged out 30 minutes before the tokens in rotation were issued, so each user
 * document also carries the store's device-logout date (that time plus its 5-minute margin).
 */
async function seedScale(client: MongoClient, tokens: Tokens): Promise<number> {
  const db = client.db(DB_SCALE);
  // Where the store reads it: the user documents, or its own collection on a server whose updates are not atomic.
  const atomic = await hasAtomicUpdates(db);
  const users = db.collection<{ _id: string; lastLogoutAt: Date; lastDeviceLogoutAt: Date }>(
    atomic ? 'users' : 'revocation_users',
  );
  const sessions = db.collection<{ _id: string; sub: string; sid: string; expiresAt: Date; revokedAt: Date }>(
    'revoked_sessions',
  );
  const watermark = new Date(tokens.mintedAt - 3_600_000);
  const revokedAt = new Date(tokens.mintedAt - 30 * 60_000);
  const deviceLogout = new Date(revokedAt.getTime() + 5 * 60_000);
  const expiresAt = new Date(revokedAt.getTime() + 3_600_000);
  // Users in random order: the ones in rotation must not all sit at the start of the collection, where a
  // server that scans would find them first.
  const ids = Array.from({ length: SCALE_DOCS }, (_, i) => `user-${i}`);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
  }
  const t0 = performance.now();
  const batches: (() => Promise<unknown>)[] = [];
  for (let start = 0; start < SCALE_DOCS; start += SEED_BATCH) {
    const slice = ids.slice(start, start + SEED_BATCH);
    batches.push(() =>
      users.insertMany(
        slice.map((id) => ({
          _id: atomic ? id : idKey(id),
          lastLogoutAt: watermark,
          lastDeviceLogoutAt: deviceLogout,
        })),
        { ordered: false },
      ),
    );
    batches.push(() =>
      sessions.insertMany(
        slice.map((sub) => {
          const sid = randomBytes(16).toString('base64url');
          return { _id: sessionIdentity(sub, sid), sub, sid, expiresAt, revokedAt };
        }),
        { ordered: false },
      ),
    );
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await (batches[next++] as () => Promise<unknown>)();
  };
  await Promise.all([worker(), worker()]);
  return (performance.now() - t0) / 1000;
}

// ---------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const cores = availableParallelism();
  log(
    `Benchmark: ${settings.durationSeconds} s per run after ${settings.warmupSeconds} s of warm-up; ${settings.tokens} tokens of ${settings.users} users in rotation.`,
  );

  let mongoUri = process.env.MONGODB_URI ?? '';
  let dbPid: number | undefined;
  let dbLabel = 'the server in MONGODB_URI (its CPU time is not counted)';
  if (mongoUri === '') {
    database = await startFerretDb();
    mongoUri = database.uri;
    dbPid = database.process.pid;
    dbLabel = 'FerretDB (SQLite backend), the server the tests use, started for this run';
  }
  const redisRuns = {
    scale: wanted('redis-scale'),
    cluster: wanted('redis-cluster'),
    logouts: wanted('redis-logouts'),
  };
  if (redisUrl === '' && (wanted('revocable-redis') || redisRuns.cluster || redisRuns.logouts)) {
    // Persistence on, as the README recommends for the revocation data (AOF, fsync every second).
    redisServer = await startRedisServer({ persistent: true });
    redisUrl = redisServer.url;
    log(`revocable-redis: redis-server started on ${redisUrl} (set REDIS_URL to use another Redis).`);
  }
  // The Redis scale run's two servers (empty, seeded), persistent as revocable-redis's, and the cluster.
  const scaleServers = redisRuns.scale
    ? { empty: await startRedisServer({ persistent: true }), seeded: await startRedisServer({ persistent: true }) }
    : undefined;
  if (scaleServers !== undefined) for (const server of Object.values(scaleServers)) extraRedisServers.add(server);
  // The copy-scale run's two servers (empty, seeded), persistent as revocable-redis's.
  const copyServers = wanted('copy-scale')
    ? { empty: await startRedisServer({ persistent: true }), seeded: await startRedisServer({ persistent: true }) }
    : undefined;
  if (copyServers !== undefined) for (const server of Object.values(copyServers)) extraRedisServers.add(server);
  const benchCluster = redisRuns.cluster || redisRuns.logouts ? await clusterForBench() : undefined;
  const client = new MongoClient(mongoUri);
  dbClient = client;
  await client.connect();
  await prepareDatabases(client);

  const secret = randomBytes(32).toString('base64url');
  const t0 = performance.now();
  const tokens = await mintTokens(secret);
  log(`Minted ${tokens.cookies.length} tokens with auth.login in ${Math.round(performance.now() - t0)} ms.`);

  const candidates: Scenario[] = [...MAIN_SCENARIOS, ...(settings.experiments ? EXPERIMENT_SCENARIOS : [])];
  const matrixScenarios = candidates.filter(wanted);
  // The orchestrator's own client on revocable-redis's server: its counters (MGETs and socket reads per request)
  // and the bare Redis round trips of the exact-mode model.
  const mainRedis =
    redisUrl !== '' && matrixScenarios.includes('revocable-redis') ? await connectBenchRedis(redisUrl) : undefined;
  const needed = new Set<Scenario>(matrixScenarios);
  if (wanted('scale') || wanted('memory')) needed.add('revocable-mongo');
  const apps = new Map<Scenario, AppHandle>();
  for (const scenario of candidates) {
    if (!needed.has(scenario)) continue;
    const app =
      scenario === REFRESH_SCENARIO
        ? await startApp(scenario, secret, mongoUri, DB_CLAIMS, {
            BENCH_USERS: String(settings.users),
            BENCH_REFRESH_SHARE: String(settings.refreshSharePerSecond),
          })
        : await startApp(scenario, secret, mongoUri, DB_MAIN);
    apps.set(scenario, app);
  }
  // The apps of the memory and scale runs start now too (and wait idle), so that every process has loaded the
  // package before anything could rebuild dist/ in the middle of a long run.
  const memoryApp = wanted('memory') ? await startApp('revocable-mongo', secret, mongoUri, DB_MEMORY) : undefined;
  const seededApp = wanted('scale') ? await startApp('revocable-mongo', secret, mongoUri, DB_SCALE) : undefined;
  // The memory-store scale run: an empty MemoryRevocationStore against one holding a million watermarks and a
  // million revoked sessions (the users in rotation among them, watermarked before their tokens were issued).
  const memoryScaleApps = wanted('memory-scale')
    ? {
        empty: await startApp('revocable-memory', secret, mongoUri, DB_MAIN),
        seeded: await startApp('revocable-memory', secret, mongoUri, DB_MAIN, {
          BENCH_MEMORY_SEED: String(MEMORY_SCALE_ENTRIES),
          BENCH_SEED_AT_MS: String(tokens.mintedAt),
        }),
      }
    : undefined;
  // Two instances of the bounded-delay app on one database of their own: logouts through one, seen by the other.
  const cachedApps = wanted('cached-correctness')
    ? [
        await startApp('revocable-mongo-cached', secret, mongoUri, DB_CACHED),
        await startApp('revocable-mongo-cached', secret, mongoUri, DB_CACHED),
      ]
    : undefined;
  // The Redis scale run: revocable-redis on an empty redis-server and on one seeded (once the run begins).
  const redisScaleApps =
    scaleServers === undefined
      ? undefined
      : {
          empty: await startApp('revocable-redis', secret, mongoUri, DB_MAIN, {
            BENCH_REDIS_URL: scaleServers.empty.url,
          }),
          seeded: await startApp('revocable-redis', secret, mongoUri, DB_MAIN, {
            BENCH_REDIS_URL: scaleServers.seeded.url,
          }),
        };
  // The cluster run: revocable-redis on one Redis and on the cluster (a createCluster client).
  const redisClusterApps =
    redisRuns.cluster && benchCluster !== undefined
      ? {
          single: await startApp('revocable-redis', secret, mongoUri, DB_MAIN),
          cluster: await startApp('revocable-redis', secret, mongoUri, DB_MAIN, {
            BENCH_REDIS_CLUSTER: benchCluster.cluster.spec,
          }),
        }
      : undefined;
  // The copy-scale run's instances: forked now (the package loaded), built once their server is seeded. The
  // seeded one is instance A of the cross-instance test, `second` its instance B.
  const copyApps =
    copyServers === undefined
      ? undefined
      : {
          empty: await forkDeferredApp('revocable-redis-cached', secret, mongoUri, {
            BENCH_REDIS_URL: copyServers.empty.url,
          }),
          seeded: await forkDeferredApp('revocable-redis-cached', secret, mongoUri, {
            BENCH_REDIS_URL: copyServers.seeded.url,
          }),
          second: await forkDeferredApp('revocable-redis-cached', secret, mongoUri, {
            BENCH_REDIS_URL: copyServers.seeded.url,
          }),
        };
  const extraApps = [
    ...Object.values(copyApps ?? {}),
    memoryApp,
    seededApp,
    memoryScaleApps?.empty,
    memoryScaleApps?.seeded,
    ...(cachedApps ?? []),
    redisScaleApps?.empty,
    redisScaleApps?.seeded,
    redisClusterApps?.single,
    redisClusterApps?.cluster,
  ];
  log(`Started ${apps.size + extraApps.filter((a) => a !== undefined).length} apps, one process each.`);

  const load = new LoadProcess();
  await load.ready();
  await load.loadCookies('jwt', tokens.cookies);
  if (needed.has(CLAIMS_SCENARIO) || needed.has(REFRESH_SCENARIO)) {
    const t2 = performance.now();
    const claimsTokens = await mintTokens(secret, true);
    log(`Minted ${claimsTokens.cookies.length} tokens with a role claim in ${Math.round(performance.now() - t2)} ms.`);
    // Two copies in the load generator: the refresh scenario's is updated with the cookies its app re-issues.
    await load.loadCookies(cookieSetOf(CLAIMS_SCENARIO), claimsTokens.cookies);
    await load.loadCookies(cookieSetOf(REFRESH_SCENARIO), claimsTokens.cookies);
  }
  const sessionApp = apps.get('session-mongo');
  let sessionSeedSeconds: number | undefined;
  if (sessionApp !== undefined) {
    const t1 = performance.now();
    await load.loadCookies('express-session', await createSessions(sessionApp, tokens, client, secret));
    sessionSeedSeconds = (performance.now() - t1) / 1000;
    log(`Created ${settings.tokens} express-session sessions in ${sessionSeedSeconds.toFixed(1)} s.`);
  }

  const runs: RunRecord[] = [];
  /**
   * `countMongo: false` for apps on Redis: the MongoDB server's command counters say nothing of them; `redis`: a
   * client on the app's own redis-server, whose counters give its MGETs, scripts and socket reads per request.
   */
  const measure = async (
    app: AppHandle,
    connections: number,
    label: string,
    extra: Partial<LoadSpec> = {},
    { countMongo = true, redis }: { countMongo?: boolean; redis?: RawRedis } = {},
  ): Promise<LoadResult> => {
    const before = countMongo ? await commandCounts(client) : undefined;
    const redisBefore = redis === undefined ? undefined : await redisCounters(redis);
    // The app's own work (the refresh scenario's refreshClaims timer) only while it is measured, warm-up included.
    await appBackground(app, true);
    const result = await load.run({
      url: app.url,
      connections,
      warmupSeconds: settings.warmupSeconds,
      durationSeconds: settings.durationSeconds,
      cookieSet: cookieSetOf(app.scenario),
      pids: { app: app.pid, ...(dbPid === undefined ? {} : { db: dbPid }) },
      ...(app.scenario === REFRESH_SCENARIO ? { adoptCookies: true } : {}),
      ...extra,
    });
    await appBackground(app, false);
    if (app.scenario === REFRESH_SCENARIO) {
      // A refreshClaims that timed out in the app may still have writes under way in the database: the next
      // scenario is measured once the database and this app are idle (at most 15 s).
      await Promise.all([waitForIdle(app.pid, 15), dbPid === undefined ? undefined : waitForIdle(dbPid, 15)]);
    }
    const after = countMongo ? await commandCounts(client) : undefined;
    if (before !== undefined && after !== undefined && result.totalResponses > 0) {
      const delta = (names: readonly string[]) =>
        names.reduce((sum, n) => sum + (after[n] ?? 0) - (before[n] ?? 0), 0) / result.totalResponses;
      result.dbCommandsPerRequest = { reads: delta(READ_COMMANDS), writes: delta(WRITE_COMMANDS) };
    }
    if (redis !== undefined && redisBefore !== undefined && result.totalResponses > 0) {
      const redisAfter = await redisCounters(redis);
      const n = result.totalResponses;
      result.dbCommandsPerRequest = {
        reads: (redisAfter.mget - redisBefore.mget) / n,
        writes: (redisAfter.scripts - redisBefore.scripts) / n,
      };
      // Less the INFO that read the counters afterwards (itself one socket read).
      result.dbSocketReadsPerRequest = (redisAfter.socketReads - redisBefore.socketReads - 1) / n;
    }
    const perReq = result.dbCommandsPerRequest;
    const redisNote =
      redis === undefined || perReq === undefined
        ? ''
        : `  MGET/req ${perReq.reads.toFixed(3)}  socket reads/req ${result.dbSocketReadsPerRequest?.toFixed(3) ?? 'n/a'}`;
    log(
      `  ${label.padEnd(30)} c=${String(connections).padStart(2)}  ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  non2xx ${result.non2xx}  errors ${result.errors}${redisNote}`,
    );
    return result;
  };

  // The matrix: every scenario at every connection level, the order reversed at each level so that a slow
  // drift of the machine does not always hit the same scenarios last.
  // With BENCH_REPEAT=n, each level runs the whole matrix n times, the order alternating again: the report takes
  // medians. At 1 connection, bare driver round trips are measured before each pass and after the last, the unit
  // the excess latency of revocable-mongo over stateless-key is counted in.
  // Without a 1-connection level, the exact scenarios' model still needs them: measured before the matrix and
  // after it. With revocable-redis in the matrix, bare Redis round trips (PING, a check's MGET) are measured too.
  const roundTrips: RoundTrips[] = [];
  const probeRoundTrips = async () => {
    const measured = await measureRoundTrips(client, DB_MAIN, 'round_trip_probe');
    if (mainRedis !== undefined)
      measured.redis = await measureRedisRoundTrips(mainRedis.client as RawRedis, `${REDIS_APP_PREFIX}probe:`);
    roundTrips.push(measured);
    const r = measured.redis;
    log(
      `  bare driver round trips: ping ${(measured.ping.wallMs * 1000).toFixed(0)} µs wall / ${measured.ping.cpuUs.toFixed(0)} µs CPU, find by _id ${(measured.findById.wallMs * 1000).toFixed(0)} µs wall / ${measured.findById.cpuUs.toFixed(0)} µs CPU${r === undefined ? '' : `; Redis PING ${(r.ping.wallMs * 1000).toFixed(0)} µs wall / ${r.ping.cpuUs.toFixed(0)} µs CPU, MGET ${(r.mget.wallMs * 1000).toFixed(0)} µs wall / ${r.mget.cpuUs.toFixed(0)} µs CPU`}`,
    );
  };
  const probeAtEnds =
    !settings.connections.includes(1) &&
    matrixScenarios.some((scenario) => scenario === 'revocable-mongo' || scenario === 'revocable-redis');
  if (probeAtEnds) await probeRoundTrips();
  let pass = 0;
  for (const connections of settings.connections) {
    for (let r = 0; r < settings.repeat; r++) {
      if (connections === 1 && matrixScenarios.length > 0) await probeRoundTrips();
      await runPass(connections, pass++ % 2 === 0 ? matrixScenarios : [...matrixScenarios].reverse());
    }
    if (connections === 1 && matrixScenarios.length > 0) await probeRoundTrips();
  }
  if (probeAtEnds) await probeRoundTrips();
  async function runPass(connections: number, order: readonly Scenario[]): Promise<void> {
    for (const scenario of order) {
      const app = apps.get(scenario) as AppHandle;
      const before = await appStats(app);
      // revocable-redis: its Redis's counters instead of the MongoDB server's.
      const result =
        scenario === 'revocable-redis' && mainRedis !== undefined
          ? await measure(app, connections, scenario, {}, { countMongo: false, redis: mainRedis.client as RawRedis })
          : await measure(app, connections, scenario);
      const after = await appStats(app);
      const stats = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      runs.push({ name: scenario, result, stats });
      if (scenario === CLAIMS_SCENARIO || scenario === REFRESH_SCENARIO) {
        // Warm-up included on both sides: the app's counters and the responses from the start of the warm-up.
        const requests = stats.requests ?? result.totalResponses;
        const adopted = result.cookiesAdopted === undefined ? '' : `, ${result.cookiesAdopted} cookies adopted`;
        const refreshes =
          stats.refreshes === undefined
            ? ''
            : `, ${stats.refreshes} refreshClaims (${stats.refreshErrors ?? 0} failed)`;
        log(
          `  ${''.padEnd(30)}        loadClaims ${((stats.loadClaims ?? 0) / Math.max(1, requests)).toFixed(4)} per request (${stats.loadClaims ?? 0} of ${requests})${refreshes}${adopted}`,
        );
      }
    }
  }

  // Memory-store scale: the empty and the seeded store alternately, at the top connection level.
  let memoryScale: { entries: number; empty: LoadResult[]; seeded: LoadResult[] } | undefined;
  if (memoryScaleApps !== undefined) {
    const topLevel = Math.max(...settings.connections);
    memoryScale = { entries: MEMORY_SCALE_ENTRIES, empty: [], seeded: [] };
    for (let r = 0; r < settings.repeat; r++) {
      memoryScale.empty.push(await measure(memoryScaleApps.empty, topLevel, 'revocable-memory empty'));
      memoryScale.seeded.push(await measure(memoryScaleApps.seeded, topLevel, 'revocable-memory 1M+1M'));
    }
    await stopApp(memoryScaleApps.empty);
    await stopApp(memoryScaleApps.seeded);
  }

  // Redis scale: seed one server, check it through the store, then the empty and the seeded server alternately
  // at the top connection level.
  const top = Math.max(...settings.connections);
  let redisScale: ReportInput['redisScale'];
  if (scaleServers !== undefined && redisScaleApps !== undefined) {
    const entries = REDIS_SCALE_ENTRIES;
    log(
      `Redis scale: seeding ${entries.toLocaleString('en-US')} users with a watermark, ${entries.toLocaleString('en-US')} revoked sessions, ${entries.toLocaleString('en-US')} registry records and their feed entries...`,
    );
    const seededRedis = await connectBenchRedis(scaleServers.seeded.url);
    const emptyRedis = await connectBenchRedis(scaleServers.empty.url);
    try {
      const raw = seededRedis.client as RawRedis;
      const seed = await seedRedis(raw, REDIS_APP_PREFIX, entries, tokens.mintedAt, log);
      log(`  seeded in ${seed.seconds.toFixed(1)} s (${seed.keys.toLocaleString('en-US')} keys)`);
      const aofRewriteSeconds = await rewriteAof(raw);
      log(`  AOF rewritten in ${aofRewriteSeconds.toFixed(1)} s`);
      const usage = await memoryUsage(raw, REDIS_APP_PREFIX, entries);
      const store = new (await loadRedisStore())({
        client: seededRedis.client,
        prefix: REDIS_APP_PREFIX,
        logger: { warn: log },
      });
      const checkedUsers = await checkSeeded(store, entries, tokens.mintedAt);
      log(
        `  ${checkedUsers} seeded users read through RedisRevocationStore as seeded (watermark, revoked session, device list, feed)`,
      );
      const emptyUsedMemory = await infoNumber(emptyRedis.client as RawRedis, 'memory', 'used_memory');
      const seededPid = scaleServers.seeded.process.pid as number;
      await waitForIdle(seededPid, 15);
      redisScale = { seed, aofRewriteSeconds, usage, checkedUsers, emptyUsedMemory, empty: [], seeded: [] };
      for (let r = 0; r < settings.repeat; r++) {
        const runEmpty = async () =>
          redisScale?.empty.push(
            await measure(
              redisScaleApps.empty,
              top,
              'revocable-redis empty',
              { pids: { app: redisScaleApps.empty.pid, db: scaleServers.empty.process.pid as number } },
              { countMongo: false },
            ),
          );
        const runSeeded = async () =>
          redisScale?.seeded.push(
            await measure(
              redisScaleApps.seeded,
              top,
              'revocable-redis seeded',
              { pids: { app: redisScaleApps.seeded.pid, db: seededPid } },
              { countMongo: false },
            ),
          );
        if (r % 2 === 0) {
          await runEmpty();
          await runSeeded();
        } else {
          await runSeeded();
          await runEmpty();
        }
      }
    } finally {
      seededRedis.close();
      emptyRedis.close();
    }
    await stopApp(redisScaleApps.empty);
    await stopApp(redisScaleApps.seeded);
    for (const server of Object.values(scaleServers)) {
      await server.stop();
      extraRedisServers.delete(server);
    }
  }

  // The copy at scale: revocable-redis-cached on a redis-server whose feed holds COPY_SCALE_ENTRIES revocations
  // (users outside the load) and on an empty one: how long a new instance takes to load them, its memory, the
  // req/s of both alternately at the top level, then the cross-instance delay under a steady logout rate.
  let copyScale: ReportInput['copyScale'];
  if (copyServers !== undefined && copyApps !== undefined) {
    const half = Math.floor(COPY_SCALE_ENTRIES / 2);
    log(
      `Copy scale: seeding ${half.toLocaleString('en-US')} users' watermarks and ${half.toLocaleString('en-US')} revoked sessions (users from user-${COPY_FIRST_USER}, none of the load's) with their ${(2 * half).toLocaleString('en-US')} feed entries...`,
    );
    const seededRedis = await connectBenchRedis(copyServers.seeded.url);
    const emptyRedis = await connectBenchRedis(copyServers.empty.url);
    const started: AppHandle[] = [];
    try {
      const raw = seededRedis.client as RawRedis;
      const emptyRaw = emptyRedis.client as RawRedis;
      const seed = await seedRedis(raw, REDIS_APP_PREFIX, half, tokens.mintedAt, log, {
        firstUser: COPY_FIRST_USER,
        kinds: ['watermarks', 'revoked_sessions', 'feed_entries'],
      });
      // The feed began before its revocations (and before the tokens in rotation, plus the copy's margin, so
      // that the copy may answer for them), on both servers.
      const feedStart = seedTimes(tokens.mintedAt).watermarkAt - 60_000;
      await setFeedStart(raw, REDIS_APP_PREFIX, feedStart);
      await setFeedStart(emptyRaw, REDIS_APP_PREFIX, feedStart);
      log(`  seeded in ${seed.seconds.toFixed(1)} s (${seed.keys.toLocaleString('en-US')} keys)`);
      const aofRewriteSeconds = await rewriteAof(raw);
      const store = new (await loadRedisStore())({
        client: seededRedis.client,
        prefix: REDIS_APP_PREFIX,
        logger: { warn: log },
      });
      const checkedUsers = await checkSeeded(store, half, tokens.mintedAt, {
        firstUser: COPY_FIRST_USER,
        registry: false,
      });
      // One whole read of the feed as one call, as the copy's first read asks (for the report: what it costs here).
      const t0 = performance.now();
      const whole = await store.readFeed(null, WHOLE_READ_LIMIT);
      const wholeFeedRead = { ms: performance.now() - t0, changes: whole.changes.length };
      log(
        `  AOF rewritten in ${aofRewriteSeconds.toFixed(1)} s; ${checkedUsers} seeded users read back as seeded; a whole feed read from this process: ${whole.changes.length.toLocaleString('en-US')} changes in ${wholeFeedRead.ms.toFixed(0)} ms`,
      );
      await waitForIdle(copyServers.seeded.process.pid as number, 15);

      // A new instance, one at a time: from `createSessionAuth` to `auth.ready`, then to its first check
      // answered from the copy; then its heap (after a full GC) and RSS.
      const loadInstance = async (label: CopyInstanceLoad['label'], app: DeferredApp, on: RawRedis) => {
        const handle = await startDeferredApp(app);
        started.push(handle);
        const inUse = await waitForCopyInUse(handle.url, on, tokens.cookies, COPY_WAIT_SECONDS);
        const memory = await memorySample(handle);
        const load: CopyInstanceLoad = {
          label,
          startup: handle.startup,
          copyInUseAtMs: inUse.atMs,
          polls: inUse.polls,
          pollsRefused: inUse.refused,
          waitedSeconds: inUse.waitedSeconds,
          memory,
        };
        const from = handle.startup?.instanceStartedAtMs;
        log(
          `  ${label} instance: auth.ready after ${from === undefined ? 'n/a' : (handle.startup?.readyAtMs ?? 0) - from} ms, first check answered from the copy ${inUse.atMs === undefined || from === undefined ? `not within ${COPY_WAIT_SECONDS} s` : `after ${inUse.atMs - from} ms`} (${inUse.polls} requests, ${inUse.refused} refused); heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MB${memory.afterGc ? ' after a full GC' : ''} + array buffers ${(memory.arrayBuffers / 2 ** 20).toFixed(1)} MB, RSS ${(memory.rss / 2 ** 20).toFixed(1)} MB`,
        );
        return { handle, load };
      };
      const empty = await loadInstance('empty', copyApps.empty, emptyRaw);
      const seeded = await loadInstance('seeded', copyApps.seeded, raw);

      const runs = { empty: [] as LoadResult[], seeded: [] as LoadResult[] };
      const emptyPid = copyServers.empty.process.pid as number;
      const seededPid = copyServers.seeded.process.pid as number;
      for (let r = 0; r < settings.repeat; r++) {
        const runEmpty = async () =>
          runs.empty.push(
            await measure(
              empty.handle,
              top,
              'revocable-redis-cached empty',
              { pids: { app: empty.handle.pid, db: emptyPid } },
              { countMongo: false, redis: emptyRaw },
            ),
          );
        const runSeeded = async () =>
          runs.seeded.push(
            await measure(
              seeded.handle,
              top,
              'revocable-redis-cached seeded',
              { pids: { app: seeded.handle.pid, db: seededPid } },
              { countMongo: false, redis: raw },
            ),
          );
        if (r % 2 === 0) {
          await runEmpty();
          await runSeeded();
        } else {
          await runSeeded();
          await runEmpty();
        }
      }
      const afterRun = { empty: await memorySample(empty.handle), seeded: await memorySample(seeded.handle) };
      await stopApp(empty.handle);

      // Cross-instance: A (the seeded instance) and B (a second one on the same server, loaded now); logouts
      // through A at a steady rate, each polled on B. The allowance is cached-correctness's (report.ts): the delay
      // plus one read (here an incremental feed read's median wall time, measured now from this process) plus
      // 5 ms for an HTTP request.
      const second = await loadInstance('second', copyApps.second, raw);
      const incrementalFeedReadMs = await medianWallMs(20, () =>
        store.readFeed(new Date(Date.now() - CHANGE_OVERLAP_MS), 2_000_000),
      );
      const count = Math.max(2, Math.round(COPY_LOGOUT_RATE * settings.durationSeconds));
      const victimTokens = await mintTokens(secret, false, 2 * count, (i) => `victim-${i % count}`);
      const victims: Victim[] = Array.from({ length: count }, (_, k) => {
        const cookie = victimTokens.cookies[k] as string;
        return k % 2 === 0
          ? { kind: 'logout', cookie, probe: cookie }
          : { kind: 'logout-all', cookie, probe: victimTokens.cookies[k + count] as string };
      });
      log(
        `  cross-instance: ${count} logouts through A at ${COPY_LOGOUT_RATE}/s (alternately one device and everywhere), each polled on B; an incremental feed read takes ${incrementalFeedReadMs.toFixed(1)} ms`,
      );
      const crossInstance: RateCheckResult = await checkCachedUnderLogoutRate(
        seeded.handle.url,
        second.handle.url,
        victims,
        COPY_LOGOUT_RATE,
      );
      const delays = crossInstance.watches
        .map((w) => w.firstRefusedAfterMs)
        .filter((d): d is number => d !== undefined)
        .sort((a, b) => a - b);
      log(
        `  cross-instance: ${crossInstance.watches.length} logouts at ${crossInstance.achievedPerSecond.toFixed(1)}/s; B's first refusal after A's response: p50 ${delays[Math.floor(delays.length / 2)]?.toFixed(1) ?? 'n/a'} ms, max ${delays.at(-1)?.toFixed(1) ?? 'n/a'} ms (${crossInstance.watches.length - delays.length} never refused); A accepted ${crossInstance.watches.reduce((n, w) => n + w.sameInstanceAccepted, 0)} of ${crossInstance.watches.reduce((n, w) => n + w.sameInstanceSent, 0)} after its own logouts`,
      );
      copyScale = {
        entries: 2 * half,
        watermarks: half,
        revokedSessions: half,
        firstUser: COPY_FIRST_USER,
        maxRevocationDelayMs: MAX_REVOCATION_DELAY_MS,
        seed,
        aofRewriteSeconds,
        checkedUsers,
        wholeFeedRead,
        incrementalFeedReadMs,
        allowanceMs: MAX_REVOCATION_DELAY_MS + incrementalFeedReadMs + 5,
        waitSeconds: COPY_WAIT_SECONDS,
        instances: [empty.load, seeded.load, second.load],
        afterRun,
        empty: runs.empty,
        seeded: runs.seeded,
        crossInstance,
      };
    } finally {
      seededRedis.close();
      emptyRedis.close();
      for (const app of started) await stopApp(app);
      for (const app of Object.values(copyApps)) await stopApp(app);
    }
    for (const server of Object.values(copyServers)) {
      await server.stop();
      extraRedisServers.delete(server);
    }
  }

  // Redis Cluster: revocable-redis on one Redis and on the cluster, alternately, at every connection level.
  let redisCluster: ReportInput['redisCluster'];
  if (redisClusterApps !== undefined && benchCluster !== undefined) {
    const singlePid = redisServer?.process.pid;
    const clusterPids = benchCluster.pids;
    redisCluster = { spec: benchCluster.cluster.spec, levels: [] };
    for (const connections of settings.connections) {
      const level = { connections, single: [] as LoadResult[], cluster: [] as LoadResult[] };
      redisCluster.levels.push(level);
      for (let r = 0; r < settings.repeat; r++) {
        const runSingle = async () =>
          level.single.push(
            await measure(
              redisClusterApps.single,
              connections,
              'revocable-redis one node',
              { pids: { app: redisClusterApps.single.pid, ...(singlePid === undefined ? {} : { db: singlePid }) } },
              { countMongo: false },
            ),
          );
        const runCluster = async () =>
          level.cluster.push(
            await measure(
              redisClusterApps.cluster,
              connections,
              'revocable-redis cluster',
              {
                pids: { app: redisClusterApps.cluster.pid, ...(clusterPids === undefined ? {} : { db: clusterPids }) },
              },
              { countMongo: false },
            ),
          );
        if (r % 2 === 0) {
          await runSingle();
          await runCluster();
        } else {
          await runCluster();
          await runSingle();
        }
      }
    }
    await stopApp(redisClusterApps.single);
    await stopApp(redisClusterApps.cluster);
  }

  // Logouts: the store's revokeSession / revokeUser from `top` callers, for one user and for many, on one Redis
  // and on the cluster (there once per `feedSlots` of BENCH_FEED_SLOTS); every cell with a prefix of its own (an
  // empty feed), the order reversed at each pass.
  let redisLogouts: ReportInput['redisLogouts'];
  if (redisRuns.logouts && benchCluster !== undefined) {
    const { cluster } = benchCluster;
    const single = new URL(redisUrl);
    const singleNode = { host: single.hostname, port: Number(single.port || 6379) };
    // The user of the single-user cells on the cluster: one whose slot is on another primary than the feed's,
    // so that a logout's two writes go to two primaries as they do for most users.
    const feedKey = feedKeys(REDIS_APP_PREFIX).at;
    const feedPrimary = await cluster.primaryOf(feedKey);
    const address = (n: ClusterNode) => `${n.host}:${n.port}`;
    let clusterSub = 'one-user-0';
    let userPrimary = await cluster.primaryOf(`${REDIS_APP_PREFIX}{${clusterSub}}:u`);
    for (let k = 1; k < 50 && address(userPrimary) === address(feedPrimary); k++) {
      clusterSub = `one-user-${k}`;
      userPrimary = await cluster.primaryOf(`${REDIS_APP_PREFIX}{${clusterSub}}:u`);
    }
    // The primary of each part of the feed (the slot is the hash tag's: the same for every cell's prefix), for
    // each feedSlots of the cluster's cells.
    const feedParts: Record<string, string[]> = {};
    for (const slots of settings.feedSlots) {
      const parts: string[] = [];
      for (let part = 0; part < slots; part++)
        parts.push(address(await cluster.primaryOf(feedKeys(REDIS_APP_PREFIX, part).at)));
      feedParts[String(slots)] = parts;
    }
    const cells: {
      target: 'one Redis' | 'cluster';
      users: 'one' | 'many';
      call: LogoutSpec['call'];
      feedSlots: number;
      results: LogoutResult[];
    }[] = [];
    for (const target of ['one Redis', 'cluster'] as const)
      for (const feedSlots of target === 'cluster' ? settings.feedSlots : [1])
        for (const call of ['revokeSession', 'revokeUser'] as const)
          for (const users of ['one', 'many'] as const) cells.push({ target, users, call, feedSlots, results: [] });
    const driver = new LogoutProcess();
    await driver.ready();
    log(
      `Logouts: ${top} concurrent callers on the store, ${settings.durationSeconds} s per cell after ${settings.warmupSeconds} s of warm-up; the cluster's feed is on ${address(feedPrimary)}, the single user's slot (${clusterSub}) on ${address(userPrimary)}.`,
    );
    for (const [slots, parts] of Object.entries(feedParts))
      if (slots !== '1')
        log(
          `  feedSlots ${slots}: parts on ${parts.map((primary, part) => `${part}:${primary}`).join(' ')}; ${clusterSub}'s changes in part ${feedPartOf(clusterSub, Number(slots))}.`,
        );
    for (let r = 0; r < settings.repeat; r++) {
      const order = r % 2 === 0 ? cells : [...cells].reverse();
      for (const cell of order) {
        const onCluster = cell.target === 'cluster';
        const result = await driver.run({
          url: onCluster ? '' : redisUrl,
          cluster: onCluster ? cluster.spec : '',
          prefix: `bench-logouts-${r}-${cells.indexOf(cell)}:`,
          feedSlots: cell.feedSlots,
          call: cell.call,
          users: cell.users,
          sub: onCluster ? clusterSub : 'one-user-0',
          concurrency: top,
          warmupSeconds: settings.warmupSeconds,
          durationSeconds: settings.durationSeconds,
          watch: onCluster ? cluster.nodes : [singleNode],
          // Servers started here are emptied after each cell; yours only lose the cell's keys.
          cleanup: (onCluster ? ownCluster !== undefined : redisServer !== undefined) ? 'flush' : 'unlink',
        });
        cell.results.push(result);
        const busiest = [...result.nodes].sort((a, b) => b.cpuSeconds - a.cpuSeconds)[0];
        const perPrimaryUs = result.nodes
          .filter((node) => node.role === 'primary')
          .map((node) => ((node.cpuSeconds / result.ops) * 1e6).toFixed(1))
          .join(' / ');
        log(
          `  ${cell.target.padEnd(9)} ${cell.call.padEnd(13)} ${cell.users === 'one' ? 'one user ' : 'many users'}  feedSlots ${String(cell.feedSlots).padEnd(2)}  ${result.rate.toFixed(0).padStart(6)} /s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}  driver ${(result.driverCpuSeconds / result.seconds).toFixed(2)} cores  busiest node ${busiest?.address ?? '?'} ${busiest === undefined ? '?' : (busiest.cpuSeconds / result.seconds).toFixed(2)} cores  primaries' µs/logout ${perPrimaryUs}${result.firstError === undefined ? '' : `  first error: ${result.firstError}`}`,
        );
      }
    }
    await driver.exit();
    redisLogouts = {
      concurrency: top,
      feedPrimary: address(feedPrimary),
      userPrimary: address(userPrimary),
      clusterSub,
      feedParts,
      clusterSubParts: Object.fromEntries(settings.feedSlots.map((slots) => [slots, feedPartOf(clusterSub, slots)])),
      cells,
    };
  }

  // Bounded-delay correctness: logouts through instance A, probed on A and on B (maxRevocationDelay 100 ms).
  let cachedCheck: CachedCheckResult | undefined;
  if (cachedApps !== undefined) {
    const [a, b] = cachedApps as [AppHandle, AppHandle];
    const victims: Victim[] = [];
    for (let k = 0; k < 3; k++) {
      // Tokens of users the other runs leave alone (index 10 + k and its second device; 20 + k alone).
      const everywhere = 10 + k;
      victims.push({
        kind: 'logout-all',
        cookie: tokens.cookies[everywhere] as string,
        probe: tokens.cookies[everywhere + settings.users] as string,
      });
      const one = tokens.cookies[20 + k] as string;
      victims.push({ kind: 'logout', cookie: one, probe: one });
    }
    cachedCheck = await checkCachedInstances(a.url, b.url, victims);
    log(
      `  cached mode, two instances: same instance accepted ${cachedCheck.sameInstanceAccepted} of ${cachedCheck.sameInstanceSent} after its logouts; the other instance's last acceptance ${cachedCheck.crossMaxDelayMs.toFixed(1)} ms after a logout (each: ${cachedCheck.crossDelaysMs.map((d) => d.toFixed(1)).join(', ')})`,
    );
    for (const app of cachedApps) await stopApp(app);
  }

  // Memory and correctness: a fresh revocable-mongo app under 64 connections for 60 s (scaled down with
  // BENCH_DURATION); halfway, one user logs out everywhere and another logs out one device, over HTTP.
  let memory: ReportInput['memory'];
  if (memoryApp !== undefined) {
    // Its own (empty) database, so that the logouts it makes do not touch the other runs; no load served yet.
    const fresh = memoryApp;
    const everywhere = 1; // user-1: token 1 and token 1 + users
    const oneDevice = 2; // token 2 only; user-2's other token stays valid
    const checker: CheckerSpec = {
      atSeconds: settings.memorySeconds / 2,
      logoutAll: {
        cookie: tokens.cookies[everywhere] as string,
        otherCookies: [tokens.cookies[everywhere + settings.users] as string],
        tokenIndexes: [everywhere, everywhere + settings.users],
      },
      logoutOne: { cookie: tokens.cookies[oneDevice] as string, tokenIndexes: [oneDevice] },
    };
    log(
      `Memory and correctness run: ${settings.memorySeconds} s at ${top} connections, logouts at ${checker.atSeconds} s`,
    );
    let earlyHeap: Promise<{ heapUsed: number; afterGc: boolean }> | undefined;
    const heapTimer = setTimeout(() => (earlyHeap = appHeap(fresh)), settings.memoryEarlySeconds * 1000);
    const result = await measure(fresh, top, 'revocable-mongo fresh', {
      warmupSeconds: 0,
      durationSeconds: settings.memorySeconds,
      rssEverySeconds: 1,
      checker,
    });
    clearTimeout(heapTimer);
    const heapEarly = await earlyHeap;
    const heapLate = await appHeap(fresh);
    if (heapEarly !== undefined) {
      log(
        `  app heap ${heapEarly.afterGc ? 'after a full GC' : '(no --expose-gc: includes garbage)'}: ${(heapEarly.heapUsed / 2 ** 20).toFixed(1)} MB at ${settings.memoryEarlySeconds} s, ${(heapLate.heapUsed / 2 ** 20).toFixed(1)} MB at the end`,
      );
    }
    await stopApp(fresh);
    memory = {
      result,
      seconds: settings.memorySeconds,
      earlySeconds: settings.memoryEarlySeconds,
      ...(heapEarly === undefined
        ? {}
        : {
            heapMb: {
              early: heapEarly.heapUsed / 2 ** 20,
              late: heapLate.heapUsed / 2 ** 20,
              afterGc: heapEarly.afterGc,
            },
          }),
    };
  }

  // Scale, last because on a server whose lookups scan their collection the seeded run leaves the database
  // busy: the same app against the empty database, then against 200,000 documents, at the top connection level.
  let scale: { seedSeconds: number; empty: LoadResult[]; seeded: LoadResult[] } | undefined;
  const mongoApp = apps.get('revocable-mongo');
  if (seededApp !== undefined && mongoApp !== undefined) {
    log(`Scale test: seeding ${SCALE_DOCS} users with lastLogoutAt and ${SCALE_DOCS} revoked sessions...`);
    const seedSeconds = await seedScale(client, tokens);
    log(`  seeded in ${seedSeconds.toFixed(1)} s`);
    if (dbPid !== undefined) await waitForIdle(dbPid, 15); // let the server finish writing before measuring
    const empty = [await measure(mongoApp, top, 'revocable-mongo empty')];
    const seeded = [await measure(seededApp, top, 'revocable-mongo 200k')];
    await stopApp(seededApp);
    scale = { seedSeconds, empty, seeded };
  }

  await load.exit();
  mainRedis?.close();
  for (const app of apps.values()) await stopApp(app);
  await cleanup(); // drops this run's databases and closes the client

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const report = buildReport({
    settings,
    cores,
    cpuModel: cpu,
    memoryGb: totalmem() / 2 ** 30,
    nodeVersion: process.version,
    dbLabel,
    dbCounted: dbPid !== undefined,
    sessionSeedSeconds,
    runs,
    scale,
    memory,
    roundTrips,
    memoryScale,
    cachedCheck,
    copyScale,
    redisScale,
    redisCluster,
    redisLogouts,
    elapsedSeconds: (performance.now() - started) / 1000,
  });
  process.stdout.write(report.markdown);
  if (settings.jsonPath !== undefined) {
    await mkdir(dirname(settings.jsonPath), { recursive: true });
    await writeFile(settings.jsonPath, `${JSON.stringify(report.json, null, 2)}\n`);
    log(`Wrote ${settings.jsonPath}`);
  }
}

try {
  await main();
} catch (error) {
  await cleanup();
  throw error;
}
