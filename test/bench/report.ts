// Turns the measurements into the markdown report and the BENCH_JSON document, with the targets of the issue.
import type { CachedCheckResult, RateCheckResult } from './cached-check.js';
import type { MemoryUsageSample, SeedResult } from './redis-seed.js';
import { BATCH_IDS, type RoundTrips } from './round-trip.js';
import {
  CLAIMS_SCENARIO,
  REFRESH_SCENARIO,
  type AppStartup,
  type BenchSettings,
  type LoadResult,
  type LogoutResult,
  type LogoutSpec,
} from './shared.js';

export interface RunRecord {
  name: string;
  result: LoadResult;
  stats: Record<string, number>;
}

export interface ReportInput {
  settings: BenchSettings;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  nodeVersion: string;
  dbLabel: string;
  dbCounted: boolean;
  sessionSeedSeconds: number | undefined;
  runs: RunRecord[];
  scale: { seedSeconds: number; empty: LoadResult[]; seeded: LoadResult[] } | undefined;
  memory:
    | {
        result: LoadResult;
        seconds: number;
        earlySeconds: number;
        heapMb?: { early: number; late: number; afterGc: boolean };
      }
    | undefined;
  /** Bare driver round trips measured at the 1-connection level (before each pass and after the last). */
  roundTrips: RoundTrips[];
  memoryScale: { entries: number; empty: LoadResult[]; seeded: LoadResult[] } | undefined;
  cachedCheck: CachedCheckResult | undefined;
  /** The copy-scale run: revocable-redis-cached with a seeded feed against an empty one. */
  copyScale: CopyScaleInput | undefined;
  /** revocable-redis against a seeded and an empty redis-server, alternately at the top connection level. */
  redisScale:
    | {
        seed: SeedResult;
        aofRewriteSeconds: number;
        usage: MemoryUsageSample;
        /** Users read back through RedisRevocationStore before the measurement. */
        checkedUsers: number;
        /** `used_memory` of the empty server (its app connected, nothing written but the feed's start). */
        emptyUsedMemory: number;
        empty: LoadResult[];
        seeded: LoadResult[];
      }
    | undefined;
  /** revocable-redis on one Redis and on a Redis Cluster, alternately at each connection level. */
  redisCluster:
    { spec: string; levels: { connections: number; single: LoadResult[]; cluster: LoadResult[] }[] } | undefined;
  /** The store's logouts, called directly, on one Redis and on the cluster. */
  redisLogouts: RedisLogoutsInput | undefined;
  elapsedSeconds: number;
}

export interface RedisLogoutsInput {
  concurrency: number;
  /** The cluster's primary of the `{feed}` slot, and that of the single user's slot (`clusterSub`). */
  feedPrimary: string;
  userPrimary: string;
  clusterSub: string;
  /** For each `feedSlots` of the cluster's cells: the primary of each part of the feed (part 0: `{feed}`). */
  feedParts: Record<string, string[]>;
  /** For each `feedSlots`: the part that holds `clusterSub`'s changes. */
  clusterSubParts: Record<string, number>;
  cells: {
    target: 'one Redis' | 'cluster';
    users: LogoutSpec['users'];
    call: LogoutSpec['call'];
    /** The store's `feedSlots` (one Redis: 1). */
    feedSlots: number;
    results: LogoutResult[];
  }[];
}

/**
 * An app's JavaScript heap and its array buffers (typed arrays' memory, outside the heap), after a full collection
 * when `afterGc`, and its RSS, in bytes.
 */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  afterGc: boolean;
}

/** A new bounded-delay instance of the copy-scale run, from `createSessionAuth` to its copy in use. */
export interface CopyInstanceLoad {
  /** `empty`: on the empty server; `seeded`: on the seeded one (instance A); `second`: instance B, started later. */
  label: 'empty' | 'seeded' | 'second';
  startup: AppStartup | undefined;
  /** `Date.now()` when the first check answered without a store read arrived; undefined: not within the wait. */
  copyInUseAtMs: number | undefined;
  /** Requests sent until then, and those not answered 200. */
  polls: number;
  pollsRefused: number;
  waitedSeconds: number;
  /** Heap and RSS once the copy was in use (or the wait ended). */
  memory: MemorySample;
}

export interface CopyScaleInput {
  /** Revocations in the seeded feed: `watermarks` users' watermarks plus `revokedSessions` revoked sessions. */
  entries: number;
  watermarks: number;
  revokedSessions: number;
  firstUser: number;
  maxRevocationDelayMs: number;
  seed: SeedResult;
  aofRewriteSeconds: number;
  checkedUsers: number;
  /** One whole read of the seeded feed from the orchestrator (`readFeed(null, ...)` as one call). */
  wholeFeedRead: { ms: number; changes: number };
  /** Median wall time of a read of what changed (`readFeed(since)`) on the seeded server, from the orchestrator. */
  incrementalFeedReadMs: number;
  /** The cross-instance bound: maxRevocationDelay + one feed read + 5 ms for an HTTP request. */
  allowanceMs: number;
  waitSeconds: number;
  instances: CopyInstanceLoad[];
  /** Heap and RSS of the two measured instances after their runs. */
  afterRun: { empty: MemorySample; seeded: MemorySample };
  empty: LoadResult[];
  seeded: LoadResult[];
  crossInstance: RateCheckResult;
}

interface Target {
  target: string;
  measured: string;
  value: number | null;
  met: boolean | null;
}

const round = (value: number, digits: number) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;
const perRequestUs = (cpuSeconds: number | undefined, requests: number) =>
  cpuSeconds === undefined || !Number.isFinite(cpuSeconds) || requests === 0
    ? null
    : round((cpuSeconds / requests) * 1e6, 0);
const show = (value: number | null, suffix = '') => (value === null ? 'n/a' : `${value}${suffix}`);
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
/** Nearest-rank percentile of values sorted in ascending order; null when there are none. */
const percentileOf = (sorted: number[], p: number) =>
  sorted.length === 0
    ? null
    : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
/** Successful (2xx) responses per second: what the targets compare. */
const okRps = (r: LoadResult) => (r.requests - r.non2xx) / r.seconds;

/** CPU of processes outside the benchmark per request (µs): noise from the rest of the machine. */
function otherCpuUs(r: LoadResult): number | null {
  return perRequestUs(Math.max(0, r.cpu.machine - r.cpu.app - (r.cpu.db ?? 0) - r.cpu.load), r.requests);
}

function busyPercent(result: LoadResult, cores: number): number | null {
  return round((result.cpu.machine / (result.seconds * cores)) * 100, 0);
}

function rowJson(name: string, r: LoadResult, cores: number, stats: Record<string, number> = {}) {
  return {
    name,
    connections: r.connections,
    rps: round(r.rps, 0),
    ok_rps: round(okRps(r), 0),
    p50_ms: round(r.p50Ms, 2),
    p99_ms: round(r.p99Ms, 2),
    errors: r.errors,
    non2xx: r.non2xx,
    requests: r.requests,
    seconds: round(r.seconds, 2),
    app_cpu_us_per_req: perRequestUs(r.cpu.app, r.requests),
    db_cpu_us_per_req: perRequestUs(r.cpu.db, r.requests),
    load_cpu_us_per_req: perRequestUs(r.cpu.load, r.requests),
    // Counters tick every 10 ms, so this difference can come out slightly negative: shown as 0.
    other_cpu_us_per_req: otherCpuUs(r),
    db_reads_per_req: r.dbCommandsPerRequest === undefined ? null : round(r.dbCommandsPerRequest.reads, 2),
    db_writes_per_req: r.dbCommandsPerRequest === undefined ? null : round(r.dbCommandsPerRequest.writes, 2),
    app_cores: round(r.cpu.app / r.seconds, 2),
    db_cores: r.cpu.db === undefined ? null : round(r.cpu.db / r.seconds, 2),
    machine_busy_pct: busyPercent(r, cores),
    app_rss_mb: mb(r.appRss),
    status_counts: r.statusCounts,
    ...(Object.keys(stats).length === 0 ? {} : { app_stats: stats }),
  };
}

/**
 * The claims scenarios, level by level: `revocable-mongo-claims` (claims + `loadClaims`, no changes) beside
 * `revocable-mongo` and `stateless-key` (medians of 2xx/s over the passes, as the other ratios), and
 * `revocable-mongo-claims-refresh` (1 % of the users' claims changed each second): its req/s and its `loadClaims`
 * calls per request (the app's counters, warm-up included, summed over the passes).
 */
