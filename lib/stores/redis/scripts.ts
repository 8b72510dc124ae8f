// The Lua scripts of the writes: compare-and-set in one atomic step, so a date is never lowered and a key's
// expiry never shortened, whatever other writers do at the same time.
import { MAX_SESSIONS_PER_USER } from '../../core/limits.js';
import type { RedisCommand } from './client.js';

/** The `EVAL` command that runs `script` over `keys` (its KEYS) with `args` (its ARGV). */
export function evalCommand(script: string, keys: readonly string[], args: readonly string[]): RedisCommand {
  return ['EVAL', script, String(keys.length), ...keys, ...args];
}

/**
 * KEYS[1] = a per-user time key (`<atMs>:<relevantUntilMs>`: the watermark, the claims change); ARGV[1] = the time
 * in ms, ARGV[2] = relevantUntil in ms. Keeps the larger of each pair (stored and given), then sets the key to
 * expire at the kept relevantUntil. A stored value it cannot read is an error, not something to overwrite: it
 * might hold a later time. Leaves the kept time in `at`.
 */
const RAISE_TIME = `
local at, untilMs = ARGV[1], ARGV[2]
local current = redis.call('GET', KEYS[1])
if current then
  local a, u = string.match(current, '^(%d+):(%d+)$')
  if not a then return redis.error_reply('ERR the stored watermark or claims change is unreadable') end
  if tonumber(a) > tonumber(at) then at = a end
  if tonumber(u) > tonumber(untilMs) then untilMs = u end
end
redis.call('SET', KEYS[1], at .. ':' .. untilMs)
redis.call('PEXPIREAT', KEYS[1], untilMs)
`;

/** `RAISE_TIME` on a user's claims-change key. */
export const MARK_CLAIMS_SCRIPT = `${RAISE_TIME}return 1
`;

/**
 * KEYS[1] = user key, KEYS[2] = the user's registry hash, KEYS[3] = its expiry sorted set; ARGV[1] = lastLogoutAt
 * in ms, ARGV[2] = relevantUntil in ms. `RAISE_TIME` on the watermark, then deletes the registry records signed
 * in at or before it: they are never listed again (a record it cannot read is left for the listing to fail on).
 */
export const REVOKE_USER_SCRIPT = `${RAISE_TIME}local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local s = string.match(all[i + 1], '^(%d+)|')
  if s and tonumber(s) <= tonumber(at) then
    redis.call('HDEL', KEYS[2], all[i])
    redis.call('ZREM', KEYS[3], all[i])
  end
end
return 1
`;

/**
 * KEYS[1] = session key, KEYS[2] = the user's registry hash, KEYS[3] = its expiry sorted set; ARGV[1] = expiresAt
 * in ms, ARGV[2] = the session id. An entry that already lasts as long or longer is left alone (value and TTL);
 * otherwise it is written and set to expire at `expiresAt`. The session's registry record is deleted: it is
 * never listed again.
 */
export const REVOKE_SESSION_SCRIPT = `
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
local current = redis.call('GET', KEYS[1])
if current then
  if not string.match(current, '^%d+$') then return redis.error_reply('ERR the stored session entry is unreadable') end
  if tonumber(current) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;

/** Most expired sessions one registry write prunes: bounds the script's run time; the next write prunes more. */
const REGISTRY_PRUNE_BATCH = 1000;

/**
 * KEYS[1] = registry hash, KEYS[2] = its expiry sorted set; ARGV[1] = now in ms, ARGV[2] = session id,
 * ARGV[3] = the encoded record, ARGV[4] = its expiresAt in ms. Prunes up to REGISTRY_PRUNE_BATCH expired records,
 * refuses a new session when the user still has MAX_SESSIONS_PER_USER records (only sign-ins at the same moment
 * get past `maxSessions`; a record that still works is never dropped, since then nothing could list or end it),
 * writes (or replaces) the record (pruned at once if it has already expired), then makes both keys expire at
 * the latest expiresAt left, raising their expiry but never shortening it. `TIME` reads the server's clock to
 * compare with the current TTL, since `PEXPIREAT` counts on that clock.
 */
export const REGISTER_SESSION_SCRIPT = `
local hash, zset = KEYS[1], KEYS[2]
local expired = redis.call('ZRANGEBYSCORE', zset, '-inf', ARGV[1], 'LIMIT', 0, ${REGISTRY_PRUNE_BATCH})
if #expired > 0 then
  redis.call('HDEL', hash, unpack(expired))
  redis.call('ZREM', zset, unpack(expired))
end
if redis.call('HEXISTS', hash, ARGV[2]) == 0 and redis.call('ZCARD', zset) >= ${MAX_SESSIONS_PER_USER} then
  return redis.error_reply('ERR this user has ${MAX_SESSIONS_PER_USER} live registered sessions: a new one is refused (sign-ins at the same moment went past maxSessions; the next sign-in ends the oldest)')
