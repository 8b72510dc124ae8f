// RedisRevocationStore: watermarks and revoked sessions as Redis keys that expire with what they hold.
import { isIP } from 'node:net';
import { storeLogger } from '../../config/logger.js';
import { validateOptions } from '../../config/validate-options.js';
import { argumentError, ConfigError, MESSAGE_PREFIX } from '../../core/config-error.js';
import type {
  FeedChange,
  FeedPage,
  FeedPageRequest,
  LifetimeBound,
  RevocationState,
  RevocationStore,
  SessionRecord,
  StoreContext,
} from '../revocation-store.js';
import { connect, isClusterTransient, type RedisCommand, type RedisConnection } from './client.js';
import { decodeFeedCursor, encodeFeedCursor, pageSizeOf } from '../feed-cursor.js';
import { writeInTime } from '../feed-write.js';
import { warnIfRevocationsCanBeLost } from './durability.js';
import { onceUntilFailure } from '../../core/once-until-failure.js';
import { withDeadline } from '../../core/deadline.js';
import { feedKeys, feedPartOf, userKeys } from './keys.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../core/limits.js';
import { redisStoreOptionsSchema, type RedisRevocationStoreOptions } from './options.js';
import {
  DECLARE_LIFETIME_SCRIPT,
  evalCommand,
  FEED_APPEND_SCRIPT,
  FEED_PAGE_SCRIPT,
  LIST_SESSIONS_SCRIPT,
  MARK_CLAIMS_SCRIPT,
  RAISE_FEED_SLOTS_SCRIPT,
  REGISTER_SESSION_SCRIPT,
  REVOKE_SESSION_SCRIPT,
  REVOKE_USER_SCRIPT,
  SETTLE_LIFETIME_SCRIPT,
  TOUCH_SESSION_SCRIPT,
} from './scripts.js';

/** A date as the whole milliseconds the keys hold; a date before 1970 or invalid is a programmer error. */
function toMs(date: Date, argument: string): string {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) throw argumentError(argument, 'must be a valid Date after 1970.');
  return String(ms);
}

function checkSessionId(sessionId: unknown, argument = 'sessionId'): void {
  if (typeof sessionId !== 'string' || sessionId === '') throw argumentError(argument, 'must be a non-empty string.');
}

/**
 * `<signedInAtMs>|<lastActiveAtMs>|<expiresAtMs>`, then `|<userAgent>` when the record has one, or
 * `||<ip>|<userAgent>` when it has an IP (versions before the IP read that tail as the User-Agent).
 */
function encodeRecord(record: SessionRecord, expiresAtMs: string): string {
  const { userAgent, ip } = record;
  if (userAgent !== undefined && typeof userAgent !== 'string')
    throw argumentError('record.userAgent', 'must be a string when present.');
  if (ip !== undefined && (typeof ip !== 'string' || ip.includes('|')))
    throw argumentError('record.ip', 'must be a string without `|` when present.');
  const dates = `${toMs(record.signedInAt, 'record.signedInAt')}|${toMs(record.lastActiveAt, 'record.lastActiveAt')}|${expiresAtMs}`;
  // A User-Agent that starts with `|` takes the longer form too (with an empty IP): never read as an IP.
  if (ip !== undefined || userAgent?.startsWith('|') === true) return `${dates}||${ip ?? ''}|${userAgent ?? ''}`;
  return userAgent === undefined ? dates : `${dates}|${userAgent}`;
}

/** The inverse of `encodeRecord`; unreadable data fails closed, as in the checks. */
function decodeRecord(sub: string, sessionId: string, value: string | null): SessionRecord {
  const match = value === null ? null : /^(\d+)\|(\d+)\|(\d+)(?:\|\|([^|]*)\|([\s\S]*)|\|([\s\S]*))?$/.exec(value);
  if (match === null || sessionId === '')
    throw new TypeError(`${MESSAGE_PREFIX}: a registered session in Redis holds unreadable data.`);
  const [, signedInAt, lastActiveAt, expiresAt, field, agentAfterIp, agent] = match;
  // A record of an older version whose User-Agent looks like the longer form is read as it was written.
  const longForm = field !== undefined && (field === '' || isIP(field) !== 0);
  const ip = longForm && field !== '' ? field : undefined;
  const tail = field === undefined ? agent : longForm ? agentAfterIp : `|${field}|${agentAfterIp}`;
  const userAgent = tail === '' ? undefined : tail;
  return {
    sessionId,
    sub,
    signedInAt: new Date(Number(signedInAt)),
    lastActiveAt: new Date(Number(lastActiveAt)),
    expiresAt: new Date(Number(expiresAt)),
    ...(userAgent === undefined ? {} : { userAgent }),
    ...(ip === undefined ? {} : { ip }),
  };
}