function claimsReport(
  input: ReportInput,
  rpsOf: (name: string, connections: number) => number | undefined,
  targets: Target[],
): { json: unknown; ratios: Record<string, number | null>; markdown: string[] } | undefined {
  const { runs, settings } = input;
  const has = (name: string) => runs.some((r) => r.name === name);
  if (!has(CLAIMS_SCENARIO) && !has(REFRESH_SCENARIO)) return undefined;
  const levels = [...new Set(runs.map((r) => r.result.connections))].sort((a, b) => a - b);
  const ratioAt = (a: string, b: string, connections: number) => {
    const x = rpsOf(a, connections);
    const y = rpsOf(b, connections);
    return x === undefined || y === undefined || y === 0 ? null : round(x / y, 2);
  };
  const rpsAt = (name: string, connections: number) => {
    const value = rpsOf(name, connections);
    return value === undefined ? null : round(value, 0);
  };
  const runsAt = (name: string, connections: number) =>
    runs.filter((r) => r.name === name && r.result.connections === connections);
  /** A counter of the app summed over the passes, or null when the scenario did not run at that level. */
  const counterAt = (name: string, connections: number, counter: string) => {
    const at = runsAt(name, connections);
    return at.length === 0 ? null : at.reduce((sum, r) => sum + (r.stats[counter] ?? 0), 0);
  };
  /** Requests the app saw (its own counter, else the load generator's responses), warm-up included. */
  const requestsAt = (name: string, connections: number) =>
    runsAt(name, connections).reduce((sum, r) => sum + (r.stats.requests ?? r.result.totalResponses), 0);
  const perRequest = (name: string, connections: number, counter: string, digits = 4) => {
    const count = counterAt(name, connections, counter);
    const requests = requestsAt(name, connections);
    return count === null || requests === 0 ? null : round(count / requests, digits);
  };
  const dbAt = (name: string, connections: number, kind: 'reads' | 'writes') => {
    const values = runsAt(name, connections)
      .map((r) => r.result.dbCommandsPerRequest?.[kind])
      .filter((v): v is number => v !== undefined);
    return values.length === 0 ? null : round(median(values), 3);
  };

  const ratios: Record<string, number | null> = {};
  const noChanges = levels
    .filter((c) => runsAt(CLAIMS_SCENARIO, c).length > 0)
    .map((c) => {
      const row = {
        connections: c,
        ok_rps: {
          'stateless-key': rpsAt('stateless-key', c),
          'revocable-mongo': rpsAt('revocable-mongo', c),
          [CLAIMS_SCENARIO]: rpsAt(CLAIMS_SCENARIO, c),
        },
        revocable_vs_stateless_key: ratioAt('revocable-mongo', 'stateless-key', c),
        claims_vs_stateless_key: ratioAt(CLAIMS_SCENARIO, 'stateless-key', c),
        claims_vs_revocable: ratioAt(CLAIMS_SCENARIO, 'revocable-mongo', c),
        db_reads_per_req: {
          'revocable-mongo': dbAt('revocable-mongo', c, 'reads'),
          [CLAIMS_SCENARIO]: dbAt(CLAIMS_SCENARIO, c, 'reads'),
        },
        load_claims_calls: counterAt(CLAIMS_SCENARIO, c, 'loadClaims'),
      };
      ratios[`claims_vs_stateless_key_c${c}`] = row.claims_vs_stateless_key;
      ratios[`claims_vs_revocable_c${c}`] = row.claims_vs_revocable;
      return row;
    });
  for (const row of noChanges) {
    const value = row.claims_vs_revocable;
    targets.push({
      target: `revocable-mongo-claims (loadClaims, no changes) keeps revocable-mongo's ratio to stateless-key: ≥ 0.95 × revocable-mongo (c${row.connections})`,
      measured:
        value === null
          ? 'not measured'
          : `${value} × (${show(row.claims_vs_stateless_key)} × stateless-key against ${show(row.revocable_vs_stateless_key)} ×)`,
      value,
      met: value === null ? null : value >= 0.95,
    });
  }
  if (noChanges.length > 0) {
    const calls = noChanges.reduce((sum, row) => sum + (row.load_claims_calls ?? 0), 0);
    targets.push({
      target: 'revocable-mongo-claims: up-to-date tokens never call loadClaims (calls = 0)',
      measured: `${calls} calls`,
      value: calls,
      met: calls === 0,
    });
  }

  const tokensPerUser = settings.tokens / settings.users;
  const share = settings.refreshSharePerSecond;
  /** Changes attempted: a refreshClaims that timed out in the app may still have been stored. */
  const changesAt = (c: number) =>
    (counterAt(REFRESH_SCENARIO, c, 'refreshes') ?? 0) + (counterAt(REFRESH_SCENARIO, c, 'refreshErrors') ?? 0);
  const refresh = levels
    .filter((c) => runsAt(REFRESH_SCENARIO, c).length > 0)
    .map((c) => {
      const rps = rpsOf(REFRESH_SCENARIO, c);
      const at = runsAt(REFRESH_SCENARIO, c);
      const changes = changesAt(c);
      const loads = counterAt(REFRESH_SCENARIO, c, 'loadClaims') ?? 0;
      const requests = requestsAt(REFRESH_SCENARIO, c);
      const adopted = at.reduce((sum, r) => sum + (r.result.cookiesAdopted ?? 0), 0);
      // The time the app's refresh timer ran: from before the warm-up to the end of the run.
      const runSeconds = (counterAt(REFRESH_SCENARIO, c, 'refreshingMs') ?? 0) / 1000;
      ratios[`claims_refresh_vs_claims_c${c}`] = ratioAt(REFRESH_SCENARIO, CLAIMS_SCENARIO, c);
      return {
        connections: c,
        ok_rps: rps === undefined ? null : round(rps, 0),
        vs_claims: ratioAt(REFRESH_SCENARIO, CLAIMS_SCENARIO, c),
        vs_stateless_key: ratioAt(REFRESH_SCENARIO, 'stateless-key', c),
        load_claims_per_req: perRequest(REFRESH_SCENARIO, c, 'loadClaims'),
        // Steady state: each changed token reloads once, on its next request, so `share` of the tokens per second
        // (every request, when a token comes back less often than its user changes).
        expected_load_claims_per_req:
          rps === undefined || rps === 0 ? null : round(Math.min(1, (share * settings.tokens) / rps), 4),
        load_claims_per_second: runSeconds === 0 ? null : round(loads / runSeconds, 1),
        refresh_claims_per_second: runSeconds === 0 ? null : round(changes / runSeconds, 1),
        // About 1 when every token of each changed user came back once (less: changes late in a run, whose tokens
        // come back in the next run of the scenario, or a run shorter than the rotation through the tokens).
        load_claims_per_changed_token: changes === 0 ? null : round(loads / (changes * tokensPerUser), 3),
        cookies_adopted_per_req: requests === 0 ? null : round(adopted / requests, 4),
        load_claims_calls: loads,
        refresh_claims_calls: changes,
        refresh_claims_failures: counterAt(REFRESH_SCENARIO, c, 'refreshErrors'),
        requests,
        non2xx: at.reduce((sum, r) => sum + r.result.non2xx, 0),
        errors: at.reduce((sum, r) => sum + r.result.errors, 0),
        db_reads_per_req: dbAt(REFRESH_SCENARIO, c, 'reads'),
        db_writes_per_req: dbAt(REFRESH_SCENARIO, c, 'writes'),
        db_cores: at.some((r) => r.result.cpu.db === undefined)
          ? null
          : round(median(at.map((r) => (r.result.cpu.db ?? 0) / r.result.seconds)), 2),
      };
    });
  const allChanges = refresh.reduce((sum, r) => sum + r.refresh_claims_calls, 0);
  const allLoads = refresh.reduce((sum, r) => sum + r.load_claims_calls, 0);
  const perChangedToken = allChanges === 0 ? null : round(allLoads / (allChanges * tokensPerUser), 3);

  const md: string[] = ['', '### Claims that follow the user', ''];
  if (noChanges.length > 0) {
    md.push(
      "`revocable-mongo-claims` is `revocable-mongo` plus a `claims` schema (`{ role }`) and `loadClaims`, with no claims ever changed: up-to-date tokens must cost nothing (the claims-change time is read in the user's record the revocation check reads already). Its tokens carry the role claim. Medians of 2xx/s over the passes.",
      '',
      '| Conns | stateless-key | revocable-mongo | revocable-mongo-claims | revocable-mongo ÷ stateless-key | claims ÷ stateless-key | claims ÷ revocable-mongo | DB reads/req (revocable-mongo / claims) | loadClaims calls |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of noChanges) {
      md.push(
        `| ${r.connections} | ${show(r.ok_rps['stateless-key'])} | ${show(r.ok_rps['revocable-mongo'])} | ${show(r.ok_rps[CLAIMS_SCENARIO] ?? null)} | ${show(r.revocable_vs_stateless_key)} | ${show(r.claims_vs_stateless_key)} | ${show(r.claims_vs_revocable)} | ${show(r.db_reads_per_req['revocable-mongo'])} / ${show(r.db_reads_per_req[CLAIMS_SCENARIO] ?? null)} | ${show(r.load_claims_calls)} |`,
      );
    }
  }
  if (refresh.length > 0) {
    md.push(
      '',
      `\`revocable-mongo-claims-refresh\`: the same app on a database of its own; while it is measured (warm-up included) it calls \`refreshClaims\` for ${round(share * 100, 2)} % of its ${settings.users.toLocaleString('en-US')} users each second (a role flipped each time, the users in a shuffled order), and the load clients adopt the cookies it re-issues, as a browser does. \`loadClaims\` answers from memory: an app's own read of the user comes on top, once per call. loadClaims/req is the app's count over the requests it saw (warm-up included, all passes); "steady" is what it tends to: each changed token reloads once, ${round(share * 100, 2)} % of the ${settings.tokens.toLocaleString('en-US')} tokens per second over the req/s (a short run, or one shorter than the rotation through the tokens, sees fewer); "per changed token" is about 1 when each changed token came back once (all runs: ${show(perChangedToken)}). On FerretDB v1 a \`refreshClaims\` is 5 commands (feed insert, lock insert, update, read-back, lock delete; on MongoDB: feed insert and one update), and each change leaves a state document that FerretDB scans on \`_id\` lookups (see the scale test): the DB columns show that cost.`,
      '',
      '| Conns | req/s | ÷ revocable-mongo-claims | ÷ stateless-key | loadClaims/req | steady | loadClaims/s | refreshClaims/s (failed) | per changed token | cookies adopted/req | DB reads/req | DB writes/req | DB cores | Non-2xx | Errors |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of refresh) {
      md.push(
        `| ${r.connections} | ${show(r.ok_rps)} | ${show(r.vs_claims)} | ${show(r.vs_stateless_key)} | ${show(r.load_claims_per_req)} | ${show(r.expected_load_claims_per_req)} | ${show(r.load_claims_per_second)} | ${show(r.refresh_claims_per_second)} (${show(r.refresh_claims_failures)} failed) | ${show(r.load_claims_per_changed_token)} | ${show(r.cookies_adopted_per_req)} | ${show(r.db_reads_per_req)} | ${show(r.db_writes_per_req)} | ${show(r.db_cores)} | ${r.non2xx} | ${r.errors} |`,
      );
    }
  }
  return {
    ratios,
    markdown: md,
    json: {
      no_changes: noChanges,
      refresh: {
        share_of_users_per_second: share,
        users: settings.users,
        tokens: settings.tokens,
        load_claims_per_changed_token_all_runs: perChangedToken,
        levels: refresh,
      },
    },
  };
}

/**
 * The Redis runs: the scale run (seeded against empty, with the memory each kind of entry takes), the cluster run
 * (cluster against one node at each level) and the logout run (rates, and the CPU each node spent per logout).
 */
