// One Express app per scenario, each serving the same protected route: GET /me answers `{ sub }`.
import { createSecretKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import MongoStore from 'connect-mongo';
import cookieParser from 'cookie-parser';
import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import { expressjwt } from 'express-jwt';
import session from 'express-session';
import { MongoClient, type Document } from 'mongodb';
import type { createClient, createCluster } from 'redis';
import { z } from 'zod';
import type * as Lib from '../../lib/index.js';
import type * as MongoEntry from '../../lib/mongodb.js';
import type * as RedisEntry from '../../lib/redis.js';
import { parseNodes } from '../support/redis-cluster.js';
import { COOKIE_NAME, MAX_REVOCATION_DELAY_MS, type AppStartup, type Scenario } from './shared.js';

/**
 * The package as users get it: the built output, through its own name (the exports map), so the benchmark
 * measures dist/ and not TypeScript compiled on the fly. The name is a variable so that type checking does
 * not depend on a build; the types come from the sources.
 */
const PACKAGE_NAME = 'express-revocable-jwt';

async function loadBuilt<T>(specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    throw new Error('cannot load the built package: run `npm run build` first (`npm run bench` does)', {
      cause: error,
    });
  }
}

export const loadLibrary = () => loadBuilt<typeof Lib>(PACKAGE_NAME);
export const loadMongoStore = async () =>
  (await loadBuilt<typeof MongoEntry>(`${PACKAGE_NAME}/mongodb`)).MongoRevocationStore;

export const loadRedisStore = async () =>
  (await loadBuilt<typeof RedisEntry>(`${PACKAGE_NAME}/redis`)).RedisRevocationStore;

export interface BuiltApp {
  app: Express;
  /** Counters an app exposes for the report (e.g. coalesced lookups); empty for most. */
  stats(): Record<string, number>;
  /** Turns on or off what the app does by itself while it is measured (run.ts: around each measured run). */
  background?(on: boolean): Promise<void>;
  /** When the revocation instance began and settled (the copy-scale app). */
  startup?: AppStartup;
  close(): Promise<void>;
}

export interface AppConfig {
  secret: string;
  mongoUri: string;
  dbName: string;
  /** Redis of the revocable-redis scenario. */
  redisUrl: string;
  /** When not empty: the revocable-redis app runs on this Redis Cluster (`host:port,...`) instead of `redisUrl`. */
  redisClusterNodes: string;
  /** Users of the tokens in rotation (`user-0` ... `user-(users - 1)`): whose claims the refresh scenario changes. */
  users: number;
  /** The share of them whose claims the refresh scenario changes each second. */
  refreshSharePerSecond: number;
}

const quietLogger = {
  warned: new Set<string>(),
  warn(message: string) {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    process.stderr.write(`[bench app] ${message}\n`);
  },
};

const unauthorized: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
  res.status(error.status ?? 500).json({ error: 'unauthorized' });
};

/** express-jwt puts the verified payload on `req.auth`. */
function subOf(req: Request): unknown {
  return ((req as { auth?: unknown }).auth as { sub?: unknown } | undefined)?.sub;
}

function noStats(): Record<string, number> {
  return {};
}

async function connect(config: AppConfig): Promise<MongoClient> {
  // Driver defaults (pool of up to 100 connections), as an app would have them.
  const client = new MongoClient(config.mongoUri);
  await client.connect();
  return client;
}

function hello(): BuiltApp {
  const app = express();
  app.get('/me', (_req, res) => {
    res.json({ sub: 'anonymous' });
  });
  return { app, stats: noStats, close: () => Promise.resolve() };
}

/** express-jwt configured as its README shows, reading the token from the cookie; no revocation at all. */
function stateless(config: AppConfig, keyObject: boolean): BuiltApp {
  const app = express();
  app.use(cookieParser());
  const secret = keyObject ? createSecretKey(Buffer.from(config.secret, 'utf8')) : config.secret;
  app.get(
    '/me',
    expressjwt({
      secret,
      algorithms: ['HS256'],
      getToken: (req) => (req.cookies as Record<string, string | undefined>)[COOKIE_NAME],
    }),
    (req, res) => {
      res.json({ sub: subOf(req) });
    },
  );
  app.use(unauthorized);
  return { app, stats: noStats, close: () => Promise.resolve() };
}

