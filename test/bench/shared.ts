// What the orchestrator, the app processes and the load process agree on: scenario names, messages, settings.

/** The scenarios of the comparison table, in the order they run at the first connection level. */
export const MAIN_SCENARIOS = [
  'hello',
  'stateless',
  'stateless-key',
  'revocable-mongo',
  'revocable-mongo-cached',
  'revocable-mongo-renewing',
  'revocable-mongo-claims',
  'revocable-mongo-claims-refresh',
  'revocable-redis',
  'revocable-memory',
  'session-mongo',
] as const;

/**
 * Investigation-only apps, run with BENCH_EXPERIMENTS=1, with their own store wrappers (not part of the package):
 * `exp-two-reads` reads the user and the device session on every request, without batching; `exp-coalesced`
 * shares one in-flight read between identical concurrent lookups. They measure what a change to lib/ would
 * gain or cost. (Micro-batching, measured here first, is now what MongoRevocationStore does by default.)
 */
export const EXPERIMENT_SCENARIOS = ['exp-two-reads', 'exp-coalesced'] as const;

/**
 * Apps of the extra runs only, never in the matrix: `revocable-redis-cached` is `revocable-redis` with
 * `maxRevocationDelay` (MAX_REVOCATION_DELAY_MS), the app of the `copy-scale` run, on redis-servers of its own
 * whose feed start it finds set before the tokens were issued.
 */
export const EXTRA_SCENARIOS = ['revocable-redis-cached'] as const;

/** The `maxRevocationDelay` of the bounded-delay apps (`revocable-mongo-cached`, `revocable-redis-cached`), ms. */
export const MAX_REVOCATION_DELAY_MS = 100;

/**
 * The claims scenarios: `revocable-mongo` plus a `claims` schema and `loadClaims`. `revocable-mongo-claims` never
 * changes any claims (up-to-date tokens must cost nothing: no `loadClaims` call, no extra read);
 * `revocable-mongo-claims-refresh` calls `refreshClaims` for 1 % of its users each second (BENCH_REFRESH_PERCENT)
 * while it is measured, on a database of its own, and its load clients adopt the re-issued cookies as a browser does.
 */
export const CLAIMS_SCENARIO = 'revocable-mongo-claims';
export const REFRESH_SCENARIO = 'revocable-mongo-claims-refresh';

export type MainScenario = (typeof MAIN_SCENARIOS)[number];
export type ExperimentScenario = (typeof EXPERIMENT_SCENARIOS)[number];
export type ExtraScenario = (typeof EXTRA_SCENARIOS)[number];
export type Scenario = MainScenario | ExperimentScenario | ExtraScenario;

export function isScenario(value: string): value is Scenario {
  return [MAIN_SCENARIOS, EXPERIMENT_SCENARIOS, EXTRA_SCENARIOS].some((list) =>
    (list as readonly string[]).includes(value),
  );
}

/** Cookie name used by every app: the JWT apps and express-session alike. */
export const COOKIE_NAME = 'session';

/** Environment handed to each app process. */
export interface AppEnv {
  BENCH_SECRET: string;
  BENCH_MONGODB_URI: string;
  BENCH_DB_NAME: string;
  /** Redis for the revocable-redis scenario (empty when that scenario does not run). */
  BENCH_REDIS_URL: string;
  /**
   * revocable-redis only: a Redis Cluster's seed nodes, `host:port,...` (the form of REDIS_CLUSTER_NODES); when
   * set, the app's client is a node-redis `createCluster` client on them instead of BENCH_REDIS_URL.
   */
  BENCH_REDIS_CLUSTER?: string;
  /** revocable-memory only: seed the store with this many users with a watermark and as many revoked sessions. */
  BENCH_MEMORY_SEED?: string;
  /** The seeded watermark and revocation time (ms): before the tokens in rotation were issued. */
  BENCH_SEED_AT_MS?: string;
  /** revocable-mongo-claims-refresh only: its users are `user-0` ... `user-(BENCH_USERS - 1)`. */
  BENCH_USERS?: string;
  /** revocable-mongo-claims-refresh only: the share of them whose claims change each second (0.01: 1 %). */
  BENCH_REFRESH_SHARE?: string;
  /**
   * `1`: the process loads the package, answers `loaded` and builds its app only on a `start` command (the
   * copy-scale apps: forked early, before anything could rebuild dist/, started once their Redis is seeded).
   */
  BENCH_DEFER_START?: string;
}

/**
 * When the app's revocation instance began and settled (`Date.now()` of the app process, the same clock as the
 * orchestrator's): just before `createSessionAuth`, and once `auth.ready` resolved.
 */
export interface AppStartup {
  instanceStartedAtMs: number;
  readyAtMs: number;
}