end
redis.call('HSET', hash, ARGV[2], ARGV[3])
redis.call('ZADD', zset, ARGV[4], ARGV[2])
if tonumber(ARGV[4]) <= tonumber(ARGV[1]) then
  redis.call('HDEL', hash, ARGV[2])
  redis.call('ZREM', zset, ARGV[2])
end
local last = redis.call('ZRANGE', zset, -1, -1, 'WITHSCORES')
if #last == 0 then return 0 end
local endMs = tonumber(last[2])
local time = redis.call('TIME')
local serverNow = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or serverNow + ttl < endMs then redis.call('PEXPIREAT', key, string.format('%d', endMs)) end
end
return 1
`;

/**
 * KEYS[1] = registry hash; ARGV[1] = session id, ARGV[2] = lastActiveAt in ms. Raises the record's
 * lastActiveAt; a missing record is left missing (a renewal that raced a logout must not bring it back) and
 * a later stored lastActiveAt is kept. The key's expiry is unchanged.
 */
export const TOUCH_SESSION_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local s, l, e, rest = string.match(current, '^(%d+)|(%d+)|(%d+)(.*)$')
if not s then return redis.error_reply('ERR a registered session is unreadable') end
if tonumber(l) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], s .. '|' .. ARGV[2] .. '|' .. e .. rest)
return 1
`;

/**
 * KEYS[1] = registry hash, KEYS[2] = its expiry sorted set, KEYS[3] = the user's watermark key; ARGV[1] = now in
 * ms, ARGV[2] = the start of the user's revoked-session keys (`<prefix>{<sub>}:s:`). Returns
 * `[sessionId, record, ...]` for the records that are live: not past expiresAt, signed in after the watermark
 * (while it is relevant) and without a revoked-session entry that is still in force. Only records that have not
 * ended are read (by the sorted set), and revocations delete the records they end, so the cost is that of the
 * user's live sessions. The session keys are built here from the registry's ids: they share the user's hash tag,
 * so they are in the same slot as the declared keys. Read-only; unreadable data is an error (fail closed), as in
 * the checks.
 */
export const LIST_SESSIONS_SCRIPT = `
local now = tonumber(ARGV[1])
local watermark = -1
local mark = redis.call('GET', KEYS[3])
if mark then
  local at, untilMs = string.match(mark, '^(%d+):(%d+)$')
  if not at then return redis.error_reply('ERR the stored watermark is unreadable') end
  if tonumber(untilMs) > now then watermark = tonumber(at) end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local records = {}
for from = 1, #ids, 1000 do
  local part = redis.call('HMGET', KEYS[1], unpack(ids, from, math.min(from + 999, #ids)))
  for j = 1, #part do records[from + j - 1] = part[j] end
end
local live = {}
for i = 1, #ids do
  local record = records[i]
  if record then
    local s, e = string.match(record, '^(%d+)|%d+|(%d+)')
    if not s then return redis.error_reply('ERR a registered session is unreadable') end
    if tonumber(e) > now and tonumber(s) > watermark then
      local revoked = redis.call('GET', ARGV[2] .. ids[i])
      if revoked and not string.match(revoked, '^%d+$') then
        return redis.error_reply('ERR the stored session entry is unreadable')
      end
      if not revoked or tonumber(revoked) <= now then
        live[#live + 1] = ids[i]
        live[#live + 1] = record
      end
    end
  end
end
return live
`;

/** Most revocations that no longer matter one feed write removes: bounds its run time. */
const FEED_PRUNE_BATCH = 1000;

/**
 * KEYS[1] = the feed by write time, KEYS[2] = the feed by end; ARGV[1] = write time in ms, ARGV[2] = the entry,
 * ARGV[3] = its end in ms, ARGV[4] = now in ms. Adds the entry to both (written again, it only moves to its new
 * write time), then removes up to FEED_PRUNE_BATCH entries that ended.
 */
export const FEED_APPEND_SCRIPT = `
local atKey, expKey = KEYS[1], KEYS[2]
redis.call('ZADD', atKey, ARGV[1], ARGV[2])
redis.call('ZADD', expKey, ARGV[3], ARGV[2])
local ended = redis.call('ZRANGEBYSCORE', expKey, '-inf', ARGV[4], 'LIMIT', 0, ${FEED_PRUNE_BATCH})
for _, entry in ipairs(ended) do
  redis.call('ZREM', atKey, entry)
  redis.call('ZREM', expKey, entry)
end
return 1
`;

/** KEYS[1] = the feed's `:slots`; ARGV[1] = the parts a writer uses. Raises the count, never lowers it. */
export const RAISE_FEED_SLOTS_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