function redisReport(
  input: ReportInput,
  targets: Target[],
): { json: Record<string, unknown>; ratios: Record<string, number | null>; markdown: string[] } {
  const { cores } = input;
  const ratios: Record<string, number | null> = {};
  const md: string[] = [];
  const json: Record<string, unknown> = { redis_scale: null, redis_cluster: null, redis_logouts: null };
  const n = (value: number) => value.toLocaleString('en-US');

  const scale = input.redisScale;
  if (scale !== undefined) {
    const { seed, usage } = scale;
    const e = median(scale.empty.map(okRps));
    const x = median(scale.seeded.map(okRps));
    const value = round(x / e, 3);
    const top = scale.empty[0]?.connections ?? 0;
    ratios[`redis_seeded_vs_empty_c${top}`] = value;
    const count = seed.count;
    targets.push({
      target: `scale, Redis: req/s with ${n(count)} watermarks + ${n(count)} revoked sessions + ${n(count)} registry records (and ${n(2 * count)} feed entries) within 10 % of an empty Redis (c${top})`,
      measured: `${show(value)} × (${Math.round(x)} vs ${Math.round(e)} 2xx/s, medians)`,
      value,
      met: value === null ? null : value >= 0.9,
    });
    const phase = (name: string) => seed.phases.find((p) => p.name === name);
    const perEntry = (name: string) => {
      const p = phase(name);
      return p === undefined ? null : round(p.usedMemoryBytes / p.entries, 0);
    };
    const total = seed.usedMemoryAfter - seed.usedMemoryBefore;
    const bytes = {
      // Everything the seeding added, over the users' entries (watermark, revoked session, registry record).
      per_entry_all_kinds: round(total / (3 * count), 0),
      per_user_all_kinds: round(total / count, 0),
      used_memory_by_kind: {
        watermark: perEntry('watermarks'),
        revoked_session: perEntry('revoked_sessions'),
        registry_record: perEntry('registry_records'),
        feed_entry: perEntry('feed_entries'),
      },
      memory_usage_samples: {
        watermark_key: round(usage.watermarkKey, 0),
        revoked_session_key: round(usage.revokedSessionKey, 0),
        registry_hash: round(usage.registryHash, 0),
        registry_sorted_set: round(usage.registrySortedSet, 0),
        feed_entry_both_sets: round(usage.feedPerEntry, 0),
        sampled_users: usage.sampledUsers,
      },
    };
    json.redis_scale = {
      entries: {
        users_with_watermark: count,
        revoked_sessions: count,
        registry_records: count,
        feed_entries: 2 * count,
      },
      keys: seed.keys,
      seed_seconds: round(seed.seconds, 1),
      seed_phase_seconds: Object.fromEntries(seed.phases.map((p) => [p.name, round(p.seconds, 1)])),
      aof_rewrite_seconds: round(scale.aofRewriteSeconds, 1),
      used_memory_mb: {
        before_seed: mb(seed.usedMemoryBefore),
        after_seed: mb(seed.usedMemoryAfter),
        empty_server: mb(scale.emptyUsedMemory),
      },
      bytes,
      checked_through_store: scale.checkedUsers,
      empty_ok_rps: scale.empty.map((r) => round(okRps(r), 0)),
      seeded_ok_rps: scale.seeded.map((r) => round(okRps(r), 0)),
      empty: scale.empty.map((r) => rowJson('revocable-redis (empty Redis)', r, cores)),
      seeded: scale.seeded.map((r) => rowJson('revocable-redis (seeded Redis)', r, cores)),
      ratio: value,
    };
    const cpuUs = (results: LoadResult[], key: 'app' | 'db') =>
      show(round(median(results.map((r) => (r.cpu[key] ?? Number.NaN) / r.requests)) * 1e6, 0));
    const otherUs = (results: LoadResult[]) => show(median(results.map((r) => otherCpuUs(r) ?? Number.NaN)));
    md.push(
      '',
      '### Redis at scale',
      '',
      `\`revocable-redis\` at ${top} connections against two redis-servers of this run (AOF, fsync every second), alternately: one empty, one seeded with ${n(count)} users (\`user-0\` ..., the users in rotation among them) each with a watermark an hour before the tokens were issued, a revoked device session and a device-registry record, plus the ${n(2 * count)} change-feed entries of those revocations, in the store's key layout (${n(seed.keys)} keys). Seeded by Lua loops on the server (${n(20_000)} users per \`EVAL\`) in ${seed.seconds.toFixed(1)} s (${seed.phases.map((p) => `${p.name.replace(/_/g, ' ')} ${p.seconds.toFixed(1)} s`).join(', ')}), then the AOF rewritten in ${scale.aofRewriteSeconds.toFixed(1)} s; ${scale.checkedUsers} seeded users read back through \`RedisRevocationStore\` as seeded before the measurement.`,
      '',
      `| Redis | 2xx/s (median) | passes | p99 ms (median) | app CPU µs/req | Redis CPU µs/req | other CPU µs/req |`,
      '|---|---:|---|---:|---:|---:|---:|',
      `| empty | ${Math.round(e)} | ${scale.empty.map((r) => Math.round(okRps(r))).join(', ')} | ${show(round(median(scale.empty.map((r) => r.p99Ms)), 2))} | ${cpuUs(scale.empty, 'app')} | ${cpuUs(scale.empty, 'db')} | ${otherUs(scale.empty)} |`,
      `| seeded | ${Math.round(x)} | ${scale.seeded.map((r) => Math.round(okRps(r))).join(', ')} | ${show(round(median(scale.seeded.map((r) => r.p99Ms)), 2))} | ${cpuUs(scale.seeded, 'app')} | ${cpuUs(scale.seeded, 'db')} | ${otherUs(scale.seeded)} |`,
      '',
      `Memory (\`INFO memory\` used_memory: ${mb(seed.usedMemoryBefore)} MB before the seeding, ${mb(seed.usedMemoryAfter)} MB after; the empty server ${mb(scale.emptyUsedMemory)} MB): ${show(bytes.per_user_all_kinds)} bytes per seeded user, ${show(bytes.per_entry_all_kinds)} per entry over the three kinds (feed included). Each phase's growth over its entries: watermark ${show(bytes.used_memory_by_kind.watermark)} B, revoked session ${show(bytes.used_memory_by_kind.revoked_session)} B, registry record (a hash and a sorted set per user) ${show(bytes.used_memory_by_kind.registry_record)} B, feed entry (in both sorted sets) ${show(bytes.used_memory_by_kind.feed_entry)} B. \`MEMORY USAGE\` (mean of ${usage.sampledUsers} users; the key's value and name, not the keyspace's own entry): \`:u\` ${show(bytes.memory_usage_samples.watermark_key)} B, \`:s:<sid>\` ${show(bytes.memory_usage_samples.revoked_session_key)} B, \`:r\` ${show(bytes.memory_usage_samples.registry_hash)} B, \`:r:exp\` ${show(bytes.memory_usage_samples.registry_sorted_set)} B, the feed ${show(bytes.memory_usage_samples.feed_entry_both_sets)} B per entry.`,
    );
  }

  const cluster = input.redisCluster;
  if (cluster !== undefined) {
    const levels = cluster.levels.map((level) => {
      const single = median(level.single.map(okRps));
      const onCluster = median(level.cluster.map(okRps));
      const value = round(onCluster / single, 3);
      ratios[`redis_cluster_vs_single_c${level.connections}`] = value;
      const dbUs = (results: LoadResult[]) =>
        results.some((r) => r.cpu.db === undefined)
          ? null
          : round(median(results.map((r) => ((r.cpu.db ?? 0) / r.requests) * 1e6)), 0);
      return {
        connections: level.connections,
        single_ok_rps: level.single.map((r) => round(okRps(r), 0)),
        cluster_ok_rps: level.cluster.map((r) => round(okRps(r), 0)),
        single_median: round(single, 0),
        cluster_median: round(onCluster, 0),
        ratio: value,
        single_p99_ms: round(median(level.single.map((r) => r.p99Ms)), 2),
        cluster_p99_ms: round(median(level.cluster.map((r) => r.p99Ms)), 2),
        single_app_cpu_us_per_req: round(median(level.single.map((r) => (r.cpu.app / r.requests) * 1e6)), 0),
        cluster_app_cpu_us_per_req: round(median(level.cluster.map((r) => (r.cpu.app / r.requests) * 1e6)), 0),
        single_redis_cpu_us_per_req: dbUs(level.single),
        cluster_redis_cpu_us_per_req: dbUs(level.cluster),
        single_other_cpu_us_per_req: median(level.single.map((r) => otherCpuUs(r) ?? Number.NaN)),
        cluster_other_cpu_us_per_req: median(level.cluster.map((r) => otherCpuUs(r) ?? Number.NaN)),
        single: level.single.map((r) => rowJson('revocable-redis (one Redis)', r, cores)),
        cluster: level.cluster.map((r) => rowJson('revocable-redis (Redis Cluster)', r, cores)),
      };
    });
    const topLevel = levels.reduce<(typeof levels)[number] | undefined>(
      (best, l) => (best === undefined || l.connections > best.connections ? l : best),
      undefined,
    );
    if (topLevel !== undefined) {
      targets.push({
        target: `Redis Cluster (3 primaries + 3 replicas): check req/s within 10 % of one Redis (c${topLevel.connections})`,
        measured: `${show(topLevel.ratio)} × (${show(topLevel.cluster_median)} vs ${show(topLevel.single_median)} 2xx/s, medians)`,
        value: topLevel.ratio,
        met: topLevel.ratio === null ? null : topLevel.ratio >= 0.9,
      });
    }
    json.redis_cluster = { nodes: cluster.spec, levels };
    md.push(
      '',
      '### Redis Cluster',
      '',
      `\`revocable-redis\` with a node-redis \`createCluster\` client on a Redis Cluster of this machine (${cluster.spec.split(',').length} redis-servers: 3 primaries, 3 replicas, AOF every second), against the same app on one redis-server, alternately at each level; medians of 2xx/s. The cluster's processes share the same cores (its replicas included): "Redis CPU" adds up every node.`,
      '',
      '| Conns | one Redis 2xx/s | cluster 2xx/s | cluster ÷ one | p99 ms (one / cluster) | app CPU µs/req (one / cluster) | Redis CPU µs/req (one / cluster) | other CPU µs/req (one / cluster) |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...levels.map(
        (l) =>
          `| ${l.connections} | ${show(l.single_median)} | ${show(l.cluster_median)} | ${show(l.ratio)} | ${show(l.single_p99_ms)} / ${show(l.cluster_p99_ms)} | ${show(l.single_app_cpu_us_per_req)} / ${show(l.cluster_app_cpu_us_per_req)} | ${show(l.single_redis_cpu_us_per_req)} / ${show(l.cluster_redis_cpu_us_per_req)} | ${show(l.single_other_cpu_us_per_req)} / ${show(l.cluster_other_cpu_us_per_req)} |`,
      ),
    );
  }

  const logouts = input.redisLogouts;
  if (logouts !== undefined) {
    const cells = logouts.cells.map((cell) => {
      const rs = cell.results;
      const rate = median(rs.map((r) => r.rate));
      const addresses = rs[0]?.nodes.map((node) => node.address) ?? [];
      /** Per node: the median of its cores and of its CPU µs per logout over the passes. */
      const nodes = addresses.map((address) => {
        const of = rs.map((r) => r.nodes.find((node) => node.address === address));
        const role = of[0]?.role ?? 'primary';
        const userPart = logouts.clusterSubParts[String(cell.feedSlots)];
        const parts = (logouts.feedParts[String(cell.feedSlots)] ?? [])
          .map((primary, part) => (primary === address ? part : -1))
          .filter((part) => part >= 0);
        const feedHeld =
          cell.feedSlots === 1
            ? address === logouts.feedPrimary
              ? ['feed']
              : []
            : parts.length === 0
              ? []
              : [`feed part${parts.length > 1 ? 's' : ''} ${parts.join(',')} of ${cell.feedSlots}`];
        const holds =
          cell.target === 'one Redis'
            ? ['everything']
            : [
                ...feedHeld,
                ...(cell.users === 'one' && address === logouts.userPrimary ? ['the user'] : []),
                // With several parts: the one that takes the single user's changes.
                ...(cell.users === 'one' && cell.feedSlots > 1 && parts.includes(userPart ?? -1)
                  ? [`the user's feed part ${userPart}`]
                  : []),
              ];
        return {
          address,
          role,
          holds,
          cores: round(median(of.map((node, i) => (node?.cpuSeconds ?? Number.NaN) / (rs[i]?.seconds ?? 1))), 2),
          cpu_us_per_logout: round(
            median(of.map((node, i) => ((node?.cpuSeconds ?? Number.NaN) / (rs[i]?.ops ?? 0)) * 1e6)),
            1,
          ),
        };
      });
      const primaries = nodes.filter((node) => node.role === 'primary');
      const busiest = primaries.reduce<(typeof primaries)[number] | undefined>(
        (best, node) =>
          best === undefined || (node.cpu_us_per_logout ?? 0) > (best.cpu_us_per_logout ?? 0) ? node : best,
        undefined,
      );
      const feed =
        cell.target === 'one Redis' ? primaries[0] : primaries.find((node) => node.address === logouts.feedPrimary);
      // Many users on the cluster: the other primaries each take a share of the users' writes, the feed's primary
      // the same share plus every feed write; the difference is what the feed costs it per logout.
      const others = primaries.filter((node) => node !== feed);
      const feedWriteUs =
        cell.target === 'cluster' &&
        cell.users === 'many' &&
        cell.feedSlots === 1 &&
        feed !== undefined &&
        others.length > 0
          ? round((feed.cpu_us_per_logout ?? 0) - mean(others.map((node) => node.cpu_us_per_logout ?? 0)), 1)
          : null;
      const ceiling = (us: number | null | undefined) =>
        us === null || us === undefined || !(us > 0) ? null : round(1e6 / us, -2);
      return {
        target: cell.target,
        call: cell.call,
        users: cell.users,
        feed_slots: cell.feedSlots,
        // The primary of each part of the feed (cluster); one Redis holds the whole feed.
        feed_parts: cell.target === 'cluster' ? (logouts.feedParts[String(cell.feedSlots)] ?? null) : null,
        // The part of the feed that holds the single user's changes.
        user_feed_part:
          cell.target === 'cluster' && cell.users === 'one'
            ? (logouts.clusterSubParts[String(cell.feedSlots)] ?? null)
            : null,
        rate_per_s: round(rate, 0),
        rates_per_s: rs.map((r) => round(r.rate, 0)),
        p50_ms: round(median(rs.map((r) => r.p50Ms)), 2),
        p99_ms: round(median(rs.map((r) => r.p99Ms)), 2),
        errors: rs.reduce((sum, r) => sum + r.errors, 0),
        first_error: rs.find((r) => r.firstError !== undefined)?.firstError ?? null,
        driver_cores: round(median(rs.map((r) => r.driverCpuSeconds / r.seconds)), 2),
        driver_cpu_us_per_logout: round(median(rs.map((r) => (r.driverCpuSeconds / r.ops) * 1e6)), 1),
        machine_busy_pct: round(median(rs.map((r) => (r.machineCpuSeconds / (r.seconds * cores)) * 100)), 0),
        // The machine's busy cores less the driver's and the Redis nodes': processes outside this run (noise).
        other_cores: round(
          median(
            rs.map(
              (r) =>
                (r.machineCpuSeconds - r.driverCpuSeconds - r.nodes.reduce((sum, node) => sum + node.cpuSeconds, 0)) /
                r.seconds,
            ),
          ),
          2,
        ),
        replicas_cores: round(
          nodes.filter((node) => node.role === 'replica').reduce((sum, node) => sum + (node.cores ?? 0), 0),
          2,
        ),
        feed_primary: feed?.address ?? null,
        feed_primary_cores: feed?.cores ?? null,
        feed_primary_cpu_us_per_logout: feed?.cpu_us_per_logout ?? null,
        // The rate at which the feed's primary would use one full core, everything else as measured.
        feed_primary_ceiling_per_s: ceiling(feed?.cpu_us_per_logout),
        feed_write_cpu_us_estimate: feedWriteUs,
        feed_write_ceiling_per_s: ceiling(feedWriteUs),
        busiest_primary: busiest?.address ?? null,
        busiest_primary_holds: busiest?.holds ?? null,
        busiest_primary_cpu_us_per_logout: busiest?.cpu_us_per_logout ?? null,
        // The rate at which the busiest primary would use one full core: what caps this cell's logouts.
        busiest_primary_ceiling_per_s: ceiling(busiest?.cpu_us_per_logout),
        nodes,
      };
    });
    json.redis_logouts = {
      concurrency: logouts.concurrency,
      cluster_feed_primary: logouts.feedPrimary,
      cluster_single_user: logouts.clusterSub,
      cluster_single_user_primary: logouts.userPrimary,
      cluster_feed_parts: logouts.feedParts,
      cluster_single_user_feed_parts: logouts.clusterSubParts,
      cells,
    };
    for (const cell of cells)
      ratios[
        `redis_logouts_${cell.target === 'cluster' ? 'cluster' : 'single'}_${cell.call === 'revokeSession' ? 'session' : 'user'}_${cell.users}${cell.feed_slots === 1 ? '' : `_feed${cell.feed_slots}`}_per_s`
      ] = cell.rate_per_s;
    /** Each primary's `value`, with what it holds on the cluster. */
    const perPrimary = (cell: (typeof cells)[number], value: (node: (typeof cell.nodes)[number]) => number | null) =>
      cell.nodes
        .filter((node) => node.role === 'primary')
        .map(
          (node) =>
            `${show(value(node))}${node.holds.length > 0 && cell.target === 'cluster' ? ` (${node.holds.join(', ')})` : ''}`,
        )
        .join(' / ');
    const slotsOf = (c: (typeof cells)[number]) => (c.target === 'cluster' ? String(c.feed_slots) : '1');
    const spread = Object.entries(logouts.feedParts)
      .filter(([slots]) => slots !== '1')
      .map(
        ([slots, parts]) =>
          `with \`feedSlots: ${slots}\` its parts (\`{feed}\`, \`{feed:1:<n>}\`...) are on ${parts.join(', ')} and \`${logouts.clusterSub}\`'s changes in part ${logouts.clusterSubParts[slots] ?? '?'}`,
      );
    md.push(
      '',
      '### Logouts on Redis',
      '',
      `The store's \`revokeSession\` (log out one device) and \`revokeUser\` (log out everywhere), called directly by ${logouts.concurrency} callers in one Node process (each calls again as soon as its call returned; no HTTP), on one redis-server and on the Redis Cluster; "one user": every call for the same user (on the cluster, \`${logouts.clusterSub}\`, whose slot is on ${logouts.userPrimary}; the feed's slot is on ${logouts.feedPrimary}${spread.length > 0 ? `; ${spread.join('; ')}` : ''}), "many": a new user each call. Each logout is two \`EVAL\`s: the change feed (the \`{feed}\` slot, or with \`feedSlots\` above 1 the part of the user's id), then the user's key. Node CPU from \`INFO cpu\`, the driver's from the process; the ceiling is the rate at which the busiest primary would use one full core. Medians over the passes; every process shares the same ${cores} cores.`,
      '',
      "| Redis | call | users | feed slots | logouts/s | p50 ms | p99 ms | errors | driver cores | primaries' cores | replicas' cores | busiest primary µs/logout | its ceiling /s | machine busy | other cores |",
      '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
      ...cells.map(
        (c) =>
          `| ${c.target} | ${c.call} | ${c.users} | ${slotsOf(c)} | ${show(c.rate_per_s)} | ${show(c.p50_ms)} | ${show(c.p99_ms)} | ${c.errors} | ${show(c.driver_cores)} | ${perPrimary(c, (node) => node.cores)} | ${c.target === 'cluster' ? show(c.replicas_cores) : 'n/a'} | ${show(c.busiest_primary_cpu_us_per_logout)} | ${show(c.busiest_primary_ceiling_per_s)} | ${show(c.machine_busy_pct, ' %')} | ${show(c.other_cores)} |`,
      ),
      '',
      'CPU per logout of each primary (µs, what it holds), the busiest, and the rate at which it would use one full core:',
      '',
      '| Redis | call | users | feed slots | µs per logout on each primary | busiest µs/logout | ceiling /s |',
      '|---|---|---|---:|---|---:|---:|',
      ...cells.map(
        (c) =>
          `| ${c.target} | ${c.call} | ${c.users} | ${slotsOf(c)} | ${perPrimary(c, (node) => node.cpu_us_per_logout)} | ${show(c.busiest_primary_cpu_us_per_logout)} | ${show(c.busiest_primary_ceiling_per_s)} |`,
      ),
    );
    const manyOf = (slots: number) =>
      cells.find(
        (c) => c.target === 'cluster' && c.call === 'revokeSession' && c.users === 'many' && c.feed_slots === slots,
      );
    const many = manyOf(1);
    if (many !== undefined) {
      md.push(
        '',
        `Cluster, device logouts of many users: ${show(many.rate_per_s)}/s with the driver at ${show(many.driver_cores)} cores and the feed's primary at ${show(many.feed_primary_cores)} (${show(many.feed_primary_cpu_us_per_logout)} µs per logout, of which the feed writes about ${show(many.feed_write_cpu_us_estimate)} µs): that primary alone would reach a full core at about ${show(many.feed_primary_ceiling_per_s)} logouts/s (the feed writes alone at about ${show(many.feed_write_ceiling_per_s)}/s).`,
      );
    }
    for (const slots of Object.keys(logouts.feedParts).map(Number)) {
      const spreadCell = slots === 1 ? undefined : manyOf(slots);
      if (spreadCell === undefined) continue;
      md.push(
        '',
        `Cluster, device logouts of many users with \`feedSlots: ${slots}\`: ${show(spreadCell.rate_per_s)}/s (one feed slot: ${show(many?.rate_per_s ?? null)}/s); µs per logout on each primary ${perPrimary(spreadCell, (node) => node.cpu_us_per_logout)} (one feed slot: ${many === undefined ? 'n/a' : perPrimary(many, (node) => node.cpu_us_per_logout)}); the busiest, ${spreadCell.busiest_primary ?? 'n/a'}, at ${show(spreadCell.busiest_primary_cpu_us_per_logout)} µs would reach a full core at about ${show(spreadCell.busiest_primary_ceiling_per_s)} logouts/s (one feed slot: ${show(many?.busiest_primary_ceiling_per_s ?? null)}/s).`,
      );
    }
  }
  return { json, ratios, markdown: md };
}