/** App process -> orchestrator. */
export type AppMessage =
  | { type: 'loaded'; pid: number }
  | { type: 'ready'; port: number; pid: number; startup?: AppStartup }
  | { type: 'stats'; stats: Record<string, number> }
  | {
      type: 'heap';
      heapUsed: number;
      afterGc: boolean;
      /** Memory outside the JavaScript heap (`process.memoryUsage()`): typed arrays' buffers are in `arrayBuffers`. */
      external?: number;
      arrayBuffers?: number;
    }
  | { type: 'background'; on: boolean };

/**
 * Orchestrator -> app process. `background` turns on (before a measured run of the app) or off (after it) the
 * work an app does by itself, e.g. the refresh scenario's `refreshClaims` timer, so that it never runs while
 * another scenario is measured; answered once done (when off: once the calls in flight have settled).
 */
export type AppCommand =
  { type: 'start' } | { type: 'stats' } | { type: 'heap' } | { type: 'background'; on: boolean } | { type: 'shutdown' };

/** Revocations issued over HTTP during a run, and the check that nothing is accepted after they returned. */
export interface CheckerSpec {
  /** Seconds after the start of the measured window. */
  atSeconds: number;
  /** Cookie of a session logged out everywhere (POST /logout-all), and the user's other device cookies. */
  logoutAll: { cookie: string; otherCookies: string[]; tokenIndexes: number[] };
  /** Cookie of a single device session logged out (POST /logout). */
  logoutOne: { cookie: string; tokenIndexes: number[] };
}

export interface LoadSpec {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Index into the cookie set loaded with `cookies`. */
  cookieSet: string;
  /**
   * Processes whose CPU time is read at the start and end of the measured window; `db` may list several (the
   * nodes of a Redis Cluster), whose CPU times are added up.
   */
  pids: { app: number; db?: number | readonly number[] };
  /** When set, the RSS of the app is sampled every `rssEverySeconds` from the start of the load. */
  rssEverySeconds?: number;
  checker?: CheckerSpec;
  /**
   * Keep the cookies the app sets, as a browser does: a `Set-Cookie` of the session cookie replaces the cookie of
   * that rotation index in the set, for this run and the later ones of the same set.
   */
  adoptCookies?: boolean;
}

/** Orchestrator -> load process. */
export type LoadCommand =
  { type: 'cookies'; name: string; cookies: string[] } | { type: 'run'; spec: LoadSpec } | { type: 'exit' };

export interface CpuSample {
  /** CPU seconds (user + system) used during the window. */
  app: number;
  db: number | undefined;
  load: number;
  /** Busy CPU seconds of the whole machine during the window (all processes, both cores). */
  machine: number;
}

export interface CheckerResult {
  /** Wall time (ms, load process clock) from sending the logout request to its response. */
  logoutAllMs: number;
  logoutOneMs: number;
  /** Requests with a revoked cookie sent after the logout returned, and how many of them were accepted (2xx). */
  sentAfter: number;
  acceptedAfter: number;
  /** Status of the first request sent after each logout returned (must be 401). */
  firstStatusAfterLogoutAll: number | undefined;
  firstStatusAfterLogoutOne: number | undefined;
  /** 2xx answers for those cookies before the logout (shows the check is not vacuous). */
  acceptedBefore: number;
}

export interface LoadResult {
  connections: number;
  seconds: number;
  /** Responses in the measured window. */
  requests: number;
  /** Responses from the start of the warm-up to the end (to relate server-side counters to requests). */
  totalResponses: number;
  rps: number;
  /** Mean latency of the responses in the window (ms). */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  statusCounts: Record<string, number>;
  cpu: CpuSample;
  /** App RSS in bytes at the end of the window. */
  appRss: number;
  rssSeries?: { atSeconds: number; rss: number }[];
  checker?: CheckerResult;
  /** With `adoptCookies`: session cookies set by the app and adopted, from the start of the warm-up to the end. */
  cookiesAdopted?: number;
  /**
   * Database commands per response over the whole run, from the server's own counters (set by run.ts); on Redis
   * (`INFO commandstats`): reads are `MGET`s, writes `EVAL`/`EVALSHA`s.
   */
  dbCommandsPerRequest?: { reads: number; writes: number };
  /**
   * Redis only: the server's socket reads (`INFO stats` total_reads_processed) per response over the whole run,
   * i.e. the client's writes that reached it: node-redis sends the commands of one turn in one write, so this
   * counts round trips where `dbCommandsPerRequest.reads` counts `MGET`s.
   */
  dbSocketReadsPerRequest?: number;
}

/** Load process -> orchestrator. */
export type LoadMessage =
  | { type: 'ready' }
  | { type: 'cookies-loaded'; name: string }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return value;
}

export interface BenchSettings {
  durationSeconds: number;
  warmupSeconds: number;
  /** Length of the memory run: 60 s by default, scaled by BENCH_DURATION / 10 when that is shorter. */
  memorySeconds: number;
  memoryEarlySeconds: number;
  connections: number[];
  tokens: number;
  users: number;
  jsonPath: string | undefined;
  experiments: boolean;
  /** Passes of the matrix at each connection level (BENCH_REPEAT), alternating the order; ratios use medians. */
  repeat: number;
  only: Set<string> | undefined;
  skip: Set<string>;
  /** Share of the users whose claims revocable-mongo-claims-refresh changes each second (BENCH_REFRESH_PERCENT / 100). */
  refreshSharePerSecond: number;
  /**
   * The `feedSlots` of the store in the logout run's cluster cells, each its own cells (BENCH_FEED_SLOTS, default
   * `1,8`); the cells on one Redis always have 1.
   */
  feedSlots: number[];
}