function text(reply: unknown): string | null {
  if (reply === null || reply === undefined) return null;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'string' || typeof reply === 'number') return String(reply);
  throw new TypeError(`${MESSAGE_PREFIX}: unexpected value type in a Redis reply`);
}

/**
 * Revocation state in Redis, through a node-redis or ioredis client the app already has (single node or
 * cluster). Each check is one `MGET` of the user's watermark key and the session's key; each logout is one
 * script adding it to the change feed (for `maxRevocationDelay`), then one Lua compare-and-set that never
 * lowers a date, each followed by `WAIT` when `waitReplicas` is set. The device registry
 * (`registerSession`, `touchSession`, `listSessions`) is one Lua script per call over a per-user hash and a
 * sorted set of expiries. Every key expires with the state it holds (`PEXPIREAT`), so Redis needs no clean-up
 * job.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createSessionAuth } from 'express-revocable-jwt';
 * import { RedisRevocationStore } from 'express-revocable-jwt/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true }).connect();
 * const auth = createSessionAuth({
 *   secret: process.env.SESSION_SECRET,
 *   store: new RedisRevocationStore({ client, prefix: 'rjwt:' }),
 * });
 * ```
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #connection: RedisConnection;
  readonly #prefix: string;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  #warnedOfQueue = false;
  /**
   * How long a call may retry what a cluster answers while it changes: the longest `storeTimeoutMs` of the
   * instances using the store (they stop waiting then), or `commandTimeoutMs` before any said.
   */
  #storeTimeoutMs: number | undefined;
  readonly #logger: ReturnType<typeof storeLogger>;
  /**
   * Checks that Redis keeps what it is given, then marks when the feed began (unless a store began it before):
   * sessions signed in from then on are in its reach. Run by `init` and retried by every write and feed read
   * until it succeeds (a client not yet connected fails it; a late marker only makes more sessions be checked
   * against the keys themselves).
   */
  readonly #setup = onceUntilFailure(async () => {
    await warnIfRevocationsCanBeLost((key, commands) => this.#send(key, commands), this.#logger);
    const keys = feedKeys(this.#prefix);
    await this.#send(keys.at, [['SET', keys.start, String(Date.now()), 'NX']]);
  });

  /** The parts of the feed this store writes to (`feedSlots`). */
  readonly #feedSlots: number;
  /** The parts its reads take: its own, or more once a writer recorded more in `{feed}:slots`. */
  #feedPartsRead: number;
  /**
   * Records this store's `feedSlots` in `{feed}:slots` (never lowering it), once; with `waitReplicas`, only once
   * replicas have it (a failover must not make readers forget the parts).
   */
  readonly #raiseFeedSlots = onceUntilFailure(() => this.#recordFeedSlots());

  async #recordFeedSlots(): Promise<void> {
    const keys = feedKeys(this.#prefix);
    const script = evalCommand(RAISE_FEED_SLOTS_SCRIPT, [keys.slots], [String(this.#feedSlots)]);
    this.#requireAcks(await this.#write(keys.at, script));
  }

  constructor(options: RedisRevocationStoreOptions) {
    const config = validateOptions(redisStoreOptionsSchema, options, 'RedisRevocationStore');
    if (config.waitReplicas > 0 && config.waitTimeoutMs >= config.commandTimeoutMs) {
      throw new ConfigError('waitTimeoutMs', `must be shorter than \`commandTimeoutMs\` (${config.commandTimeoutMs}).`);
    }
    const clientOptions = (config.client as { options?: { keyPrefix?: unknown } }).options;
    if (typeof clientOptions?.keyPrefix === 'string' && clientOptions.keyPrefix !== '') {
      // ioredis prefixes declared keys but not key names built inside a script (the device list builds them).
      throw new ConfigError('client', "has an ioredis `keyPrefix`; use this store's own `prefix` option instead.");
    }
    this.#connection = connect(config.client);
    this.#prefix = config.prefix;
    this.#waitReplicas = config.waitReplicas;
    this.#waitTimeoutMs = config.waitTimeoutMs;
    this.#commandTimeoutMs = config.commandTimeoutMs;
    this.#feedSlots = config.feedSlots;
    this.#feedPartsRead = config.feedSlots;
    this.#logger = storeLogger(config.logger);
  }

  /** Which client the store detected: `node-redis`, `node-redis-cluster`, `ioredis` or `ioredis-cluster`. */
  get clientKind(): RedisConnection['kind'] {
    return this.#connection.kind;
  }

  /**
   * Warns (through the instance's logger unless the store has its own) about a client that queues commands
   * offline, Redis persistence off and an evicting `maxmemory-policy`, and marks the start of the feed.
   */
  init(context?: StoreContext): Promise<void> {
    this.#logger.adopt(context?.logger);
    if (context?.storeTimeoutMs !== undefined)
      this.#storeTimeoutMs = Math.max(this.#storeTimeoutMs ?? 0, context.storeTimeoutMs);
    if (!this.#warnedOfQueue && this.#connection.queuesOffline) {
      this.#warnedOfQueue = true;
      this.#logger.warn(
        `${MESSAGE_PREFIX}: the Redis client queues commands while disconnected, so an outage piles them up in memory (each check still fails with 503 after storeTimeoutMs). Create node-redis clients with \`disableOfflineQueue: true\`, ioredis clients with \`enableOfflineQueue: false\`.`,
      );
    }
    return this.#setup();
  }

  /** The set-up, retried in the background by writes and feed reads until it succeeded once. */
  #setupInBackground(): void {
    this.#setup().catch(() => undefined);
  }

  /**
   * One round trip: `MGET` of the watermark, the claims change and the session entry (no session entry without
   * a session).
   */
  async getState(sub: string, sessionId: string, _signedInAtMs?: number): Promise<RevocationState> {
    const { user, claims, sessions } = userKeys(this.#prefix, sub);
    const keys = sessionId === '' ? [user, claims] : [user, claims, sessions + sessionId];
    const [reply] = await this.#send(user, [['MGET', ...keys]]);
    if (!Array.isArray(reply) || reply.length !== keys.length)
      throw new Error(`${MESSAGE_PREFIX}: unexpected MGET reply from Redis`);
    const now = Date.now();
    const lastLogoutAt = readTime(text(reply[0]), now, 'watermark');
    const sessionRevoked = readSession(text(reply[2]), now);
    const claimsChangedAt = readTime(text(reply[1]), now, 'claims change');
    return claimsChangedAt === null
      ? { lastLogoutAt, sessionRevoked }
      : { lastLogoutAt, sessionRevoked, claimsChangedAt };
  }

  /** The watermark, then (same script) the registry records it ended are deleted. */
  async revokeUser(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    this.#setupInBackground();
    const keys = userKeys(this.#prefix, sub);
    const atMs = toMs(at, 'at');
    const untilMs = toMs(relevantUntil, 'relevantUntil');
    // The feed first: a write that fails half-way leaves a revocation instances with a copy refuse, never one
    // only the keys hold (a retry of the logout may not come, or may not write again).
    const feedAcks = await this.#appendToFeed(
      sub,
      JSON.stringify(['u', sub, Number(atMs), Number(untilMs)]),
      untilMs,
      'at',
    );
    const script = evalCommand(REVOKE_USER_SCRIPT, [keys.user, keys.registry, keys.registryByExpiry], [atMs, untilMs]);
    this.#requireAcks(Math.min(feedAcks, await this.#write(keys.user, script)));
  }

  /** The revoked-session entry, then (same script) the session's registry record is deleted. */
  async revokeSession(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    this.#setupInBackground();
    checkSessionId(sessionId);
    const keys = userKeys(this.#prefix, sub);
    const key = keys.sessions + sessionId;
    const expiresAtMs = toMs(expiresAt, 'expiresAt');
    const feedAcks = await this.#appendToFeed(
      sub,
      JSON.stringify(['s', sessionId, sub, Number(expiresAtMs)]),
      expiresAtMs,
      'at',
    );
    const script = evalCommand(
      REVOKE_SESSION_SCRIPT,
      [key, keys.registry, keys.registryByExpiry],
      [expiresAtMs, sessionId],
    );
    this.#requireAcks(Math.min(feedAcks, await this.#write(key, script)));
  }

  /** The claims change (its own key, `:c`), after its feed entry (in keys of their own), as a watermark. */
  async markClaimsChanged(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    this.#setupInBackground();
    const keys = userKeys(this.#prefix, sub);
    const atMs = toMs(at, 'at');
    const untilMs = toMs(relevantUntil, 'relevantUntil');
    const entry = JSON.stringify(['c', sub, Number(atMs), Number(untilMs)]);
    const feedAcks = await this.#appendToFeed(sub, entry, untilMs, 'claimsAt');
    const script = evalCommand(MARK_CLAIMS_SCRIPT, [keys.claims], [atMs, untilMs]);
    this.#requireAcks(Math.min(feedAcks, await this.#write(keys.claims, script)));
  }

  /**
   * The change feed (for `maxRevocationDelay`): every revocation and claims change that still matters, or those
   * written since `since`, with when the feed began. One round trip to each part's slot, all sent at once (and a
   * second one to parts a writer added since this store last read their count). With `page`, at most `page.size`
   * changes (`limit` is then the caller's to count) and a `cursor` while more follow: see `#readFeedPage`.
   */
  async readFeed(since: Date | null, limit: number, page?: FeedPageRequest): Promise<FeedPage> {
    if (page !== undefined) return this.#readFeedPage(since, page);
    this.#setupInBackground();
    const first = feedKeys(this.#prefix);
    const now = String(Date.now());
    const range = (byAt: string, byExp: string) =>
      since === null
        ? ['ZRANGEBYSCORE', byExp, `(${now}`, '+inf', 'LIMIT', '0', String(limit)]
        : ['ZRANGEBYSCORE', byAt, toMs(since, 'since'), '+inf', 'LIMIT', '0', String(limit)];
    const ranges = (part: number) => {
      const keys = feedKeys(this.#prefix, part);
      return [range(keys.at, keys.exp), range(keys.claimsAt, keys.claimsExp)];
    };
    const readParts = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: Math.max(0, to - from) }, (_, i) =>
          this.#send(feedKeys(this.#prefix, from + i).at, ranges(from + i)),
        ),
      );
    const known = this.#feedPartsRead;
    const [[, start, slots, ...firstPart], others] = await Promise.all([
      this.#send(first.at, [['SET', first.start, now, 'NX'], ['GET', first.start], ['GET', first.slots], ...ranges(0)]),
      readParts(1, known),
    ]);
    const { startMs, used } = this.#feedHead(start, slots);
    if (used > known) {
      this.#feedPartsRead = used;
      others.push(...(await readParts(known, used)));
    }
    // Each kind of each part up to `limit`: together at least `limit` when any has more.
    const changes: FeedChange[] = [];
    for (const part of [firstPart, ...others]) {
      for (const entries of part) {
        if (!Array.isArray(entries)) throw new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the feed read`);
        for (const entry of entries as unknown[]) changes.push(readFeedEntry(text(entry)));
      }
    }
    return { startedAt: new Date(startMs), changes };
  }

  /**
   * One page of a paged feed read, in one round trip to each part's slot, all sent at once. The feed is two sorted
   * sets per part (revocations, claims changes: by end for a whole read, by write time for a read by time), each
   * read from where the cursor left it: the cursor holds, per set, nothing yet, its last entry taken (score and
   * member, so an entry pruned or added before it moves nothing past it), or that it was read to its end. A page
   * reads the first sets not read to their end (at most `page.size` of them), each up to its share of `page.size`,
   * plus one entry that says whether more follow. Parts a writer added meanwhile are read from their start.
   */
  async #readFeedPage(since: Date | null, page: FeedPageRequest): Promise<FeedPage> {
    this.#setupInBackground();
    const size = pageSizeOf(page);
    const sinceMs = since === null ? null : Number(toMs(since, 'since'));
    const positions =
      page.cursor === undefined ? [] : decodeFeedCursor(FEED_CURSOR_PREFIX, page.cursor, sinceMs, areFeedSetPositions);
    const cover = (parts: number) => {
      while (positions.length < parts * 2) positions.push(null);
    };
    cover(this.#feedPartsRead);
    const unread = positions.flatMap((position, set) => (position === FEED_SET_DONE ? [] : [set]));
    const chosen = unread.slice(0, size);
    const share = Math.floor(size / Math.max(1, chosen.length));
    const now = String(Date.now());
    const setKey = (set: number) => {
      const keys = feedKeys(this.#prefix, set >> 1);
      if (since === null) return set % 2 === 0 ? keys.exp : keys.claimsExp;
      return set % 2 === 0 ? keys.at : keys.claimsAt;
    };
    const byPart = new Map<number, number[]>();
    for (const set of chosen) byPart.set(set >> 1, [...(byPart.get(set >> 1) ?? []), set]);
    const pageOf = (sets: number[]) => {
      const args = sets.flatMap((set) => {
        const position = positions[set];
        const [score, member] = Array.isArray(position) ? [String(position[0]), position[1]] : ['', ''];
        return [score, member, String(share + 1)];
      });
      const bound = since === null ? now : `(${String(sinceMs)}`;
      return evalCommand(FEED_PAGE_SCRIPT, sets.map(setKey), [bound, ...args]);
    };
    const first = feedKeys(this.#prefix);
    const partZero = byPart.get(0);
    const others = [...byPart].filter(([part]) => part !== 0);
    const [[, start, slots, zeroPage], otherPages] = await Promise.all([
      this.#send(first.at, [
        ['SET', first.start, now, 'NX'],
        ['GET', first.start],
        ['GET', first.slots],
        ...(partZero === undefined ? [] : [pageOf(partZero)]),
      ]),
      Promise.all(others.map(([part, sets]) => this.#send(feedKeys(this.#prefix, part).at, [pageOf(sets)]))),
    ]);
    const { startMs, used } = this.#feedHead(start, slots);
    const unexpected = () => new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the feed read`);
    const replies = new Map<number, unknown>();
    const note = (sets: number[] | undefined, reply: unknown) => {
      if (sets === undefined) return;
      if (!Array.isArray(reply) || reply.length !== sets.length) throw unexpected();
      sets.forEach((set, i) => replies.set(set, reply[i]));
    };
    note(partZero, zeroPage);
    others.forEach(([, sets], i) => note(sets, otherPages[i]?.[0]));
    const changes: FeedChange[] = [];
    for (const set of chosen) {
      const entries = replies.get(set);
      if (!Array.isArray(entries) || entries.length % 2 !== 0) throw unexpected();
      const taken = Math.min(share, entries.length / 2);
      for (let i = 0; i < taken; i++) changes.push(readFeedEntry(text(entries[i * 2])));
      if (entries.length / 2 <= share) positions[set] = FEED_SET_DONE;
      else {
        const member = text(entries[taken * 2 - 2]) ?? '';
        const score = Number(text(entries[taken * 2 - 1]));
        if (!Number.isFinite(score)) throw unexpected();
        positions[set] = [score, member];
      }
    }
    if (used > this.#feedPartsRead) this.#feedPartsRead = used;
    cover(used);
    const more = positions.some((position) => position !== FEED_SET_DONE);
    return {
      startedAt: new Date(startMs),
      changes,
      ...(more ? { cursor: encodeFeedCursor(FEED_CURSOR_PREFIX, sinceMs, positions) } : {}),
    };
  }

  /**
   * Adds a revocation to the feed (in the part of `sub`), just before it is stored (with `WAIT`, as the revocation
   * itself); resolves to the replicas that acknowledged it (written again with a new time when late: `writeInTime`).
   * Before the first write to a part above 0, the count of parts readers take is raised to this store's.
   */
  async #appendToFeed(sub: string, entry: string, endMs: string, kind: 'at' | 'claimsAt'): Promise<number> {
    const part = feedPartOf(sub, this.#feedSlots);
    if (part > 0) await this.#raiseFeedSlots();
    const keys = feedKeys(this.#prefix, part);
    const pair = kind === 'at' ? [keys.at, keys.exp] : [keys.claimsAt, keys.claimsExp];
    return writeInTime((atMs) => {
      const at = String(atMs);
      return this.#write(keys.at, evalCommand(FEED_APPEND_SCRIPT, pair, [at, entry, endMs, at]));
    });
  }

  /**
   * The feed's start (ms) and the count of parts writers used, from a read's replies to `GET {feed}:start` and
   * `GET {feed}:slots`; a count below this store's own was lost (a restore, a failover): recorded again for
   * readers with fewer.
   */
  #feedHead(start: unknown, slots: unknown): { startMs: number; used: number } {
    const startMs = Number(text(start));
    const used = slots === null ? 1 : Number(text(slots));
    if (!Number.isSafeInteger(startMs) || !Number.isSafeInteger(used) || used < 1 || used > 64)
      throw new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the feed read`);
    if (used < this.#feedSlots) this.#recordFeedSlots().catch(() => undefined);
    return { startMs, used };
  }

  /**
   * The session-lifetime bound, a hash in the feed's first slot (`{feed}:lifetime`), changed by one script (as
   * `RevocationStore.declareLifetime` says; `raisedAt` by this process's clock), followed by `WAIT` with
   * `waitReplicas`. A bound not stored yet starts at `lifetimeMs` when the feed is empty, else at 400 days; with
   * more than one feed part (`feedSlots`), the parts in other slots are looked at first (one more round trip, only
   * then).
   */
  async declareLifetime(lifetimeMs: number, mode: 'raise' | 'set'): Promise<LifetimeBound> {
    if (typeof lifetimeMs !== 'number' || !Number.isSafeInteger(lifetimeMs) || lifetimeMs < 1)
      throw argumentError('lifetimeMs', 'must be a positive whole number of milliseconds.');
    if (mode !== 'raise' && mode !== 'set') throw argumentError('mode', "must be 'raise' or 'set'.");
    this.#setupInBackground();
    const keys = feedKeys(this.#prefix);
    const declare = (othersEmpty: string) =>
      this.#writeForReply(
        keys.at,
        evalCommand(
          DECLARE_LIFETIME_SCRIPT,
          [keys.lifetime, keys.slots, keys.at, keys.exp, keys.claimsAt, keys.claimsExp],
          [
            String(lifetimeMs),
            mode,
            String(Date.now()),
            String(MAX_REVOCATION_LIFETIME_MS),
            String(this.#feedSlots),
            othersEmpty,
          ],
        ),
      );
    let { reply, acked } = await declare('');
    if (Array.isArray(reply) && text(reply[0]) === 'check') {
      const parts = Number(text(reply[1]));
      if (!Number.isSafeInteger(parts) || parts < 2 || parts > 64)
        throw new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the session-lifetime bound`);
      const counts = await Promise.all(
        Array.from({ length: parts - 1 }, async (_, i) => {
          const part = feedKeys(this.#prefix, i + 1);
          const [count] = await this.#send(part.at, [['EXISTS', part.at, part.exp, part.claimsAt, part.claimsExp]]);
          return Number(count);
        }),
      );
      ({ reply, acked } = await declare(counts.every((count) => count === 0) ? '1' : '0'));
    }
    this.#requireAcks(acked);
    const [bound, raisedAt, settledAt] = Array.isArray(reply) ? reply.map((value) => Number(text(value))) : [];
    if (![bound, raisedAt, settledAt].every((value) => Number.isSafeInteger(value)))
      throw new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the session-lifetime bound`);
    return {
      lifetimeMs: bound as number,
      raisedAt: new Date(raisedAt as number),
      settledAt: new Date(settledAt as number),
    };
  }

  /** Raises the bound's `settledAt` to `raisedAt` (never lowers it) in one script, then `WAIT` as `declareLifetime`. */
  async settleLifetime(raisedAt: Date): Promise<void> {
    const keys = feedKeys(this.#prefix);
    const script = evalCommand(SETTLE_LIFETIME_SCRIPT, [keys.lifetime], [toMs(raisedAt, 'raisedAt')]);
    this.#requireAcks(await this.#write(keys.at, script));
  }

  /**
   * One `EVAL`: writes or replaces the record, prunes expired records of the user, and raises (never
   * shortens) the registry keys' expiry to the latest `expiresAt` among the user's sessions. No `WAIT`: a
   * sign-in does not fail on a lagging replica.
   */
  async registerSession(record: SessionRecord): Promise<void> {
    const { sessionId, sub } = record;
    checkSessionId(sessionId, 'record.sessionId');
    const { registry, registryByExpiry } = userKeys(this.#prefix, sub);
    const expiresAt = toMs(record.expiresAt, 'record.expiresAt');
    const args = [String(Date.now()), sessionId, encodeRecord(record, expiresAt), expiresAt];
    await this.#send(registry, [evalCommand(REGISTER_SESSION_SCRIPT, [registry, registryByExpiry], args)]);
  }

  /** One `EVAL`: raises the record's `lastActiveAt` if the record exists; never creates one. */
  async touchSession(sessionId: string, sub: string, lastActiveAt: Date): Promise<void> {
    checkSessionId(sessionId);
    const { registry } = userKeys(this.#prefix, sub);
    const args = [sessionId, toMs(lastActiveAt, 'lastActiveAt')];
    await this.#send(registry, [evalCommand(TOUCH_SESSION_SCRIPT, [registry], args)]);
  }

  /**
   * One `EVAL` (read-only) over the registry, the watermark and the revoked-session keys of the listed
   * sessions, all in the user's slot: returns the live sessions.
   */
  async listSessions(sub: string): Promise<SessionRecord[]> {
    const keys = userKeys(this.#prefix, sub);
    const now = Date.now();
    const script = evalCommand(
      LIST_SESSIONS_SCRIPT,
      [keys.registry, keys.registryByExpiry, keys.user],
      [String(now), keys.sessions],
    );
    const [reply] = await this.#send(keys.registry, [script]);
    if (!Array.isArray(reply) || reply.length % 2 !== 0)
      throw new Error(`${MESSAGE_PREFIX}: unexpected reply from Redis to the session listing`);
    const records: SessionRecord[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      records.push(decodeRecord(sub, text(reply[i]) ?? '', text(reply[i + 1])));
    }
    return records;
  }

  /**
   * The script, then (with `waitReplicas`) `WAIT` in the same round trip; resolves to the replicas that
   * acknowledged it (0 without `waitReplicas`, which asks for none). The caller checks them once every write is made.
   */
  async #write(key: string, script: RedisCommand): Promise<number> {
    return (await this.#writeForReply(key, script)).acked;
  }

  /** `#write`, also resolving to the script's reply. */
  async #writeForReply(key: string, script: RedisCommand): Promise<{ reply: unknown; acked: number }> {
    if (this.#waitReplicas === 0) {
      const [reply] = await this.#send(key, [script]);
      return { reply, acked: 0 };
    }
    const [reply, acked] = await this.#send(key, [
      script,
      ['WAIT', String(this.#waitReplicas), String(this.#waitTimeoutMs)],
    ]);
    return { reply, acked: Number(acked) };
  }

  /** Too few acknowledgements fail the call, once the writes are made (they stay applied on the primary). */
  #requireAcks(acked: number): void {
    if (acked < this.#waitReplicas) {
      throw new Error(
        `${MESSAGE_PREFIX}: only ${acked} of ${this.#waitReplicas} Redis replicas acknowledged the revocation within ${this.#waitTimeoutMs} ms (it is applied on the primary).`,
      );
    }
  }

  /**
   * Sends with a deadline: a Redis that never answers fails the call; its late reply is ignored. On a cluster, an
   * answer that the slot is moving or its primary being replaced (`isClusterTransient`) is retried until the deadline,
   * after the client's map of the slots was brought up to date: 10, 20, 40... up to 200 ms apart.
   */
  #send(key: string, commands: RedisCommand[]): Promise<unknown[]> {
    const ms = this.#commandTimeoutMs;
    const noAnswer = () => new Error(`${MESSAGE_PREFIX}: no answer from Redis within ${ms} ms`);
    const connection = this.#connection;
    const recover = connection.recover;
    if (recover === undefined) return withDeadline(connection.send(key, commands), ms, noAnswer);
    const until = Date.now() + Math.min(ms, this.#storeTimeoutMs ?? ms);
    const attempt = async (): Promise<unknown[]> => {
      for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
        try {
          return await connection.send(key, commands);
        } catch (error) {
          if (!isClusterTransient(error) || Date.now() + pause >= until) throw error;
          // The map's update and the pause both within the time left: no send after the caller stopped waiting.
          const recovered = recover(error).catch(() => undefined);
          await Promise.race([Promise.all([recovered, delay(pause)]), delay(until - Date.now())]);
          if (Date.now() >= until) throw error;
        }
      }
    };
    return withDeadline(attempt(), ms, noAnswer);
  }
}

/** A set of the feed read to its end, in a paged read's cursor. */
const FEED_SET_DONE = 0;

/**
 * Where a paged feed read is in one of the feed's sorted sets (part `n`'s revocations at `2n`, its claims changes
 * at `2n + 1`): not begun (null), its last entry taken (score, member), or read to its end.
 */
type FeedSetPosition = null | typeof FEED_SET_DONE | [score: number, member: string];

const FEED_CURSOR_PREFIX = 'r1.';

/** A cursor's positions: two per feed part (revocations, claims changes), of at most 64 parts. */
function areFeedSetPositions(positions: unknown[]): positions is FeedSetPosition[] {
  return positions.length % 2 === 0 && positions.length <= 128 && positions.every(isFeedSetPosition);
}

function isFeedSetPosition(value: unknown): value is FeedSetPosition {
  if (value === null || value === FEED_SET_DONE) return true;
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'number' &&
    Number.isFinite(value[0]) &&
    typeof value[1] === 'string'
  );
}