/**
 * The copy-scale run: req/s with the seeded copy against an empty one, how long a new instance took to load it,
 * its memory, and the cross-instance delay under a steady logout rate.
 */
function copyScaleReport(
  input: ReportInput,
  targets: Target[],
): { json: unknown; ratios: Record<string, number | null>; markdown: string[] } | undefined {
  const c = input.copyScale;
  if (c === undefined) return undefined;
  const { cores } = input;
  const n = (value: number) => value.toLocaleString('en-US');
  const ratios: Record<string, number | null> = {};
  const e = median(c.empty.map(okRps));
  const x = median(c.seeded.map(okRps));
  const ratio = round(x / e, 3);
  const top = c.empty[0]?.connections ?? 0;
  ratios[`copy_seeded_vs_empty_c${top}`] = ratio;
  targets.push({
    target: `copy at scale: revocable-redis-cached with ${n(c.entries)} revocations in its copy within 10 % of an empty copy (c${top})`,
    measured: `${show(ratio)} × (${Math.round(x)} vs ${Math.round(e)} 2xx/s, medians)`,
    value: ratio,
    met: ratio === null ? null : ratio >= 0.9,
  });

  const instance = (l: CopyInstanceLoad) => {
    const from = l.startup?.instanceStartedAtMs;
    return {
      instance: l.label,
      instance_to_ready_ms:
        l.startup === undefined ? null : round(l.startup.readyAtMs - l.startup.instanceStartedAtMs, 0),
      instance_to_copy_in_use_ms:
        from === undefined || l.copyInUseAtMs === undefined ? null : round(l.copyInUseAtMs - from, 0),
      copy_in_use: l.copyInUseAtMs !== undefined,
      waited_seconds: round(l.waitedSeconds, 1),
      requests_until_then: l.polls,
      requests_refused: l.pollsRefused,
      heap_mb: mb(l.memory.heapUsed),
      array_buffers_mb: mb(l.memory.arrayBuffers),
      rss_mb: mb(l.memory.rss),
      heap_after_full_gc: l.memory.afterGc,
    };
  };
  const instances = c.instances.map(instance);
  const of = (label: CopyInstanceLoad['label']) => c.instances.find((i) => i.label === label);
  const memoryOf = (seeded: MemorySample | undefined, empty: MemorySample | undefined) =>
    seeded === undefined || empty === undefined
      ? null
      : {
          empty_rss_mb: mb(empty.rss),
          seeded_rss_mb: mb(seeded.rss),
          rss_bytes_per_entry: round((seeded.rss - empty.rss) / c.entries, 0),
          empty_heap_mb: mb(empty.heapUsed),
          seeded_heap_mb: mb(seeded.heapUsed),
          heap_bytes_per_entry: round((seeded.heapUsed - empty.heapUsed) / c.entries, 0),
          empty_array_buffers_mb: mb(empty.arrayBuffers),
          seeded_array_buffers_mb: mb(seeded.arrayBuffers),
          array_buffers_bytes_per_entry: round((seeded.arrayBuffers - empty.arrayBuffers) / c.entries, 0),
          heap_and_array_buffers_bytes_per_entry: round(
            (seeded.heapUsed + seeded.arrayBuffers - empty.heapUsed - empty.arrayBuffers) / c.entries,
            0,
          ),
          heap_after_full_gc: seeded.afterGc && empty.afterGc,
        };
  const memory = {
    after_load: memoryOf(of('seeded')?.memory, of('empty')?.memory),
    after_run: memoryOf(c.afterRun.seeded, c.afterRun.empty),
  };
  const perReq = (results: LoadResult[], pick: (r: LoadResult) => number | undefined) => {
    const values = results.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return values.length === 0 ? null : round(median(values), 3);
  };
  const mgets = {
    empty: perReq(c.empty, (r) => r.dbCommandsPerRequest?.reads),
    seeded: perReq(c.seeded, (r) => r.dbCommandsPerRequest?.reads),
  };

  const watches = c.crossInstance.watches;
  const refusals = watches
    .map((w) => w.firstRefusedAfterMs)
    .filter((d): d is number => d !== undefined)
    .sort((a, b) => a - b);
  const lastAccepted = watches.map((w) => w.lastAcceptedAfterMs).sort((a, b) => a - b);
  const lastAcceptedSent = watches.map((w) => w.lastAcceptedSentAfterMs).sort((a, b) => a - b);
  const stats = (sorted: number[]) => ({
    p50: round(percentileOf(sorted, 50) ?? Number.NaN, 1),
    p99: round(percentileOf(sorted, 99) ?? Number.NaN, 1),
    max: round(sorted.at(-1) ?? Number.NaN, 1),
  });
  const allowance = c.allowanceMs;
  const neverRefused = watches.filter((w) => w.firstRefusedAfterMs === undefined).length;
  const refusedLate = watches.filter((w) => (w.firstRefusedAfterMs ?? Number.POSITIVE_INFINITY) > allowance).length;
  const acceptedLate = watches.filter((w) => w.lastAcceptedAfterMs > allowance).length;
  const withinBound = watches.filter(
    (w) =>
      w.firstRefusedAfterMs !== undefined && w.firstRefusedAfterMs <= allowance && w.lastAcceptedAfterMs <= allowance,
  ).length;
  const sameSent = watches.reduce((sum, w) => sum + w.sameInstanceSent, 0);
  const sameAccepted = watches.reduce((sum, w) => sum + w.sameInstanceAccepted, 0);
  const acceptedBefore = watches.reduce((sum, w) => sum + w.acceptedBefore, 0);
  const cross = {
    logouts: watches.length,
    logout_kinds: {
      one_device: watches.filter((w) => w.kind === 'logout').length,
      everywhere: watches.filter((w) => w.kind === 'logout-all').length,
    },
    rate_per_s: c.crossInstance.ratePerSecond,
    achieved_per_s: round(c.crossInstance.achievedPerSecond, 1),
    max_revocation_delay_ms: c.maxRevocationDelayMs,
    incremental_feed_read_ms: round(c.incrementalFeedReadMs, 2),
    allowance_ms: round(allowance, 1),
    first_refusal_after_logout_ms: stats(refusals),
    last_acceptance_after_logout_ms: stats(lastAccepted),
    // By when the accepted request was sent: B decided after that, so this is a lower bound of how late it was.
    last_acceptance_sent_after_logout_ms: stats(lastAcceptedSent),
    accepted_sent_over_allowance: watches.filter((w) => w.lastAcceptedSentAfterMs > allowance).length,
    never_refused: neverRefused,
    first_refusal_over_allowance: refusedLate,
    last_acceptance_over_allowance: acceptedLate,
    within_allowance: withinBound,
    same_instance_sent_after_logout: sameSent,
    same_instance_accepted_after_logout: sameAccepted,
    b_accepted_before_logout: acceptedBefore,
    logout_ms: stats(watches.map((w) => w.logoutMs).sort((a, b) => a - b)),
    timing: c.crossInstance.timing,
  };
  targets.push({
    target: `copy at scale, cross-instance under ${c.crossInstance.ratePerSecond} logouts/s: requests instance A accepted after its own logout answered = 0`,
    measured: `${sameAccepted} of ${sameSent}`,
    value: sameAccepted,
    met: sameAccepted === 0 && sameSent > 0,
  });
  targets.push({
    target: `copy at scale, cross-instance: every logout refused by B, and never accepted after, within ${c.maxRevocationDelayMs} ms + one feed read (${round(allowance, 1)} ms)`,
    measured: `${withinBound} of ${watches.length} (first refusal p50 ${show(cross.first_refusal_after_logout_ms.p50)} / p99 ${show(cross.first_refusal_after_logout_ms.p99)} / max ${show(cross.first_refusal_after_logout_ms.max)} ms; last acceptance max ${show(cross.last_acceptance_after_logout_ms.max)} ms)`,
    value: watches.length - withinBound,
    met: watches.length > 0 && withinBound === watches.length && acceptedBefore > 0,
  });

  const json = {
    app: 'revocable-redis-cached',
    max_revocation_delay_ms: c.maxRevocationDelayMs,
    revocation_copy_limit: 'default (2,000,000)',
    entries: {
      revocations: c.entries,
      users_with_watermark: c.watermarks,
      revoked_sessions: c.revokedSessions,
      feed_entries: c.entries,
      first_user: `user-${c.firstUser}`,
    },
    seed_seconds: round(c.seed.seconds, 1),
    aof_rewrite_seconds: round(c.aofRewriteSeconds, 1),
    checked_through_store: c.checkedUsers,
    used_memory_mb: { before_seed: mb(c.seed.usedMemoryBefore), after_seed: mb(c.seed.usedMemoryAfter) },
    whole_feed_read_from_orchestrator: { ms: round(c.wholeFeedRead.ms, 0), changes: c.wholeFeedRead.changes },
    load: instances,
    memory,
    empty_ok_rps: c.empty.map((r) => round(okRps(r), 0)),
    seeded_ok_rps: c.seeded.map((r) => round(okRps(r), 0)),
    ratio,
    mget_per_req: mgets,
    empty: c.empty.map((r) => rowJson('revocable-redis-cached (empty feed)', r, cores)),
    seeded: c.seeded.map((r) => rowJson('revocable-redis-cached (seeded feed)', r, cores)),
    cross_instance: cross,
  };

  const ms = (value: number | null) => (value === null ? 'n/a' : `${n(value)} ms`);
  const md: string[] = [
    '',
    '### The bounded-delay copy at scale (Redis)',
    '',
    `\`revocable-redis-cached\` (\`revocable-redis\` with \`maxRevocationDelay: ${c.maxRevocationDelayMs}\`, \`revocationCopyLimit\` at its default) at ${top} connections on two redis-servers of this run, alternately: one whose change feed holds ${n(c.entries)} revocations (${n(c.watermarks)} users' logout-everywhere watermarks and ${n(c.revokedSessions)} revoked sessions, users \`user-${c.firstUser}\` on, none of the load's; the keys too), seeded by Lua in ${c.seed.seconds.toFixed(1)} s, and an empty one; both feeds begin before the tokens in rotation were issued. A whole read of the seeded feed from the orchestrator, as one \`readFeed\` call: ${n(c.wholeFeedRead.changes)} changes in ${n(Math.round(c.wholeFeedRead.ms))} ms. Medians of ${c.empty.length} pass(es).`,
    '',
    '| Feed | 2xx/s (median) | passes | p99 ms (median) | app CPU µs/req | MGET/req |',
    '|---|---:|---|---:|---:|---:|',
    `| empty | ${Math.round(e)} | ${c.empty.map((r) => Math.round(okRps(r))).join(', ')} | ${show(round(median(c.empty.map((r) => r.p99Ms)), 2))} | ${show(round(median(c.empty.map((r) => (r.cpu.app / r.requests) * 1e6)), 0))} | ${show(mgets.empty)} |`,
    `| seeded | ${Math.round(x)} | ${c.seeded.map((r) => Math.round(okRps(r))).join(', ')} | ${show(round(median(c.seeded.map((r) => r.p99Ms)), 2))} | ${show(round(median(c.seeded.map((r) => (r.cpu.app / r.requests) * 1e6)), 0))} | ${show(mgets.seeded)} |`,
    '',
    `Seeded ÷ empty: **${show(ratio)}**. MGET/req is the server's own count over the run (warm-up included): 0 when every check was answered from the copy, about 1 when every check read the store.`,
    '',
    `A new instance (one at a time, nothing else running): "ready" is from just before \`createSessionAuth\` to \`auth.ready\` resolving (the store's setup and the copy's first whole read, as \`ready\` documents; it never rejects, so a first read that failed or timed out settles it too); "copy in use" is from the same start to the response of the first request whose check was answered without a store read (the server's MGET count did not move across it), polled with the load's cookies every ~10 ms after "ready" (at most ${c.waitSeconds} s). Heap after a full GC (--expose-gc) and RSS once the copy was in use (or the wait ended).`,
    '',
    '| Instance | ready | copy in use | requests until then (refused) | heap MB | array buffers MB | RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...instances.map(
      (i) =>
        `| ${i.instance} | ${ms(i.instance_to_ready_ms)} | ${i.copy_in_use ? ms(i.instance_to_copy_in_use_ms) : `not within ${c.waitSeconds} s`} | ${i.requests_until_then} (${i.requests_refused}) | ${show(i.heap_mb)} | ${show(i.array_buffers_mb)} | ${show(i.rss_mb)} |`,
    ),
    '',
    `Memory of the seeded instance against the empty one (MB, and bytes per entry: the difference over the ${n(c.entries)} revocations). Heap and array buffers (typed arrays live outside the JavaScript heap) after a full GC, then RSS:`,
    '',
    '| When | RSS seeded / empty | B/entry | heap seeded / empty | B/entry | array buffers seeded / empty | B/entry | heap + buffers B/entry |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...(['after_load', 'after_run'] as const).map((when) => {
      const m = memory[when];
      return m === null
        ? `| ${when.replace('_', ' ')} | n/a | | | | | | |`
        : `| ${when.replace('_', ' ')} | ${show(m.seeded_rss_mb)} / ${show(m.empty_rss_mb)} | ${show(m.rss_bytes_per_entry)} | ${show(m.seeded_heap_mb)} / ${show(m.empty_heap_mb)} | ${show(m.heap_bytes_per_entry)} | ${show(m.seeded_array_buffers_mb)} / ${show(m.empty_array_buffers_mb)} | ${show(m.array_buffers_bytes_per_entry)} | ${show(m.heap_and_array_buffers_bytes_per_entry)} |`;
    }),
    '',
    `Cross-instance delay: instances A (the seeded one) and B (a second instance on the seeded server, started after the runs): ${cross.logouts} logouts through A at ${cross.rate_per_s}/s (achieved ${show(cross.achieved_per_s)}/s), alternately one device (\`POST /logout\`) and everywhere (\`POST /logout-all\`, probed with the user's other device), each of a user of its own; B polled with the revoked cookie from ${c.crossInstance.timing.leadMs} ms before the logout (a ${c.crossInstance.timing.pollGapMs} ms pause between requests) until ${c.crossInstance.timing.tailMs} ms after A's ${c.crossInstance.timing.sameInstanceProbes} probes and at least until its first refusal (at most ${c.crossInstance.timing.watchMs} ms). From A's logout response to B's first refusal: p50 ${show(cross.first_refusal_after_logout_ms.p50)} ms, p99 ${show(cross.first_refusal_after_logout_ms.p99)} ms, max ${show(cross.first_refusal_after_logout_ms.max)} ms (never refused: ${neverRefused}); to B's last acceptance (0 when none): p50 ${show(cross.last_acceptance_after_logout_ms.p50)}, p99 ${show(cross.last_acceptance_after_logout_ms.p99)}, max ${show(cross.last_acceptance_after_logout_ms.max)} ms (answer times are when the orchestrator read them; by when the accepted request was sent, a lower bound: p99 ${show(cross.last_acceptance_sent_after_logout_ms.p99)}, max ${show(cross.last_acceptance_sent_after_logout_ms.max)} ms, ${cross.accepted_sent_over_allowance} sent past the bound). The bound, as the cached-correctness run counts it: ${c.maxRevocationDelayMs} ms + one feed read (${show(cross.incremental_feed_read_ms)} ms, the median of 20 reads of what changed, from the orchestrator) + 5 ms for an HTTP request = ${show(cross.allowance_ms)} ms; within it: ${withinBound} of ${watches.length}. A accepted ${sameAccepted} of ${sameSent} requests sent after its own logout answered; B accepted ${acceptedBefore} before the logouts.`,
  ];
  return { json, ratios, markdown: md };
}

