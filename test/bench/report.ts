// Turns the measurements into the markdown report and the BENCH_JSON document, with the targets of the issue.
import type { CachedCheckResult } from './cached-check.js';
import type { RoundTrips } from './round-trip.js';
import { CLAIMS_SCENARIO, REFRESH_SCENARIO, type BenchSettings, type LoadResult } from './shared.js';

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
  elapsedSeconds: number;
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
/** Successful (2xx) responses per second: what the targets compare. */
const okRps = (r: LoadResult) => (r.requests - r.non2xx) / r.seconds;

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
    other_cpu_us_per_req: perRequestUs(
      Math.max(0, r.cpu.machine - r.cpu.app - (r.cpu.db ?? 0) - r.cpu.load),
      r.requests,
    ),
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

  if (roundTripJson !== null) {
    md.push(
      '',
      '### One connection: the excess in driver round trips',
      '',
      `Bare driver round trips from the orchestrator's own client, one at a time, measured at the 1-connection level before each pass and after the last (${input.roundTrips.length} samples): \`ping\` ${roundTripJson.ping_wall_us} µs wall (${roundTripJson.ping_client_cpu_us} µs client CPU), \`find\` by \`_id\` ${roundTripJson.find_by_id_wall_us} µs wall (${roundTripJson.find_by_id_client_cpu_us} µs client CPU). Mean latency at c1 (median over passes): revocable-mongo ${show(roundTripJson.c1_mean_latency_ms['revocable-mongo'])} ms, stateless-key ${show(roundTripJson.c1_mean_latency_ms['stateless-key'])} ms, revocable-mongo-cached ${show(roundTripJson.c1_mean_latency_ms['revocable-mongo-cached'])} ms: an excess of ${show(ratios.c1_excess_round_trips)} find round trips.`,
    );
  }
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
    ratios: { ...ratios, ...(claims?.ratios ?? {}) },
    claims: claims?.json ?? null,
    round_trips: roundTripJson,
    scale: scaleJson,
    memory_store_scale: memoryScaleJson,
    memory: memoryJson,
    correctness: correctnessJson,
    targets: targets.map((t) => ({ target: t.target, value: t.value, met: t.met })),
  };
  return { markdown: `${md.join('\n')}\n`, json };
}