/** Resolves after `ms` (at once for 0 or less). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * A feed entry, `["u", sub, atMs, untilMs]`, `["s", sessionId, sub, expiresAtMs]` or `["c", sub, atMs, untilMs]`
 * (a claims change); unreadable data fails the read.
 */
function readFeedEntry(value: string | null): FeedChange {
  let entry: unknown;
  try {
    entry = JSON.parse(value ?? '');
  } catch {
    entry = undefined;
  }
  if (Array.isArray(entry) && entry.length === 4) {
    const [kind, a, b, c] = entry as unknown[];
    if (kind === 'u' && typeof a === 'string' && Number.isSafeInteger(b) && Number.isSafeInteger(c))
      return { kind: 'user', sub: a, lastLogoutAt: new Date(b as number), relevantUntil: new Date(c as number) };
    if (kind === 's' && typeof a === 'string' && typeof b === 'string' && Number.isSafeInteger(c))
      return { kind: 'session', sessionId: a, sub: b, expiresAt: new Date(c as number) };
    if (kind === 'c' && typeof a === 'string' && Number.isSafeInteger(b) && Number.isSafeInteger(c))
      return { kind: 'claims', sub: a, changedAt: new Date(b as number), relevantUntil: new Date(c as number) };
  }
  throw new TypeError(`${MESSAGE_PREFIX}: an entry of the revocation feed in Redis holds unreadable data.`);
}

/**
 * `<atMs>:<relevantUntilMs>` (a watermark, a claims change); past relevantUntil it no longer matters. Unreadable
 * data fails closed.
 */
function readTime(value: string | null, now: number, what: string): Date | null {
  if (value === null) return null;
  const match = /^(\d+):(\d+)$/.exec(value);
  if (match === null) throw new TypeError(`${MESSAGE_PREFIX}: the user's ${what} key in Redis holds unreadable data.`);
  return Number(match[2]) > now ? new Date(Number(match[1])) : null;
}

/** `<expiresAtMs>`; an entry past it is ignored even if Redis has not dropped the key yet. */
function readSession(value: string | null, now: number): boolean {
  if (value === null) return false;
  if (!/^\d+$/.test(value))
    throw new TypeError(`${MESSAGE_PREFIX}: a revoked-session key in Redis holds unreadable data.`);
  return Number(value) > now;
}