/**
 * Exact mode against its model. An Express app is one thread, so once it is saturated req/s ≈ 1 / (app CPU per
 * request). An exact check adds to what stateless-key spends (JWT, Express, no store) the client's CPU of the
 * store round trips it needs, shared by the checks they carry:
 *   modelled app CPU/req = stateless-key's app CPU/req + bare round trip's client CPU × round trips per request
 *   modelled req/s       = stateless-key's req/s × stateless-key's app CPU/req ÷ modelled app CPU/req
 * all from the same run at the same level (medians over the passes). The bare round trip is the orchestrator's
 * own, one at a time (round-trip.ts): a MongoDB `find` by `_id` (the store's read is a `find` on `_id`), a Redis
 * `MGET` of a check's three keys. Round trips per request: MongoDB, the server's read commands per response (one
 * `find` per batch of checks); Redis, the server's socket reads per response (node-redis sends a turn's MGETs in
 * one write, so a round trip carries them all); 1 / that is the checks per round trip. Measured ÷ modelled near 1:
 * the check costs the app what its round trips cost; below 1: something else costs too (or the app was not the
 * bottleneck: at 1 connection it never is, so that level is left out); above 1: a batched round trip costs less
 * than a bare one. The database's own CPU on the same cores is not in the model.
 */
function exactModel(
  input: ReportInput,
  resultsOf: (name: string, connections: number) => LoadResult[],
  rpsOf: (name: string, connections: number) => number | undefined,
): { json: unknown; ratios: Record<string, number | null>; markdown: string[] } {
  const ratios: Record<string, number | null> = {};
  const levels = [...new Set(input.runs.map((r) => r.result.connections))].filter((c) => c > 1).sort((a, b) => a - b);
  const cpuUs = (results: LoadResult[]) =>
    results.length === 0 ? undefined : median(results.map((r) => (r.cpu.app / r.requests) * 1e6));
  const mongoTrips = input.roundTrips;
  const redisTrips = input.roundTrips.flatMap((t) => (t.redis === undefined ? [] : [t.redis]));
  const roundTripCpu = {
    mongo: mongoTrips.length === 0 ? undefined : mean(mongoTrips.map((t) => t.findById.cpuUs)),
    redis: redisTrips.length === 0 ? undefined : mean(redisTrips.map((t) => t.mget.cpuUs)),
  };
  // The client CPU each further document of a MongoDB read costs, from a bare read of BATCH_IDS documents: a read
  // at 16 connections carries about 7 checks, and the model counts what each adds.
  const batchTrips = mongoTrips.flatMap((t) => (t.findBatch === undefined ? [] : [t.findBatch.cpuUs]));
  const perDocumentCpu =
    batchTrips.length === 0 || roundTripCpu.mongo === undefined
      ? 0
      : Math.max(0, (mean(batchTrips) - roundTripCpu.mongo) / (BATCH_IDS - 1));
  const rows = [];
  for (const [name, kind] of [
    ['revocable-mongo', 'mongo'],
    ['revocable-redis', 'redis'],
  ] as const) {
    for (const c of levels) {
      const results = resultsOf(name, c);
      const stateless = resultsOf('stateless-key', c);
      if (results.length === 0) continue;
      const rps = rpsOf(name, c);
      const statelessRps = rpsOf('stateless-key', c);
      const statelessCpu = cpuUs(stateless);
      const tripsPerReq = results
        .map((r) => (kind === 'mongo' ? r.dbCommandsPerRequest?.reads : r.dbSocketReadsPerRequest))
        .filter((v): v is number => v !== undefined && Number.isFinite(v));
      const trips = tripsPerReq.length === 0 ? undefined : median(tripsPerReq);
      const checksPerTrip = trips === undefined || !(trips > 0) ? 1 : Math.max(1, 1 / trips);
      const tripCpu =
        roundTripCpu[kind] === undefined
          ? undefined
          : roundTripCpu[kind] + (kind === 'mongo' ? perDocumentCpu * (checksPerTrip - 1) : 0);
      const modelCpu =
        statelessCpu === undefined || trips === undefined || tripCpu === undefined
          ? undefined
          : statelessCpu + tripCpu * trips;
      const modelRps =
        modelCpu === undefined || statelessRps === undefined || statelessCpu === undefined
          ? undefined
          : (statelessRps * statelessCpu) / modelCpu;
      const value = rps === undefined || modelRps === undefined ? null : round(rps / modelRps, 2);
      ratios[`${name.replace(/-/g, '_')}_vs_model_c${c}`] = value;
      const measuredCpu = cpuUs(results);
      rows.push({
        scenario: name,
        connections: c,
        ok_rps: rps === undefined ? null : round(rps, 0),
        stateless_key_ok_rps: statelessRps === undefined ? null : round(statelessRps, 0),
        vs_stateless_key: rps === undefined || statelessRps === undefined ? null : round(rps / statelessRps, 2),
        app_cpu_us_per_req: measuredCpu === undefined ? null : round(measuredCpu, 0),
        stateless_key_app_cpu_us_per_req: statelessCpu === undefined ? null : round(statelessCpu, 0),
        round_trip:
          kind === 'mongo' ? 'MongoDB find by _id, plus each further document of a batch' : 'Redis MGET (3 keys)',
        round_trip_client_cpu_us: tripCpu === undefined ? null : round(tripCpu, 0),
        round_trips_per_req: trips === undefined ? null : round(trips, 3),
        checks_per_round_trip: trips === undefined || !(trips > 0) ? null : round(1 / trips, 1),
        mget_per_req:
          kind === 'redis' ? round(median(results.map((r) => r.dbCommandsPerRequest?.reads ?? Number.NaN)), 3) : null,
        modelled_app_cpu_us_per_req: modelCpu === undefined ? null : round(modelCpu, 0),
        modelled_ok_rps: modelRps === undefined ? null : round(modelRps, 0),
        measured_vs_modelled: value,
        // The model assumes the app saturated (about 1 core): lower, the run was bound by something else.
        app_cores: round(median(results.map((r) => r.cpu.app / r.seconds)), 2),
        stateless_key_app_cores:
          stateless.length === 0 ? null : round(median(stateless.map((r) => r.cpu.app / r.seconds)), 2),
        app_cpu_measured_vs_modelled:
          measuredCpu === undefined || modelCpu === undefined ? null : round(measuredCpu / modelCpu, 2),
      });
    }
  }
  if (rows.length === 0) return { json: null, ratios, markdown: [] };
  const md = [
    '',
    '### Exact mode against its model',
    '',
    "Modelled app CPU per request = stateless-key's + a bare round trip's client CPU × round trips per request; modelled req/s = stateless-key's req/s scaled by the two CPU figures (the app saturated in both). Round trips per request: MongoDB's read commands per response, Redis's socket reads per response (node-redis sends a turn's MGETs in one write); the bare round trips are the orchestrator's own (MongoDB `find` by `_id`, plus what each further document of a read costs, from a bare `find` of " +
      String(BATCH_IDS) +
      ' documents by `$in`, times the checks per read less one; Redis `MGET` of three keys). Same run, same level, medians over the passes.',
    '',
    '| Scenario | Conns | 2xx/s | ÷ stateless-key | app CPU µs/req | stateless-key µs/req | round trip CPU µs | round trips/req (checks each) | modelled µs/req | modelled 2xx/s | measured ÷ modelled |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.connections} | ${show(r.ok_rps)} | ${show(r.vs_stateless_key)} | ${show(r.app_cpu_us_per_req)} | ${show(r.stateless_key_app_cpu_us_per_req)} | ${show(r.round_trip_client_cpu_us)} | ${show(r.round_trips_per_req)} (${show(r.checks_per_round_trip)})${r.mget_per_req === null ? '' : `, MGET/req ${r.mget_per_req}`} | ${show(r.modelled_app_cpu_us_per_req)} | ${show(r.modelled_ok_rps)} | **${show(r.measured_vs_modelled)}** |`,
    ),
  ];
  return {
    json: {
      round_trip_client_cpu_us: {
        mongodb_find_by_id: roundTripCpu.mongo === undefined ? null : round(roundTripCpu.mongo, 0),
        redis_mget: roundTripCpu.redis === undefined ? null : round(roundTripCpu.redis, 0),
      },
      rows,
    },
    ratios,
    markdown: md,
  };
}

