// The key layout: every key of one user shares the hash tag `{<sub>}`, so multi-key commands stay in one slot.
import { argumentError } from '../../core/config-error.js';
import { hasLoneSurrogate, LONE_SURROGATE_PROBLEM } from '../../core/ids.js';

/**
 * The user's part of a key, safe inside a hash tag: percent-encoding leaves no `{`, `}` or `:` in it, and
 * keeps ordinary ids (`alice`, `42`, an ObjectId) readable in `redis-cli`.
 */
function hashTag(sub: string): string {
  if (typeof sub !== 'string' || sub === '')
    throw argumentError('sub', 'must be a non-empty string (an empty hash tag would spread a user over slots).');
  if (hasLoneSurrogate(sub)) throw argumentError('sub', `${LONE_SURROGATE_PROBLEM}.`);
  return `{${encodeURIComponent(sub)}}`;
}

/** The keys of one user. */
export interface UserKeys {
  /** `<prefix>{<sub>}:u`: the user's "log out everywhere" watermark, `<lastLogoutAtMs>:<relevantUntilMs>`. */
  user: string;
  /**
   * `<prefix>{<sub>}:c`: when the user's claims last changed, `<changedAtMs>:<relevantUntilMs>`. A key of its own,
   * not a second value in `:u`: instances of versions before claims refresh never read it.
   */
  claims: string;
  /**
   * `<prefix>{<sub>}:r`: the user's device registry, a hash of `<sessionId>` to
   * `<signedInAtMs>|<lastActiveAtMs>|<expiresAtMs>` followed by `|<userAgent>` when the session has one, or by
   * `||<ip>|<userAgent>` when it has an IP (an empty field first: no User-Agent alone is empty).
   */
  registry: string;
  /** `<prefix>{<sub>}:r:exp`: the same sessions as a sorted set scored by `expiresAtMs`, to prune expired ones. */
  registryByExpiry: string;
  /**
   * `<prefix>{<sub>}:s:`: the start of the user's revoked-session keys, completed by a session id (here or in a
   * script): `<prefix>{<sub>}:s:<sessionId>` is one revoked device session of the user, `<expiresAtMs>`.
   */
  sessions: string;
}

export function userKeys(prefix: string, sub: string): UserKeys {
  const base = `${prefix}${hashTag(sub)}:`;
  return {
    user: `${base}u`,
    claims: `${base}c`,
    registry: `${base}r`,
    registryByExpiry: `${base}r:exp`,
    sessions: `${base}s:`,
  };
}

/**
 * The change feed's keys, in one slot of their own (`{feed}`): `:at`, the revocations scored by when they were
 * written; `:exp`, the same scored by when they stop mattering; `:start`, when the feed began (ms); `:c:at` and
 * `:c:exp`, the same two for users' claims changes (apart: versions before claims refresh read every member of
 * `:at` and `:exp` as a revocation).
 */
export function feedKeys(prefix: string): {
  at: string;
  exp: string;
  start: string;
  claimsAt: string;
  claimsExp: string;
} {
  const base = `${prefix}{feed}:`;
  return {
    at: `${base}at`,
    exp: `${base}exp`,
    start: `${base}start`,
    claimsAt: `${base}c:at`,
    claimsExp: `${base}c:exp`,
  };
}
