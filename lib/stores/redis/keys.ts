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
 * The change feed's keys, in one slot per part of the feed: part 0 (`{feed}`) and, with `feedSlots` above 1,
 * parts `{feed:1:<n>}`, `{feed:2:<n>}`... (`feedTag`). `:at`, the revocations scored by when they were written;
 * `:exp`, the same scored by when they stop mattering; `:c:at` and `:c:exp`, the same two for users' claims changes
 * (apart: versions before claims refresh read every member of `:at` and `:exp` as a revocation). Part 0 also holds
 * `:start`, when the feed began (ms), `:slots`, how many parts writers have used (absent: 1), and `:lifetime`, the
 * session-lifetime bound (`declareLifetime`), a hash of `lifetimeMs`, `raisedAt` and `settledAt` (ms).
 */
export function feedKeys(
  prefix: string,
  part = 0,
): { at: string; exp: string; start: string; slots: string; lifetime: string; claimsAt: string; claimsExp: string } {
  const base = `${prefix}{${feedTag(part)}}:`;
  return {
    at: `${base}at`,
    exp: `${base}exp`,
    start: `${base}start`,
    slots: `${base}slots`,
    lifetime: `${base}lifetime`,
    claimsAt: `${base}c:at`,
    claimsExp: `${base}c:exp`,
  };
}

/** The part of the feed that holds `sub`'s changes, of `parts` (FNV-1a of the id: the same part on every instance). */
export function feedPartOf(sub: string, parts: number): number {
  if (parts <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < sub.length; i++) hash = Math.imul(hash ^ sub.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % parts;
}

const SLOTS = 16_384;
/** The most parts (`feedSlots`' maximum): each part's slot is chosen within 1/64 of the slots. */
const MAX_PARTS = 64;
const tags = new Map<number, string>();

/**
 * The hash tag of the feed's part `part`: `feed` for part 0; for each other, `feed:<part>:<n>` with the first `n`
 * whose slot lies in the part's 1/64 of the slots, counted from `feed`'s slot in van der Corput order (1/2, 1/4,
 * 3/4, 1/8...). The first 2, 4, 8, 16... parts are then evenly spaced around the slots, so however a cluster splits
 * them among its primaries, each holds about its share of the parts (with three primaries and 8 parts: 3, 3, 2).
 * The same for every instance and every `feedSlots`.
 */
export function feedTag(part: number): string {
  if (part === 0) return 'feed';
  const known = tags.get(part);
  if (known !== undefined) return known;
  let reversed = 0;
  for (let bit = 0, rest = part; bit < 6; bit++, rest >>= 1) reversed = (reversed << 1) | (rest & 1);
  const width = SLOTS / MAX_PARTS;
  const from = (hashSlot('feed') + reversed * width) % SLOTS;
  for (let n = 0; ; n++) {
    const tag = `feed:${part}:${n}`;
    if ((hashSlot(tag) - from + SLOTS) % SLOTS < width) {
      tags.set(part, tag);
      return tag;
    }
  }
}

/** The Redis Cluster slot of a hash tag: CRC16 (XMODEM) of its bytes, modulo 16,384. */
export function hashSlot(tag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}
