// The Lua scripts of the writes: compare-and-set in one atomic step, so a date is never lowered and a key's
// expiry never shortened, whatever other writers do at the same time.

/**
 * KEYS[1] = user key, ARGV[1] = lastLogoutAt in ms, ARGV[2] = relevantUntil in ms. Keeps the larger of each
 * pair (stored and given), then sets the key to expire at the kept relevantUntil. A stored value it cannot
 * read is an error, not something to overwrite: it might hold a later watermark.
 */
export const REVOKE_USER_SCRIPT = `
local at, untilMs = ARGV[1], ARGV[2]
local current = redis.call('GET', KEYS[1])
if current then
  local a, u = string.match(current, '^(%d+):(%d+)$')
  if not a then return redis.error_reply('ERR the stored watermark is unreadable') end
  if tonumber(a) > tonumber(at) then at = a end
  if tonumber(u) > tonumber(untilMs) then untilMs = u end
end
redis.call('SET', KEYS[1], at .. ':' .. untilMs)
redis.call('PEXPIREAT', KEYS[1], untilMs)
return 1
`;

/**
 * KEYS[1] = session key, ARGV[1] = expiresAt in ms. An entry that already lasts as long or longer is left
 * alone (value and TTL); otherwise it is written and set to expire at `expiresAt`.
 */
export const REVOKE_SESSION_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  if not string.match(current, '^%d+$') then return redis.error_reply('ERR the stored session entry is unreadable') end
  if tonumber(current) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;