/** The README's quick start: authenticate on every route, requireAuth on the protected one. */
function revocableApp(auth: RevocableRoutes): Express {
  const app = express();
  mountRevocable(app, auth);
  return app;
}

type RevocableRoutes = Pick<Lib.SessionAuth, 'authenticate' | 'requireAuth' | 'logout' | 'logoutAll'>;

function mountRevocable(app: Express, auth: RevocableRoutes): void {
  app.use(auth.authenticate);
  app.get('/me', auth.requireAuth, (req, res) => {
    res.json({ sub: (req as { auth?: { sub: string } }).auth?.sub });
  });
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);
}

async function revocableMongo(
  config: AppConfig,
  variant: 'default' | 'two-reads' | 'coalesced' | 'cached' | 'renewing',
): Promise<BuiltApp> {
  const lib = await loadLibrary();
  const client = await connect(config);
  const real = new (await loadMongoStore())({ client, dbName: config.dbName, logger: quietLogger });
  const counters: Record<string, number> = {};
  let store: Lib.RevocationStore = real;
  if (variant === 'two-reads') store = twoReadsStore(real, client, config.dbName);
  if (variant === 'coalesced') store = coalescingStore(real, counters);
  const auth = lib.createSessionAuth({
    secret: config.secret,
    store,
    cookie: { secure: false },
    expiresIn: '1h',
    logger: quietLogger,
    // The opt-in bounded delay: checks may be answered from state read at most 100 ms ago.
    ...(variant === 'cached' ? { maxRevocationDelay: MAX_REVOCATION_DELAY_MS } : {}),
    // Renewal at its most expensive: every token is older than `renewAfter` (minted before the run) and the load
    // generator never adopts the renewed cookie, so every request re-signs, sets a cookie and touches the
    // device registry. A browser adopts it: then a session renews (and writes) once per `renewAfter`.
    ...(variant === 'renewing' ? { renewAfter: 1 } : {}),
  });
  await auth.ready;
  return {
    app: revocableApp(auth),
    stats: () => ({ ...counters }),
    close: async () => {
      await auth.close();
      await client.close();
    },
  };
}

/** The claims of the claims scenarios; the benchmark's tokens of those scenarios are signed with `reader`. */
export const BenchClaims = z.object({ role: z.enum(['reader', 'editor']) });

/**
 * `revocable-mongo` (default settings) plus a `claims` schema and `loadClaims`, which answers from memory (the
 * role each user has now) so that the figures are the package's own cost: an app's `loadClaims` also reads its
 * user, once per `loadClaims` call counted here.
 * - `claims`: no claims ever change: tokens that are up to date must cost nothing (no `loadClaims`, no extra read).
 * - `claims-refresh`: while it is measured (`background(true)`), `refreshClaims` for 1 % of the users each
 *   second (`refreshSharePerSecond`), spread over ticks of 100 ms, after flipping their role (as an app stores the
 *   change first); the users in a shuffled order, all of them before any again, so that the changes do not
 *   follow the load generator's rotation (user `i % users` for token `i`).
 *   Counts `loadClaims` calls, requests (every request, before authentication), `refreshClaims` calls and failures,
 *   and the time the timer ran (`refreshingMs`).
 */