/** The Redis round trips of the samples that have them (means), or null. */
function redisRoundTripJson(samples: RoundTrips[]) {
  const redis = samples.flatMap((t) => (t.redis === undefined ? [] : [t.redis]));
  if (redis.length === 0) return null;
  return {
    ping_wall_us: round(mean(redis.map((r) => r.ping.wallMs)) * 1000, 0),
    ping_client_cpu_us: round(mean(redis.map((r) => r.ping.cpuUs)), 0),
    mget_wall_us: round(mean(redis.map((r) => r.mget.wallMs)) * 1000, 0),
    mget_client_cpu_us: round(mean(redis.map((r) => r.mget.cpuUs)), 0),
    samples: redis.length,
  };
}

export function buildReport(input: ReportInput): { markdown: string; json: unknown } {
  const { settings, runs, cores } = input;
  const rows = runs.map((run) => rowJson(run.name, run.result, cores, run.stats));
  const resultsOf = (name: string, connections: number) =>
    runs.filter((r) => r.name === name && r.result.connections === connections).map((r) => r.result);
  /** Median 2xx/s over the passes (BENCH_REPEAT) of one scenario at one level. */
  const rpsOf = (name: string, connections: number) => {
    const results = resultsOf(name, connections);
    return results.length === 0 ? undefined : median(results.map(okRps));
  };
  const ratio = (a: string, b: string, connections = 64) => {
    const x = rpsOf(a, connections);
    const y = rpsOf(b, connections);
    return x === undefined || y === undefined || y === 0 ? null : round(x / y, 2);
  };
  // The c1 excess: (mean latency of revocable-mongo - mean latency of stateless-key) at 1 connection, medians over
  // the passes, in units of the mean wall time of a bare driver find by _id measured in the same run.
  const meanLatency = (name: string) => {
    const results = resultsOf(name, 1);
    return results.length === 0 ? undefined : median(results.map((r) => r.meanMs));
  };
  const findWallMs = input.roundTrips.length === 0 ? undefined : mean(input.roundTrips.map((t) => t.findById.wallMs));
  const pingWallMs = input.roundTrips.length === 0 ? undefined : mean(input.roundTrips.map((t) => t.ping.wallMs));
  const revocableC1 = meanLatency('revocable-mongo');
  const statelessC1 = meanLatency('stateless-key');
  const excessMs = revocableC1 === undefined || statelessC1 === undefined ? undefined : revocableC1 - statelessC1;
  const ratios = {
    revocable_vs_stateless_key_c64: ratio('revocable-mongo', 'stateless-key'),
    revocable_vs_stateless_key_c16: ratio('revocable-mongo', 'stateless-key', 16),
    c1_excess_round_trips: excessMs === undefined || findWallMs === undefined ? null : round(excessMs / findWallMs, 2),
    cached_vs_stateless_key_c1: ratio('revocable-mongo-cached', 'stateless-key', 1),
    cached_vs_stateless_key_c64: ratio('revocable-mongo-cached', 'stateless-key'),
    memory_vs_stateless_key_c64: ratio('revocable-memory', 'stateless-key'),
    revocable_vs_session_c64: ratio('revocable-mongo', 'session-mongo'),
  };

  const targets: Target[] = [];
  const atLeast = (target: string, value: number | null, min: number) =>
    targets.push({
      target,
      measured: value === null ? 'not measured' : `${value} ×`,
      value,
      met: value === null ? null : value >= min,
    });
  atLeast('revocable-mongo ≥ 1.5 × session-mongo (c64)', ratios.revocable_vs_session_c64, 1.5);
  atLeast('revocable-mongo ≥ 0.9 × stateless-key (c64)', ratios.revocable_vs_stateless_key_c64, 0.9);
  atLeast('revocable-mongo ≥ 0.85 × stateless-key (c16)', ratios.revocable_vs_stateless_key_c16, 0.85);
  atLeast('revocable-memory ≥ 0.95 × stateless-key (c64)', ratios.memory_vs_stateless_key_c64, 0.95);
  atLeast('revocable-mongo-cached (100 ms) ≥ 0.9 × stateless-key (c1)', ratios.cached_vs_stateless_key_c1, 0.9);
  atLeast('revocable-mongo-cached (100 ms) ≥ 0.95 × stateless-key (c64)', ratios.cached_vs_stateless_key_c64, 0.95);
  targets.push({
    target: 'c1 excess of revocable-mongo over stateless-key ≤ 1.3 bare find round trips',
    measured:
      ratios.c1_excess_round_trips === null
        ? 'not measured'
        : `${ratios.c1_excess_round_trips} round trips (${show(round((excessMs ?? 0) * 1000, 0))} µs over a ${show(round((findWallMs ?? 0) * 1000, 0))} µs find)`,
    value: ratios.c1_excess_round_trips,
    met: ratios.c1_excess_round_trips === null ? null : ratios.c1_excess_round_trips <= 1.3,
  });
  const roundTripJson =
    input.roundTrips.length === 0
      ? null
      : {
          ping_wall_us: round((pingWallMs ?? 0) * 1000, 0),
          ping_client_cpu_us: round(mean(input.roundTrips.map((t) => t.ping.cpuUs)), 0),
          find_by_id_wall_us: round((findWallMs ?? 0) * 1000, 0),
          find_by_id_client_cpu_us: round(mean(input.roundTrips.map((t) => t.findById.cpuUs)), 0),
          samples: input.roundTrips.length,
          redis: redisRoundTripJson(input.roundTrips),
          c1_mean_latency_ms: {
            'revocable-mongo': revocableC1 === undefined ? null : round(revocableC1, 3),
            'stateless-key': statelessC1 === undefined ? null : round(statelessC1, 3),
            'revocable-mongo-cached':
              meanLatency('revocable-mongo-cached') === undefined
                ? null
                : round(meanLatency('revocable-mongo-cached') as number, 3),
          },
        };

  const claims = claimsReport(input, rpsOf, targets);
  const model = exactModel(input, resultsOf, rpsOf);
  const copy = copyScaleReport(input, targets);

  let scaleJson: unknown = null;
  if (input.scale !== undefined) {
    const empty = mean(input.scale.empty.map(okRps));
    const seeded = mean(input.scale.seeded.map(okRps));
    const value = round(seeded / empty, 3);
    targets.push({
      target:
        "scale on the benchmark's database server: req/s with 200k documents within 10 % of the empty database (on FerretDB 1.x this measures FerretDB's limit: it scans on _id lookups)",
      measured: `${show(value)} × (${Math.round(seeded)} vs ${Math.round(empty)} 2xx/s)`,
      value,
      met: value === null ? null : Math.abs(value - 1) <= 0.1,
    });
    scaleJson = {
      documents: { users_with_lastLogoutAt: 100_000, revoked_sessions: 100_000 },
      seed_seconds: round(input.scale.seedSeconds, 1),
      empty_ok_rps: input.scale.empty.map((r) => round(okRps(r), 0)),
      seeded_ok_rps: input.scale.seeded.map((r) => round(okRps(r), 0)),
      empty: input.scale.empty.map((r) => rowJson('revocable-mongo (empty db)', r, cores)),
      seeded: input.scale.seeded.map((r) => rowJson('revocable-mongo (200k documents)', r, cores)),
      ratio: value,
    };
  }

  let memoryScaleJson: unknown = null;
  if (input.memoryScale !== undefined) {
    const { entries, empty, seeded } = input.memoryScale;
    const e = median(empty.map(okRps));
    const x = median(seeded.map(okRps));
    const value = round(x / e, 3);
    targets.push({
      target: `scale, memory store: req/s with ${entries.toLocaleString('en-US')} watermarks + ${entries.toLocaleString('en-US')} revoked sessions within 10 % of an empty store`,
      measured: `${show(value)} × (${Math.round(x)} vs ${Math.round(e)} 2xx/s, medians)`,
      value,
      met: value === null ? null : value >= 0.9,
    });
    memoryScaleJson = {
      entries: { users_with_watermark: entries, revoked_sessions: entries },
      empty_ok_rps: empty.map((r) => round(okRps(r), 0)),
      seeded_ok_rps: seeded.map((r) => round(okRps(r), 0)),
      seeded_status_counts: seeded.map((r) => r.statusCounts),
      seeded_rss_mb: seeded.map((r) => mb(r.appRss)),
      empty_rss_mb: empty.map((r) => mb(r.appRss)),
      ratio: value,
    };
  }

  const redis = redisReport(input, targets);

  let memoryJson: unknown = null;
  let correctnessJson: Record<string, unknown> | null = null;
  if (input.memory !== undefined) {
    const { result, seconds, earlySeconds } = input.memory;
    const series = result.rssSeries ?? [];
    // RSS follows the garbage collector's sawtooth (tens of MB within seconds): compare the medians of the five
    // one-second samples around the early mark and of the last five, not two single samples.
    const median = (points: { rss: number }[]) => {
      const sorted = points.map((p) => p.rss).sort((a, b) => a - b);
      return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
    };
    const early = median(series.filter((p) => Math.abs(p.atSeconds - earlySeconds) <= 2.5));
    const late = median(series.slice(-5));
    const value = early !== undefined && late !== undefined ? round(late / early, 3) : null;
    targets.push({
      target: `memory: app RSS after ${seconds} s within 10 % of RSS after ${earlySeconds} s (c${result.connections})`,
      measured:
        early !== undefined && late !== undefined
          ? `${show(value)} × (${mb(early)} → ${mb(late)} MB, medians of 5 samples)`
          : 'not measured',
      value,
      met: value === null ? null : Math.abs(value - 1) <= 0.1,
    });
    memoryJson = {
      seconds,
      early_seconds: earlySeconds,
      scaled: seconds !== 60,
      rss_mb_early: early === undefined ? null : mb(early),
      rss_mb_late: late === undefined ? null : mb(late),
      ratio: value,
      rss_mb_series: series.map((p) => [p.atSeconds, mb(p.rss)]),
      js_heap_mb:
        input.memory.heapMb === undefined
          ? null
          : {
              early: round(input.memory.heapMb.early, 1),
              late: round(input.memory.heapMb.late, 1),
              after_full_gc: input.memory.heapMb.afterGc,
            },
      run: rowJson('revocable-mongo (fresh process)', result, cores),
    };
    const c = result.checker;
    if (c !== undefined) {
      targets.push({
        target: 'correctness: requests accepted after a logout returned = 0',
        measured: `${c.acceptedAfter} of ${c.sentAfter} sent after the logouts returned`,
        value: c.acceptedAfter,
        met: c.acceptedAfter === 0 && c.sentAfter > 0,
      });
      correctnessJson = {
        accepted_after_logout: c.acceptedAfter,
        sent_after_logout: c.sentAfter,
        accepted_before_logout: c.acceptedBefore,
        first_status_after_logout_all: c.firstStatusAfterLogoutAll ?? null,
        first_status_after_logout_one: c.firstStatusAfterLogoutOne ?? null,
        logout_all_ms: round(c.logoutAllMs, 1),
        logout_one_ms: round(c.logoutOneMs, 1),
      };
    }
  }

  const cached = input.cachedCheck;
  if (cached !== undefined) {
    targets.push({
      target: 'cached mode, same instance: requests accepted after its own logout returned = 0',
      measured: `${cached.sameInstanceAccepted} of ${cached.sameInstanceSent}`,
      value: cached.sameInstanceAccepted,
      met: cached.sameInstanceAccepted === 0 && cached.sameInstanceSent > 0,
    });
    // "Plus one read": the bound counts from when a read was sent; allow a bare round trip and an HTTP request.
    const allowance = 100 + (findWallMs ?? 1) + 5;
    targets.push({
      target: `cached mode, other instance: last acceptance after a logout ≤ 100 ms + one read (${round(allowance, 1)} ms)`,
      measured: `${round(cached.crossMaxDelayMs, 1)} ms (each logout: ${cached.crossDelaysMs.map((d) => round(d, 1)).join(', ')} ms)`,
      value: round(cached.crossMaxDelayMs, 1),
      met: cached.crossMaxDelayMs <= allowance && cached.acceptedBefore > 0,
    });
    correctnessJson = {
      ...(correctnessJson ?? {}),
      cached_same_instance_accepted_after_logout: cached.sameInstanceAccepted,
      cached_same_instance_sent_after_logout: cached.sameInstanceSent,
      cached_cross_instance_max_delay_ms: round(cached.crossMaxDelayMs, 1),
      cached_cross_instance_delays_ms: cached.crossDelaysMs.map((d) => round(d, 1)),
      cached_cross_instance_accepted_before_logout: cached.acceptedBefore,
    };
  }

  const md: string[] = [];
  md.push('## Benchmark results', '');
  md.push(
    `Machine: ${input.cores} cores (${input.cpuModel}), ${input.memoryGb.toFixed(0)} GB RAM, Node ${input.nodeVersion}.`,
  );
  md.push(
    `**The app, the database server and the load generator share these ${input.cores} cores**: every figure is lower than on a machine where they run apart, and the CPU columns show who used the cores. "Other" is CPU used by processes outside the benchmark during the run.`,
  );
  md.push(`Database: ${input.dbLabel}.`);
  md.push(
    `Each run: ${settings.durationSeconds} s measured after ${settings.warmupSeconds} s of warm-up, autocannon in its own process, \`GET /me\` with ${settings.tokens.toLocaleString('en-US')} session cookies (${settings.users.toLocaleString('en-US')} users × 2 devices) sent in rotation. The scenarios run one after the other, the order reversed at each connection level.`,
  );
  md.push(
    '"DB reads/req" and "DB writes/req" are the database server\'s own command counters (find, update, ...) over the run divided by the responses. "App cores" is the app process\'s CPU time over the run\'s length: an Express app is one thread, so about 1.0 means the app itself is the bottleneck.',
  );
  md.push(
    "`session-mongo` is express-session + connect-mongo with the defaults users get (`resave: false`, `saveUninitialized: false`, no `touchAfter`): every request reads the session and then touches it (an update), and FerretDB v1 runs updates as read-modify-write. `autoRemove: 'disabled'` because FerretDB v1 has no TTL indexes.",
  );
  if (input.sessionSeedSeconds !== undefined) {
    md.push(
      `Its ${settings.tokens.toLocaleString('en-US')} sessions: one created through the app's login route, the others inserted as copies of the document connect-mongo stored for it, with cookies signed as express-session signs them (${input.sessionSeedSeconds.toFixed(1)} s).`,
    );
  }
  md.push('');
  md.push(
    '| Scenario | Conns | req/s | p50 ms | p99 ms | Errors | Non-2xx | DB reads/req | DB writes/req | App CPU µs/req | DB CPU µs/req | Load gen CPU µs/req | Other CPU µs/req | App cores | DB cores | Machine busy | App RSS MB |',
  );
  md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const sorted = [...rows].sort(
    (a, b) =>
      a.connections - b.connections ||
      runs.findIndex((r) => r.name === a.name) - runs.findIndex((r) => r.name === b.name),
  );
  for (const r of sorted) {
    md.push(
      `| ${r.name} | ${r.connections} | ${show(r.rps)} | ${show(r.p50_ms)} | ${show(r.p99_ms)} | ${r.errors} | ${r.non2xx} | ${show(r.db_reads_per_req)} | ${show(r.db_writes_per_req)} | ${show(r.app_cpu_us_per_req)} | ${input.dbCounted ? show(r.db_cpu_us_per_req) : 'n/a'} | ${show(r.load_cpu_us_per_req)} | ${show(r.other_cpu_us_per_req)} | ${show(r.app_cores)} | ${input.dbCounted ? show(r.db_cores) : 'n/a'} | ${show(r.machine_busy_pct, ' %')} | ${show(r.app_rss_mb)} |`,
    );
  }
  if (runs.some((r) => r.name.startsWith('exp-'))) {
    md.push(
      '',
      '`exp-*` rows are investigation-only apps with store wrappers defined in the benchmark, not part of the package: `exp-two-reads` reads the user and the device session on every request (no device-logout shortcut, no batching), `exp-coalesced` shares one in-flight read between identical concurrent lookups.',
    );
  }
  const counted = runs.filter((r) => Object.values(r.stats).some((v) => v !== 0));
  if (counted.length > 0) {
    md.push(
      '',
      'Counters reported by the apps (warm-up included): `storeErrors` are session-store failures (with FerretDB, touches refused with SQLITE_BUSY under concurrent writes; the request already answered 200 and its connection is closed, as Express does by default), `calls`, `joined` and `userInFlight` are those of the coalescing experiment, `loadClaims`, `requests`, `refreshes`, `refreshErrors` and `refreshingMs` those of the claims scenarios.',
    );
    for (const run of counted) md.push(`- ${run.name} c${run.result.connections}: ${JSON.stringify(run.stats)}`);
  }

  if (roundTripJson !== null && (revocableC1 !== undefined || statelessC1 !== undefined)) {
    md.push(
      '',
      '### One connection: the excess in driver round trips',
      '',
      `Bare driver round trips from the orchestrator's own client, one at a time, measured at the 1-connection level before each pass and after the last (${input.roundTrips.length} samples): \`ping\` ${roundTripJson.ping_wall_us} µs wall (${roundTripJson.ping_client_cpu_us} µs client CPU), \`find\` by \`_id\` ${roundTripJson.find_by_id_wall_us} µs wall (${roundTripJson.find_by_id_client_cpu_us} µs client CPU). Mean latency at c1 (median over passes): revocable-mongo ${show(roundTripJson.c1_mean_latency_ms['revocable-mongo'])} ms, stateless-key ${show(roundTripJson.c1_mean_latency_ms['stateless-key'])} ms, revocable-mongo-cached ${show(roundTripJson.c1_mean_latency_ms['revocable-mongo-cached'])} ms: an excess of ${show(ratios.c1_excess_round_trips)} find round trips.`,
    );
  }
  if (roundTripJson?.redis !== null && roundTripJson?.redis !== undefined) {
    const r = roundTripJson.redis;
    md.push(
      '',
      `Bare Redis round trips from the orchestrator's own node-redis client, one at a time (${r.samples} samples): \`PING\` ${show(r.ping_wall_us)} µs wall (${show(r.ping_client_cpu_us)} µs client CPU), \`MGET\` of a check's three keys ${show(r.mget_wall_us)} µs wall (${show(r.mget_client_cpu_us)} µs client CPU).`,
    );
  }
  md.push(...model.markdown);
  if (claims !== undefined) md.push(...claims.markdown);
  md.push('', '### Targets', '', '| Target | Measured | Met |', '|---|---|---|');
  for (const t of targets)
    md.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} |`);

  if (input.scale !== undefined) {
    const s = input.scale;
    md.push('', '### Scale test', '');
    const e = s.empty[0];
    const x = s.seeded[0];
    md.push(
      `\`revocable-mongo\` at ${e?.connections ?? '?'} connections, first against the empty database, then (a second app process) against a database holding 100,000 users with a \`lastLogoutAt\` (every user in rotation has one) and 100,000 revoked sessions (one per user, logged out 30 min before the tokens in rotation were issued, the user documents updated as the store does), seeded with insertMany in batches of 1,000 in ${s.seedSeconds.toFixed(1)} s.`,
    );
    if (e !== undefined && x !== undefined) {
      md.push(
        `Empty: ${Math.round(okRps(e))} 2xx/s, p50 ${show(round(e.p50Ms, 2))} ms, p99 ${show(round(e.p99Ms, 2))} ms, DB CPU ${show(perRequestUs(e.cpu.db, e.requests))} µs/req. Seeded: ${Math.round(okRps(x))} 2xx/s, p50 ${show(round(x.p50Ms, 2))} ms, p99 ${show(round(x.p99Ms, 2))} ms, ${x.errors} errors, DB CPU ${show(perRequestUs(x.cpu.db, x.requests))} µs/req, answers ${JSON.stringify(x.statusCounts)}.`,
      );
    }
  }
  md.push(...redis.markdown);
  if (copy !== undefined) md.push(...copy.markdown);
  if (input.memory !== undefined) {
    const { result, seconds, earlySeconds } = input.memory;
    md.push('', '### Memory and correctness under load', '');
    const scaledNote =
      seconds === 60
        ? ''
        : ` (shortened from 60 s and 10 s in proportion to BENCH_DURATION=${settings.durationSeconds})`;
    md.push(
      `A fresh \`revocable-mongo\` process under ${result.connections} connections for ${seconds} s, RSS sampled every second and compared around ${earlySeconds} s and at the end (medians of five samples, because RSS follows the garbage collector's sawtooth)${scaledNote}: ${Math.round(result.rps)} req/s, p99 ${show(round(result.p99Ms, 2))} ms.`,
    );
    const heap = input.memory.heapMb;
    if (heap !== undefined) {
      md.push(
        heap.afterGc
          ? `JavaScript heap after a full garbage collection: ${heap.early.toFixed(1)} MB at ${earlySeconds} s, ${heap.late.toFixed(1)} MB at the end (app run with --expose-gc).`
          : `JavaScript heap in use (garbage included; run with BENCH_APP_FLAGS=--expose-gc to measure it after a full collection): ${heap.early.toFixed(1)} MB at ${earlySeconds} s, ${heap.late.toFixed(1)} MB at the end.`,
      );
    }
    const c = result.checker;
    if (c !== undefined) {
      md.push(
        `Halfway through, one user logged out everywhere (\`POST /logout-all\`, ${show(round(c.logoutAllMs, 1))} ms) and another logged out one device (\`POST /logout\`, ${show(round(c.logoutOneMs, 1))} ms), while an extra connection kept requesting \`/me\` with their cookies and autocannon kept sending them in its rotation. Requests with those cookies sent after the logout's response arrived: ${c.sentAfter}, accepted: **${c.acceptedAfter}**; first answers after the logouts: ${c.firstStatusAfterLogoutAll ?? 'none'} and ${c.firstStatusAfterLogoutOne ?? 'none'}; accepted before the logouts: ${c.acceptedBefore}. The ${result.non2xx} non-2xx answers of this run are those refused requests.`,
      );
    }
  }
  md.push('', `Total benchmark time: ${(input.elapsedSeconds / 60).toFixed(1)} min.`, '');

  const json = {
    meta: {
      cores: input.cores,
      cpu: input.cpuModel,
      node: input.nodeVersion,
      database: input.dbLabel,
      shared_cores_note: `app, database server and load generator share the ${input.cores} cores`,
      duration_seconds: settings.durationSeconds,
      warmup_seconds: settings.warmupSeconds,
      tokens: settings.tokens,
      users: settings.users,
      elapsed_seconds: round(input.elapsedSeconds, 0),
      repeat: settings.repeat,
    },
    scenarios: rows,
    ratios: { ...ratios, ...model.ratios, ...(claims?.ratios ?? {}), ...redis.ratios, ...(copy?.ratios ?? {}) },
    claims: claims?.json ?? null,
    round_trips: roundTripJson,
    // The scale results: the MongoDB scale run's fields where they always were (null before when it did not run),
    // the memory store's (also `memory_store_scale`), the copy's and the exact-mode model beside them.
    scale: {
      ...(scaleJson ?? {}),
      memory_store: memoryScaleJson,
      copy: copy?.json ?? null,
      exact_model: model.json,
    },
    memory_store_scale: memoryScaleJson,
    ...redis.json,
    memory: memoryJson,
    correctness: correctnessJson,
    targets: targets.map((t) => ({ target: t.target, value: t.value, met: t.met })),
  };
  return { markdown: `${md.join('\n')}\n`, json };
}
