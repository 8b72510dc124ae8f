// The key layout: every key of one user shares the hash tag `{<sub>}`, so multi-key commands stay in one slot.
import { argumentError } from '../../errors/config-error.js';

/**
 * The user's part of a key, safe inside a hash tag: percent-encoding leaves no `{`, `}` or `:` in it, and
 * keeps ordinary ids (`alice`, `42`, an ObjectId) readable in `redis-cli`.
 */
export function hashTag(sub: string): string {
  if (typeof sub !== 'string' || sub === '')
    throw argumentError('sub', 'must be a non-empty string (an empty hash tag would spread a user over slots).');
  return `{${encodeURIComponent(sub)}}`;
}

/** `<prefix>{<sub>}:u`: the user's "log out everywhere" watermark, `<lastLogoutAtMs>:<relevantUntilMs>`. */
export function userKey(prefix: string, sub: string): string {
  return `${prefix}${hashTag(sub)}:u`;
}

/** `<prefix>{<sub>}:s:<sessionId>`: one revoked device session of the user, `<expiresAtMs>`. */
export function sessionKey(prefix: string, sub: string, sessionId: string): string {
  return `${prefix}${hashTag(sub)}:s:${sessionId}`;
}