async function revocableMongoClaims(config: AppConfig, refreshing: boolean): Promise<BuiltApp> {
  const lib = await loadLibrary();
  const client = await connect(config);
  const store = new (await loadMongoStore())({ client, dbName: config.dbName, logger: quietLogger });
  const counters: Record<string, number> = refreshing
    ? { requests: 0, loadClaims: 0, refreshes: 0, refreshErrors: 0, refreshingMs: 0 }
    : { loadClaims: 0 };
  const roles = new Map<string, z.infer<typeof BenchClaims>['role']>();
  const auth = lib.createSessionAuth({
    secret: config.secret,
    store,
    cookie: { secure: false },
    expiresIn: '1h',
    logger: quietLogger,
    claims: BenchClaims,
    // Asynchronous, as an app's read of its user is.
    loadClaims: (sub) => {
      counters.loadClaims = (counters.loadClaims ?? 0) + 1;
      return Promise.resolve({ role: roles.get(sub) ?? 'reader' });
    },
  });
  await auth.ready;
  const app = express();
  if (refreshing) {
    app.use((_req, _res, next) => {
      counters.requests = (counters.requests ?? 0) + 1;
      next();
    });
  }
  mountRevocable(app, auth);

  const order = Array.from({ length: config.users }, (_, i) => `user-${i}`);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  let timer: NodeJS.Timeout | undefined;
  let cursor = 0;
  let owed = 0;
  let last = 0;
  let started = 0;
  const inFlight = new Set<Promise<void>>();
  const tick = () => {
    const now = performance.now();
    owed += ((now - last) / 1000) * config.users * config.refreshSharePerSecond;
    last = now;
    for (; owed >= 1; owed--) {
      const sub = order[cursor] as string;
      cursor = cursor + 1 === order.length ? 0 : cursor + 1;
      roles.set(sub, roles.get(sub) === 'editor' ? 'reader' : 'editor');
      const call: Promise<void> = auth.refreshClaims(sub).then(
        () => void (counters.refreshes = (counters.refreshes ?? 0) + 1),
        (error: unknown) => {
          counters.refreshErrors = (counters.refreshErrors ?? 0) + 1;
          quietLogger.warn(`refreshClaims failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
  };
  const background = async (on: boolean) => {
    if (!refreshing) return;
    if (on && timer === undefined) {
      if (!(config.users > 0)) throw new Error('revocable-mongo-claims-refresh needs BENCH_USERS');
      started = last = performance.now();
      owed = 0;
      timer = setInterval(tick, 100);
    } else if (!on && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
      // Up to the last tick: the changes made are those owed until then.
      counters.refreshingMs = (counters.refreshingMs ?? 0) + Math.round(last - started);
      await Promise.all(inFlight);
    }
  };
  return {
    app,
    stats: () => ({ ...counters }),
    background,
    close: async () => {
      await background(false);
      await auth.close();
      await client.close();
    },
  };
}

/** A connected node-redis client for the benchmark's Redis runs, and how to let it go. */
export interface BenchRedisClient {
  client: ReturnType<typeof createClient> | ReturnType<typeof createCluster>;
  close(): void;
}

/**
 * A node-redis client created as the README recommends (no offline queue): a single-node client on `url`, or,
 * when `clusterNodes` (`host:port,...`) is not empty, a `createCluster` client seeded with those nodes (one
 * connection to each primary; reads go to the primaries too, as the store asks).
 */
export async function connectBenchRedis(url: string, clusterNodes = ''): Promise<BenchRedisClient> {
  const redis = await import('redis');
  const onError = (error: Error) => quietLogger.warn(`redis: ${error.message}`);
  if (clusterNodes !== '') {
    const cluster = redis.createCluster({
      rootNodes: parseNodes(clusterNodes).map((n) => ({ url: `redis://${n.host}:${n.port}` })),
      defaults: { disableOfflineQueue: true },
    });
    cluster.on('error', onError);
    await cluster.connect();
    return { client: cluster, close: () => cluster.destroy() };
  }
  const client = redis.createClient({ url, disableOfflineQueue: true });
  client.on('error', onError);
  await client.connect();
  return { client, close: () => client.destroy() };
}

/**
 * The same app on RedisRevocationStore, with a node-redis client created as the README recommends: on one Redis,
 * or on a Redis Cluster (BENCH_REDIS_CLUSTER; the store detects the cluster client itself). `cached`
 * (`revocable-redis-cached`): with `maxRevocationDelay` (100 ms; `revocationCopyLimit` left at its default), timed
 * from just before `createSessionAuth` (the client already connected) to `auth.ready`.
 */
async function revocableRedis(config: AppConfig, variant: 'exact' | 'cached'): Promise<BuiltApp> {
  if (config.redisUrl === '' && config.redisClusterNodes === '')
    throw new Error('revocable-redis needs BENCH_REDIS_URL or BENCH_REDIS_CLUSTER (run.ts starts a redis-server)');
  const lib = await loadLibrary();
  const redis = await connectBenchRedis(config.redisUrl, config.redisClusterNodes);
  const RedisRevocationStore = await loadRedisStore();
  const instanceStartedAtMs = Date.now();
  const store = new RedisRevocationStore({ client: redis.client, prefix: 'bench:', logger: quietLogger });
  const auth = lib.createSessionAuth({
    secret: config.secret,
    store,
    cookie: { secure: false },
    expiresIn: '1h',
    logger: quietLogger,
    ...(variant === 'cached' ? { maxRevocationDelay: MAX_REVOCATION_DELAY_MS } : {}),
  });
  await auth.ready;
  const readyAtMs = Date.now();
  return {
    app: revocableApp(auth),
    stats: noStats,
    startup: { instanceStartedAtMs, readyAtMs },
    close: async () => {
      await auth.close();
      redis.close();
    },
  };
}

/**
 * Loads what `scenario`'s app imports of the package (the built output) and its Redis client, without building
 * the app: a process started early holds its modules even if dist/ is rebuilt before it builds its app.
 */
export async function preloadApp(scenario: Scenario): Promise<void> {
  await loadLibrary();
  if (scenario.startsWith('revocable-redis')) {
    await loadRedisStore();
    await import('redis');
  } else if (scenario.includes('mongo')) {
    await loadMongoStore();
  }
}

/**
 * EXPERIMENT: the revocation check as two reads in parallel on every request (the user's watermark and the
 * device session's entry), i.e. without the store's "device logout after this token" shortcut. Same answers;
 * it measures what the second round trip costs.
 */
function twoReadsStore(real: Lib.RevocationStore, client: MongoClient, dbName: string): Lib.RevocationStore {
  const db = client.db(dbName);
  const users = db.collection<Document>('users', { readPreference: 'primary' });
  const sessions = db.collection<Document>('revoked_sessions', { readPreference: 'primary' });
  const projection = { _id: 0, lastLogoutAt: 1 };
  return {
    async getState(sub: string, sessionId: string) {
      const [user, session] = await Promise.all([
        users.findOne({ _id: sub as unknown as Document['_id'] }, { projection }),
        sessions.findOne(
          { _id: sessionId as unknown as Document['_id'], expiresAt: { $gt: new Date() } },
          { projection: { _id: 1 } },
        ),
      ]);
      const at: unknown = user?.lastLogoutAt;
      return { lastLogoutAt: at instanceof Date ? at : null, sessionRevoked: session !== null };
    },
    revokeUser: (sub, at, until) => real.revokeUser(sub, at, until),
    revokeSession: (sid, sub, expiresAt) => real.revokeSession(sid, sub, expiresAt),
  };
}

/**
 * EXPERIMENT: identical concurrent getState calls share one in-flight read. Counts how often that happens
 * (`joined`) and how often the same user (any session) already had a read in flight (`userInFlight`).
 */
function coalescingStore(real: Lib.RevocationStore, counters: Record<string, number>): Lib.RevocationStore {
  const inFlight = new Map<string, Promise<Lib.RevocationState>>();
  const usersInFlight = new Map<string, number>();
  counters.calls = 0;
  counters.joined = 0;
  counters.userInFlight = 0;
  return {
    getState(sub: string, sessionId: string, issuedAtMs: number) {
      counters.calls = (counters.calls ?? 0) + 1;
      const key = `${sub}\u0000${sessionId}`;
      const pending = inFlight.get(key);
      if (pending !== undefined) {
        counters.joined = (counters.joined ?? 0) + 1;
        return pending;
      }
      const active = usersInFlight.get(sub) ?? 0;
      if (active > 0) counters.userInFlight = (counters.userInFlight ?? 0) + 1;
      usersInFlight.set(sub, active + 1);
      const read = Promise.resolve(real.getState(sub, sessionId, issuedAtMs)).finally(() => {
        inFlight.delete(key);
        const left = (usersInFlight.get(sub) ?? 1) - 1;
        if (left === 0) usersInFlight.delete(sub);
        else usersInFlight.set(sub, left);
      });
      inFlight.set(key, read);
      return read;
    },
    revokeUser: (sub, at, until) => real.revokeUser(sub, at, until),
    revokeSession: (sid, sub, expiresAt) => real.revokeSession(sid, sub, expiresAt),
  };
}

async function revocableMemory(config: AppConfig): Promise<BuiltApp> {
  const lib = await loadLibrary();
  const seed = Number(process.env.BENCH_MEMORY_SEED ?? 0);
  // Room for the seeded users and sessions beside the default bound (a million entries in all).
  const store = new lib.MemoryRevocationStore(seed > 0 ? { maxEntries: 2 * seed + 1_000_000 } : {});
  seedMemoryStore(store, seed, Number(process.env.BENCH_SEED_AT_MS ?? 0));
  const auth = lib.createSessionAuth({
    secret: config.secret,
    store,
    cookie: { secure: false },
    expiresIn: '1h',
    logger: quietLogger,
  });
  await auth.ready;
  return { app: revocableApp(auth), stats: noStats, close: () => auth.close() };
}

/**
 * The memory-store scale run: `count` users with a logout-everywhere watermark (an hour before the tokens in
 * rotation were issued; the users in rotation are among them) and `count` revoked device sessions of those users.
 */
function seedMemoryStore(store: Lib.MemoryRevocationStore, count: number, atMs: number): void {
  if (!(count > 0)) return;
  const at = new Date(atMs - 3_600_000);
  const until = new Date(atMs + 7 * 86_400_000);
  const revokedUntil = new Date(atMs + 3_600_000);
  for (let i = 0; i < count; i++) {
    void store.revokeUser(`user-${i}`, at, until);
    void store.revokeSession(`seeded-${i.toString(36).padStart(8, '0')}-session`, `user-${i}`, revokedUntil);
  }
  process.stderr.write(`[bench app] memory store seeded with ${count} watermarks and ${count} revoked sessions\n`);
}

/**
 * express-session with connect-mongo, with the defaults users get: `resave: false`, `saveUninitialized:
 * false`, and no `touchAfter`, so every request reads the session and then touches it (an update).
 * `autoRemove: 'disabled'` because FerretDB v1 has no TTL indexes. POST /login?sub= starts a session.
 */
async function sessionMongo(config: AppConfig): Promise<BuiltApp> {
  const client = await connect(config);
  const app = express();
  app.use(
    session({
      secret: config.secret,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000, secure: false },
      store: MongoStore.create({ client, dbName: config.dbName, autoRemove: 'disabled' }),
    }),
  );
  type WithSession = Request & { session: { user?: string } };
  app.post('/login', (req, res) => {
    const sub = typeof req.query.sub === 'string' ? req.query.sub : '';
    (req as WithSession).session.user = sub;
    res.json({ sub });
  });
  app.get('/me', (req, res) => {
    const user = (req as WithSession).session.user;
    if (user === undefined) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    res.json({ sub: user });
  });
  // Store failures (e.g. a touch refused under write contention) are counted for the report and handled as
  // Express's default handler does (500, or the connection closed once headers are out), without the log.
  const counters = { storeErrors: 0 };
  const onStoreError: ErrorRequestHandler = (_error, req, res, _next) => {
    counters.storeErrors++;
    if (res.headersSent) req.socket.destroy();
    else res.status(500).json({ error: 'session store error' });
  };
  app.use(onStoreError);
  return { app, stats: () => ({ ...counters }), close: () => client.close() };
}

export async function buildApp(scenario: Scenario, config: AppConfig): Promise<BuiltApp> {
  switch (scenario) {
    case 'hello':
      return hello();
    case 'stateless':
      return stateless(config, false);
    case 'stateless-key':
      return stateless(config, true);
    case 'revocable-mongo':
      return revocableMongo(config, 'default');
    case 'revocable-mongo-cached':
      return revocableMongo(config, 'cached');
    case 'revocable-mongo-renewing':
      return revocableMongo(config, 'renewing');
    case 'revocable-mongo-claims':
      return revocableMongoClaims(config, false);
    case 'revocable-mongo-claims-refresh':
      return revocableMongoClaims(config, true);
    case 'revocable-redis':
      return revocableRedis(config, 'exact');
    case 'revocable-redis-cached':
      return revocableRedis(config, 'cached');
    case 'revocable-memory':
      return revocableMemory(config);
    case 'session-mongo':
      return sessionMongo(config);
    case 'exp-two-reads':
      return revocableMongo(config, 'two-reads');
    case 'exp-coalesced':
      return revocableMongo(config, 'coalesced');
  }
}