export function readSettings(): BenchSettings {
  const durationSeconds = numberFromEnv('BENCH_DURATION', 10);
  const warmupSeconds = numberFromEnv('BENCH_WARMUP', Math.min(2, Math.max(0.5, durationSeconds / 5)));
  const scale = Math.min(1, durationSeconds / 10);
  const connections = (process.env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map((c) => Number(c.trim()));
  if (connections.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error('BENCH_CONNECTIONS must be a comma-separated list of positive integers');
  const tokens = Math.round(numberFromEnv('BENCH_TOKENS', 10_000));
  // The memory run: a minute (scaled down with short runs) unless BENCH_MEMORY_SECONDS says how long.
  const memorySeconds = Math.max(6, Math.round(numberFromEnv('BENCH_MEMORY_SECONDS', 60 * scale)));
  const list = (name: string) => {
    const raw = process.env[name];
    return raw === undefined || raw === '' ? undefined : new Set(raw.split(',').map((s) => s.trim()));
  };
  return {
    durationSeconds,
    warmupSeconds,
    memorySeconds,
    memoryEarlySeconds: Math.max(1, Math.round(memorySeconds / 6)),
    connections,
    tokens,
    users: Math.max(1, Math.floor(tokens / 2)),
    jsonPath: process.env.BENCH_JSON === '' ? undefined : process.env.BENCH_JSON,
    experiments: process.env.BENCH_EXPERIMENTS === '1',
    repeat: Math.max(1, Math.round(numberFromEnv('BENCH_REPEAT', 1))),
    only: list('BENCH_ONLY'),
    skip: list('BENCH_SKIP') ?? new Set(),
    refreshSharePerSecond: numberFromEnv('BENCH_REFRESH_PERCENT', 1) / 100,
    feedSlots: feedSlotsFromEnv(),
  };
}

/** BENCH_FEED_SLOTS: a comma list of `feedSlots` values (1 to 64), in the order given, without repeats. */
function feedSlotsFromEnv(): number[] {
  const raw = process.env.BENCH_FEED_SLOTS;
  const values = (raw === undefined || raw === '' ? '1,8' : raw).split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 64))
    throw new Error(
      `BENCH_FEED_SLOTS must be a comma-separated list of integers from 1 to 64, got ${JSON.stringify(raw)}`,
    );
  return [...new Set(values)];
}

/**
 * One measured cell of the logout run: `concurrency` callers, each calling the store's `call` again as soon as
 * its previous call returned, for the warm-up and then the measured window. `users`: `one` = every call for the
 * same user (`sub`, one slot), `many` = a new user each call (spread over the slots).
 */
export interface LogoutSpec {
  /** One Redis (`url`) or a Redis Cluster (`cluster`: `host:port,...`). */
  url: string;
  cluster: string;
  /** A fresh prefix per cell: each starts with an empty feed. */
  prefix: string;
  /** The store's `feedSlots`: the parts of the change feed, each in a slot of its own. */
  feedSlots: number;
  call: 'revokeSession' | 'revokeUser';
  users: 'one' | 'many';
  /** The user of `one`. */
  sub: string;
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Redis nodes whose `INFO cpu` (used_cpu_sys + used_cpu_user) is read at the start and end of the window. */
  watch: { host: string; port: number }[];
  /**
   * After the cell, what its millions of keys become: `flush`, a server started by the benchmark, is emptied
   * (`FLUSHALL ASYNC` on every primary, then its AOF rewritten), so every cell starts from an empty Redis;
   * `unlink`, a server of yours (REDIS_URL, REDIS_CLUSTER_NODES), has the cell's keys removed by `SCAN` + `UNLINK`.
   */
  cleanup: 'flush' | 'unlink';
}

export interface LogoutNodeCpu {
  address: string;
  role: 'primary' | 'replica';
  /** CPU seconds the node used in the window (its main thread and its others: `INFO cpu`). */
  cpuSeconds: number;
}

export interface LogoutResult {
  /** Calls that returned within the window, and those that failed. */
  ops: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds of the driver process (the store and the node-redis client) in the window. */
  driverCpuSeconds: number;
  /** Busy CPU seconds of the whole machine in the window. */
  machineCpuSeconds: number;
  nodes: LogoutNodeCpu[];
}

/** Orchestrator -> logout driver, and back. */
export type LogoutCommand = { type: 'run'; spec: LogoutSpec } | { type: 'exit' };
export type LogoutMessage =
  { type: 'ready' } | { type: 'result'; result: LogoutResult } | { type: 'error'; message: string };
