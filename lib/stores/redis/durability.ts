// The start-up checks of what Redis may lose: with neither AOF nor RDB snapshots a restart forgets every logout,
// and an evicting maxmemory-policy drops revocations under memory pressure.
import type { Logger } from '../../config/logger.js';
import { MESSAGE_PREFIX } from '../../core/config-error.js';
import type { RedisCommand } from './client.js';

/** The value of one `CONFIG GET name` reply: RESP2 gives `[name, value]`, RESP3 a map or an object. */
function configValue(reply: unknown, name: string): string | undefined {
  if (Array.isArray(reply)) {
    const index = reply.findIndex((item) => String(item) === name);
    return index === -1 ? undefined : String(reply[index + 1]);
  }
  if (reply instanceof Map) return reply.has(name) ? String(reply.get(name)) : undefined;
  if (typeof reply === 'object' && reply !== null && name in reply)
    return String((reply as Record<string, unknown>)[name]);
  return undefined;
}

/**
 * Warns when Redis may lose revocations: persistence off (`appendonly no` and an empty `save`: a restart forgets
 * every logout), or a `maxmemory-policy` that evicts keys (every revocation key has a TTL, so `volatile-*`
 * policies evict them as readily as `allkeys-*`). Never fails: a server that refuses CONFIG (managed services
 * rename or forbid it) or does not answer is simply not checked.
 */
export async function warnIfRevocationsCanBeLost(
  send: (routeKey: string, commands: RedisCommand[]) => Promise<unknown[]>,
  logger: Logger,
): Promise<void> {
  let replies: unknown[];
  try {
    replies = await send('', [
      ['CONFIG', 'GET', 'appendonly'],
      ['CONFIG', 'GET', 'save'],
      ['CONFIG', 'GET', 'maxmemory-policy'],
    ]);
  } catch {
    return;
  }
  const appendonly = configValue(replies[0], 'appendonly');
  const save = configValue(replies[1], 'save');
  if (appendonly === 'no' && save === '') {
    logger.warn(
      `${MESSAGE_PREFIX}: Redis persistence is off (appendonly no, save ""): a Redis restart forgets every logout and revoked sessions work again, renewing, until their absolute end (maxAge). Turn on AOF (\`appendonly yes\`) for the revocation data.`,
    );
  }
  const policy = configValue(replies[2], 'maxmemory-policy');
  if (policy !== undefined && policy !== 'noeviction') {
    logger.warn(
      `${MESSAGE_PREFIX}: Redis evicts keys under memory pressure (maxmemory-policy ${policy}): an evicted revocation lets a logged-out cookie work again. Use \`maxmemory-policy noeviction\` for the revocation data (a full Redis then refuses writes: logouts answer 503 instead of being forgotten).`,
    );
  }
}
