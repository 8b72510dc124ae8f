// The Redis scale runs' data: a million users with a "log out everywhere" watermark, a million revoked device
// sessions and a million device-registry records, in the key layout and value formats RedisRevocationStore
// writes (lib/stores/redis/keys.ts, scripts.ts), with the change-feed entries its revocations add. Seeded by
// Lua loops on the server, in batches, phase by phase, so that each kind's memory shows in `INFO memory`.
// The copy-scale run seeds some kinds only (`kinds`), for users numbered from `firstUser` (not the load's).
import { performance } from 'node:perf_hooks';
import { ACCEPTED_PAST_END_MS, MAX_REVOCATION_LIFETIME_MS } from '../../lib/core/limits.js';
import type { RedisRevocationStore } from '../../lib/redis.js';

/** What the seeding needs of a node-redis client (single node). */
export interface RawRedis {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The user ids of the tokens in rotation are `user-<i>`, as here: the seeded users include them. */
export const seededSub = (i: number) => `user-${i}`;
/** Revoked session `i` (of user `i`) and registry record `i` (of user `i`): 22 characters, as the library's ids. */
export const revokedSid = (i: number) => `S${String(i).padStart(21, '0')}`;
export const registeredSid = (i: number) => `R${String(i).padStart(21, '0')}`;
const SAMPLE_IP = '203.0.113.7';
const SAMPLE_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** Users per EVAL: each batch blocks the server a fraction of a second, nothing else uses it meanwhile. */
const BATCH = 20_000;

/** The times of the seeded state, from when the tokens in rotation were issued. */
export function seedTimes(mintedAtMs: number) {
  const watermarkAt = mintedAtMs - 3_600_000;
  const revokedAt = mintedAtMs - 30 * 60_000;
  const signedInAt = mintedAtMs - 20 * 60_000;
  const sessionEnd = mintedAtMs + 86_400_000;
  return {
    /** The watermark: an hour before the tokens (they stay valid), relevant as long as the store makes it. */
    watermarkAt,
    watermarkUntil: watermarkAt + MAX_REVOCATION_LIFETIME_MS,
    /** Device logouts 30 minutes before the tokens; the entry lasts to the session's end plus the tolerance. */
    revokedAt,
    revokedUntil: sessionEnd + ACCEPTED_PAST_END_MS,
    /** Registry records: signed in after the watermark (so listed as live), ending with the session. */
    signedInAt,
    sessionEnd,
  };
}

// KEYS: none (a standalone server: the loops build the key names). ARGV[1] = prefix, ARGV[2] = first user,
// ARGV[3] = end (excluded), then per phase below.
const LOOP = `
local p, from, to = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = from, to - 1 do
  local tag = p .. '{user-' .. string.format('%d', i) .. '}'
`;

/** ARGV[4] = `<atMs>:<untilMs>`, ARGV[5] = untilMs: REVOKE_USER_SCRIPT's SET + PEXPIREAT, as one SET ... PXAT. */
const WATERMARKS = `${LOOP}
  redis.call('SET', tag .. ':u', ARGV[4], 'PXAT', ARGV[5])
end
return to - from
`;

/** ARGV[4] = expiresAtMs: REVOKE_SESSION_SCRIPT's SET + PEXPIREAT of `<prefix>{<sub>}:s:<sid>`. */
const SESSIONS = `${LOOP}
  redis.call('SET', tag .. ':s:' .. string.format('S%021d', i), ARGV[4], 'PXAT', ARGV[4])
end
return to - from
`;

/** ARGV[4] = the encoded record, ARGV[5] = expiresAtMs: what REGISTER_SESSION_SCRIPT leaves for one session. */
const REGISTRY = `${LOOP}
  local sid = string.format('R%021d', i)
  redis.call('HSET', tag .. ':r', sid, ARGV[4])
  redis.call('ZADD', tag .. ':r:exp', ARGV[5], sid)
  redis.call('PEXPIREAT', tag .. ':r', ARGV[5])
  redis.call('PEXPIREAT', tag .. ':r:exp', ARGV[5])
end
return to - from
`;

/**
 * ARGV[4..7] = watermark at, its until, device logout at, its until: FEED_APPEND_SCRIPT's two ZADDs for each
 * revocation above, `["u", sub, atMs, untilMs]` and `["s", sessionId, sub, expiresAtMs]`.
 */
const FEED = `${LOOP}
  local sub = 'user-' .. string.format('%d', i)
  local u = '["u","' .. sub .. '",' .. ARGV[4] .. ',' .. ARGV[5] .. ']'
  redis.call('ZADD', p .. '{feed}:at', ARGV[4], u)
  redis.call('ZADD', p .. '{feed}:exp', ARGV[5], u)
  local s = '["s","' .. string.format('S%021d', i) .. '","' .. sub .. '",' .. ARGV[7] .. ']'
  redis.call('ZADD', p .. '{feed}:at', ARGV[6], s)
  redis.call('ZADD', p .. '{feed}:exp', ARGV[7], s)
end
return to - from
`;

/** `INFO <section>` as text. */
export async function infoText(client: RawRedis, section: string): Promise<string> {
  return String(await client.sendCommand(['INFO', section]));
}

/** A field of `INFO <section>` as a number (NaN when absent). */
export async function infoNumber(client: RawRedis, section: string, field: string): Promise<number> {
  const text = await infoText(client, section);
  const match = new RegExp(`^${field}:([^\\r\\n]*)`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

export interface SeedPhase {
  name: 'watermarks' | 'revoked_sessions' | 'registry_records' | 'feed_entries';
  /** Entries of this kind written (feed: two per user, one per revocation). */
  entries: number;
  seconds: number;
  /** `INFO memory` used_memory after the phase minus before it. */
  usedMemoryBytes: number;
}

export interface SeedResult {
  count: number;
  seconds: number;
  phases: SeedPhase[];
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  /** DBSIZE after seeding. */
  keys: number;
}

export interface SeedOptions {
  /** The first user's number: users `user-<firstUser>` ... `user-<firstUser + count - 1>` (default 0). */
  firstUser?: number;
  /** The kinds to write, in this order (default: all four). */
  kinds?: readonly SeedPhase['name'][];
}

/**
 * Seeds `count` users (`user-<firstUser>` ...), phase by phase, `BATCH` users per EVAL; `log` gets one line per
 * phase. The feed entries of a user are its watermark's and its revoked session's (two per user).
 */
export async function seedRedis(
  client: RawRedis,
  prefix: string,
  count: number,
  mintedAtMs: number,
  log: (line: string) => void,
  { firstUser = 0, kinds }: SeedOptions = {},
): Promise<SeedResult> {
  const t = seedTimes(mintedAtMs);
  const record = `${t.signedInAt}|${t.signedInAt}|${t.sessionEnd}||${SAMPLE_IP}|${SAMPLE_AGENT}`;
  const allPhases: [SeedPhase['name'], string, string[], number][] = [
    ['watermarks', WATERMARKS, [`${t.watermarkAt}:${t.watermarkUntil}`, String(t.watermarkUntil)], 1],
    ['revoked_sessions', SESSIONS, [String(t.revokedUntil)], 1],
    ['registry_records', REGISTRY, [record, String(t.sessionEnd)], 1],
    [
      'feed_entries',
      FEED,
      [String(t.watermarkAt), String(t.watermarkUntil), String(t.revokedAt), String(t.revokedUntil)],
      2,
    ],
  ];
  const phases = kinds === undefined ? allPhases : kinds.flatMap((kind) => allPhases.filter(([name]) => name === kind));
  const usedMemoryBefore = await infoNumber(client, 'memory', 'used_memory');
  const started = performance.now();
  const done: SeedPhase[] = [];
  for (const [name, script, args, perUser] of phases) {
    const before = await infoNumber(client, 'memory', 'used_memory');
    const t0 = performance.now();
    for (let from = firstUser; from < firstUser + count; from += BATCH) {
      const to = Math.min(firstUser + count, from + BATCH);
      const written = await client.sendCommand(['EVAL', script, '0', prefix, String(from), String(to), ...args]);
      if (Number(written) !== to - from) throw new Error(`seeding ${name}: a batch wrote ${String(written)} entries`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const usedMemoryBytes = (await infoNumber(client, 'memory', 'used_memory')) - before;
    done.push({ name, entries: count * perUser, seconds, usedMemoryBytes });
    log(
      `  ${name}: ${(count * perUser).toLocaleString('en-US')} in ${seconds.toFixed(1)} s, ${(usedMemoryBytes / (count * perUser)).toFixed(0)} bytes each (used_memory)`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    count,
    seconds,
    phases: done,
    usedMemoryBefore,
    usedMemoryAfter: await infoNumber(client, 'memory', 'used_memory'),
    keys: Number(await client.sendCommand(['DBSIZE'])),
  };
}

/**
 * Sets when the store's change feed began (`<prefix>{feed}:start`, which a store only sets when absent): the
 * copy answers for sessions signed in after it (plus its margin), so the copy-scale servers get a start before
 * their seeded revocations and before the tokens in rotation were issued. Only on servers started by the run.
 */
export async function setFeedStart(client: RawRedis, prefix: string, startMs: number): Promise<void> {
  await client.sendCommand(['SET', `${prefix}{feed}:start`, String(Math.round(startMs))]);
}

/** Counters of the server: calls of some commands (`INFO commandstats`) and its socket reads (`INFO stats`). */
export interface RedisCounters {
  mget: number;
  /** EVAL + EVALSHA: the store's writes. */
  scripts: number;
  /** total_reads_processed: reads from client sockets, about one per client write (a pipeline is one). */
  socketReads: number;
}

/** The server's counters, read with one `INFO stats commandstats` (itself one socket read). */
export async function redisCounters(client: RawRedis): Promise<RedisCounters> {
  const text = String(await client.sendCommand(['INFO', 'stats', 'commandstats']));
  const calls = (command: string) => {
    const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(text);
    return match === null ? 0 : Number(match[1]);
  };
  const reads = /^total_reads_processed:(\d+)/m.exec(text);
  return {
    mget: calls('mget'),
    scripts: calls('eval') + calls('evalsha'),
    socketReads: reads === null ? Number.NaN : Number(reads[1]),
  };
}

/** Waits until the server has no AOF rewrite running or scheduled (polls `INFO persistence`). */
async function waitForNoRewrite(client: RawRedis, maxSeconds: number): Promise<void> {
  const deadline = performance.now() + maxSeconds * 1000;
  for (;;) {
    const running = await infoNumber(client, 'persistence', 'aof_rewrite_in_progress');
    const scheduled = await infoNumber(client, 'persistence', 'aof_rewrite_scheduled');
    if (running === 0 && scheduled === 0) return;
    if (performance.now() > deadline) throw new Error(`an AOF rewrite still runs after ${maxSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Compacts the append-only file the seeding wrote (as a server that has run a while has it), so that no rewrite
 * runs while the checks are measured: waits for one under way, starts one, waits for it. Resolves to seconds.
 */
export async function rewriteAof(client: RawRedis): Promise<number> {
  const t0 = performance.now();
  await waitForNoRewrite(client, 600);
  if ((await infoNumber(client, 'persistence', 'aof_enabled')) === 1) {
    await client.sendCommand(['BGREWRITEAOF']);
    await waitForNoRewrite(client, 600);
  }
  return (performance.now() - t0) / 1000;
}

export interface MemoryUsageSample {
  /** Mean `MEMORY USAGE <key> SAMPLES 0` over the sampled users, in bytes. */
  watermarkKey: number;
  revokedSessionKey: number;
  registryHash: number;
  registrySortedSet: number;
  /** `MEMORY USAGE` of each feed sorted set (5 members sampled) over its members: per feed entry, both sets. */
  feedPerEntry: number;
  sampledUsers: number;
}

/** `MEMORY USAGE` of the keys of `samples` users spread over the seeded ones, and of the feed. */
export async function memoryUsage(
  client: RawRedis,
  prefix: string,
  count: number,
  samples = 200,
): Promise<MemoryUsageSample> {
  const sums = [0, 0, 0, 0];
  for (let k = 0; k < samples; k++) {
    const i = Math.floor(((k + 0.5) / samples) * count);
    const tag = `${prefix}{${seededSub(i)}}`;
    const keys = [`${tag}:u`, `${tag}:s:${revokedSid(i)}`, `${tag}:r`, `${tag}:r:exp`];
    for (const [j, key] of keys.entries()) {
      const bytes = Number(await client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
      if (!(bytes > 0)) throw new Error(`MEMORY USAGE ${key}: the seeded key is missing`);
      sums[j] = (sums[j] ?? 0) + bytes;
    }
  }
  let feedBytes = 0;
  let feedEntries = 0;
  for (const key of [`${prefix}{feed}:at`, `${prefix}{feed}:exp`]) {
    feedBytes += Number(await client.sendCommand(['MEMORY', 'USAGE', key]));
    if (key.endsWith(':at')) feedEntries = Number(await client.sendCommand(['ZCARD', key]));
  }
  const [u = 0, s = 0, r = 0, z = 0] = sums;
  return {
    watermarkKey: u / samples,
    revokedSessionKey: s / samples,
    registryHash: r / samples,
    registrySortedSet: z / samples,
    feedPerEntry: feedEntries === 0 ? Number.NaN : feedBytes / feedEntries,
    sampledUsers: samples,
  };
}

/**
 * Reads a few seeded users through a real RedisRevocationStore (the built package, as the apps use): each must
 * read as logged out everywhere at the seeded watermark, its seeded device session as revoked, another session
 * of the user as not revoked, its registry record as live; the feed must parse. Throws on the first mismatch.
 * Resolves to the number of users checked.
 */
export async function checkSeeded(
  store: RedisRevocationStore,
  count: number,
  mintedAtMs: number,
  { firstUser = 0, registry = true }: { firstUser?: number; registry?: boolean } = {},
): Promise<number> {
  const t = seedTimes(mintedAtMs);
  const users = [0, 1, 2, 4999, Math.floor(count / 2), count - 1]
    .filter((i, k, all) => i < count && all.indexOf(i) === k)
    .map((i) => firstUser + i);
  const fail = (what: string) => {
    throw new Error(`the seeded Redis does not read as the store expects: ${what}`);
  };
  for (const i of users) {
    const sub = seededSub(i);
    const revoked = await store.getState(sub, revokedSid(i));
    if (revoked.lastLogoutAt?.getTime() !== t.watermarkAt)
      fail(`${sub}'s watermark reads ${String(revoked.lastLogoutAt)}`);
    if (!revoked.sessionRevoked) fail(`${sub}'s revoked session reads as not revoked`);
    const other = await store.getState(sub, `${revokedSid(i)}x`);
    if (other.sessionRevoked) fail(`${sub}'s other session reads as revoked`);
    if (!registry) continue;
    const listed = await store.listSessions(sub);
    const record = listed[0];
    if (listed.length !== 1 || record?.sessionId !== registeredSid(i) || record.ip !== SAMPLE_IP)
      fail(`${sub}'s device list reads ${JSON.stringify(listed)}`);
  }
  const stranger = await store.getState('not-seeded', revokedSid(0));
  if (stranger.lastLogoutAt !== null || stranger.sessionRevoked) fail('a user that was not seeded reads as revoked');
  // The feed: by end, the device logouts come first (they end a day later, the watermarks in 400 days); by write
  // time, the watermarks (written half an hour before the device logouts).
  const byEnd = await store.readFeed(null, 4);
  if (
    byEnd.changes.length !== 4 ||
    byEnd.changes.some((c) => c.kind !== 'session' || c.expiresAt.getTime() !== t.revokedUntil)
  )
    fail(`the feed by end reads ${JSON.stringify(byEnd.changes)}`);
  const byWrite = await store.readFeed(new Date(t.watermarkAt), 4);
  if (
    byWrite.changes.length !== 4 ||
    byWrite.changes.some((c) => c.kind !== 'user' || c.lastLogoutAt.getTime() !== t.watermarkAt)
  )
    fail(`the feed by write time reads ${JSON.stringify(byWrite.changes)}`);
  return users.length;
}