/**
 * One page of the feed's sorted sets of one part (all in its slot). KEYS = the sets; ARGV[1] = the bound below which
 * entries are left out, as `ZCOUNT`'s max (`<nowMs>`: those that ended; `(<sinceMs>`: those written before `since`);
 * then for each set, three: the score and member of the last entry a previous page took (`''` and `''` for none),
 * and how many entries to answer. Answers, for each set, `[member, score, ...]` of the entries after that one, in
 * the set's order (score, then member bytes). The last entry taken may have gone since (pruned, or written again
 * with another score): the page then starts at the first entry after where it was, found by bisection among the
 * entries of its score. Positions are (score, member), never ranks, so entries removed or added before them move
 * no other entry past them. Read-only.
 */
export const FEED_PAGE_SCRIPT = `
local function before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local out = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 3
  local score, member, count = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
  local start = redis.call('ZCOUNT', key, '-inf', ARGV[1])
  if score ~= '' then
    local from
    local rank = redis.call('ZRANK', key, member)
    if rank and tonumber(redis.call('ZSCORE', key, member)) == tonumber(score) then
      from = rank + 1
    else
      local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
      local hi = redis.call('ZCOUNT', key, '-inf', score)
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        if before(member, redis.call('ZRANGE', key, mid, mid)[1]) then hi = mid else lo = mid + 1 end
      end
      from = lo
    end
    if from > start then start = from end
  end
  out[i] = redis.call('ZRANGE', key, start, start + count - 1, 'WITHSCORES')
end
return out
`;

/**
 * The session-lifetime bound, a hash `lifetimeMs`, `raisedAt`, `settledAt` (ms). KEYS[1] = the bound
 * (`{feed}:lifetime`), KEYS[2] = `{feed}:slots`, KEYS[3..6] = part 0's `:at`, `:exp`, `:c:at`, `:c:exp`; ARGV[1] =
 * the declared lifetime (ms), ARGV[2] = `raise` or `set`, ARGV[3] = now (ms), ARGV[4] = the start of a bound over
 * revocations already written (400 days), ARGV[5] = the writer's own count of feed parts, ARGV[6] = whether the
 * other parts were found empty (`1`, `0`, or `''`: not looked at). A missing bound starts at ARGV[1] when the feed
 * holds nothing, else at ARGV[4]; with more than one part and ARGV[6] `''`, part 0 empty answers `{'check', parts}`
 * (the others are in other slots: the caller looks, then calls again). `raise` keeps the larger of the stored and
 * the declared, `set` the declared; `raisedAt` becomes now when the bound changes (or is created, with `settledAt`
 * 0). Answers `{lifetimeMs, raisedAt, settledAt}`. A stored value it cannot read is an error.
 */
export const DECLARE_LIFETIME_SCRIPT = `
local lifetime = tonumber(ARGV[1])
local stored = redis.call('HMGET', KEYS[1], 'lifetimeMs', 'raisedAt', 'settledAt')
local current, raisedAt, settledAt
if stored[1] or stored[2] or stored[3] then
  for i = 1, 3 do
    if not stored[i] or not string.match(stored[i], '^%d+$') then
      return redis.error_reply('ERR the stored session-lifetime bound is unreadable')
    end
  end
  current, raisedAt, settledAt = tonumber(stored[1]), stored[2], stored[3]
else
  local empty = true
  for i = 3, 6 do
    if redis.call('ZCARD', KEYS[i]) > 0 then empty = false end
  end
  local parts = math.max(tonumber(redis.call('GET', KEYS[2]) or '1') or 1, tonumber(ARGV[5]))
  if empty and parts > 1 then
    if ARGV[6] == '' then return {'check', string.format('%d', parts)} end
    empty = ARGV[6] == '1'
  end
  if empty then current = lifetime else current = tonumber(ARGV[4]) end
  settledAt = '0'
end
local bound = current
if ARGV[2] == 'set' then bound = lifetime elseif lifetime > current then bound = lifetime end
if raisedAt == nil or bound ~= current then
  -- Later than the bound it replaces, whatever the writers' clocks: a settled time never covers a later change.
  local now = tonumber(ARGV[3])
  if raisedAt ~= nil and tonumber(raisedAt) >= now then now = tonumber(raisedAt) + 1 end
  raisedAt = string.format('%d', now)
  redis.call('HSET', KEYS[1], 'lifetimeMs', string.format('%d', bound), 'raisedAt', raisedAt, 'settledAt', settledAt)
end
return {string.format('%d', bound), raisedAt, settledAt}
`;

/**
 * KEYS[1] = the session-lifetime bound (`{feed}:lifetime`); ARGV[1] = the `raisedAt` (ms) whose entries were all
 * extended. Raises `settledAt` to it, never lowers it; a missing bound is left missing. A stored value it cannot
 * read is an error.
 */
export const SETTLE_LIFETIME_SCRIPT = `
local settled = redis.call('HGET', KEYS[1], 'settledAt')
if not settled then return 0 end
if not string.match(settled, '^%d+$') then
  return redis.error_reply('ERR the stored session-lifetime bound is unreadable')
end
if tonumber(settled) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'settledAt', ARGV[1])
return 1
`;
