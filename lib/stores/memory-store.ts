// MemoryRevocationStore: revocation state and the device registry in this process only; bounded.
import { z } from 'zod';
import { validateOptions } from '../config/validate-options.js';
import { argumentError, MESSAGE_PREFIX } from '../core/config-error.js';
import {
  type FeedChange,
  type FeedPage,
  type FeedPageRequest,
  type LifetimeBound,
  type RevocationState,
  type RevocationStore,
  type SessionRecord,
} from './revocation-store.js';
import { RevocationMap } from './revocation-map.js';
import { MAX_REVOCATION_LIFETIME_MS, MAX_SESSIONS_PER_USER } from '../core/limits.js';

/**
 * Most recent revocations the change feed keeps in order; a read from before the oldest of them gets every
 * revocation that still matters instead.
 */
const RECENT_CHANGES = 10_000;

/** Node runs a longer timer after 1 ms instead (with a warning): the longest interval it keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const memoryStoreOptionsSchema = z
  .object({
    /** Most revocation entries (users and revoked sessions) kept at once, and, separately, most device-registry records. Defaults to 1,000,000. */
    maxEntries: z.number().int().positive().default(1_000_000),
    /** How often expired entries are swept out, in ms, at most 2^31 - 1 (Node's longest timer). Defaults to 60,000. */
    sweepIntervalMs: z
      .number()
      .int()
      .positive()
      .max(MAX_TIMER_MS, { message: `must be at most ${MAX_TIMER_MS} ms (Node's longest timer, about 24.8 days)` })
      .default(60_000),
    /** TESTS ONLY: bits of the ids' hash the table keeps (ids are compared too), to make collisions happen. Defaults to 64. */
    hashBits: z.number().int().min(1).max(64).optional(),
    /** TESTS ONLY: the clock in ms, to move time in tests without touching `Date`. Defaults to `Date.now`. */
    now: z
      .custom<() => number>((v) => typeof v === 'function', { message: 'must be a function () => number' })
      .optional(),
  })
  .strict();

/** The options of `MemoryRevocationStore`, declared with their documentation and defaults by the schema that validates them. */
export interface MemoryRevocationStoreOptions extends z.input<typeof memoryStoreOptionsSchema> {}

/**
 * For a single process (development, tests, one-instance apps). State is lost on restart and is not shared
 * between instances: use MongoRevocationStore as soon as more than one process serves the app. A revocation
 * that would go past `maxEntries` fails (fail closed) instead of forgetting another one.
 *
 * @example
 * ```ts
 * const auth = createSessionAuth({ secret, store: new MemoryRevocationStore() });
 * ```
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #revocations: RevocationMap;
  /** The longest session lifetime declared by the instances using this store (`declareLifetime`). */
  #lifetime: LifetimeBound | undefined;
  /** The change feed: the latest revocations in the order written, from index `#recentStart` on. */
  #recent: { at: number; change: FeedChange }[] = [];
  #recentStart = 0;
  /** Revocations written at or before this may be missing from `#recent`. */
  #recentFloor = Number.NEGATIVE_INFINITY;
  /** Registered sessions by user, then by session id. */
  readonly #registry = new Map<string, Map<string, SessionRecord>>();
  #registered = 0;
  readonly #maxEntries: number;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(options?: MemoryRevocationStoreOptions) {
    const config = validateOptions(memoryStoreOptionsSchema, options, 'MemoryRevocationStore');
    this.#maxEntries = config.maxEntries;
    this.#revocations = new RevocationMap({
      keys: 'exact',
      ...(config.hashBits === undefined ? {} : { hashBits: config.hashBits }),
    });
    this.#now = config.now ?? Date.now;
    this.#timer = setInterval(() => this.sweep(), config.sweepIntervalMs);
    this.#timer.unref();
  }

  getState(sub: string, sessionId: string): RevocationState {
    return this.#revocations.state(sub, sessionId, this.#now());
  }

  revokeUser(sub: string, at: Date, relevantUntil: Date): void {
    assertDate(at, 'at');
    assertDate(relevantUntil, 'relevantUntil');
    if (!this.#revocations.hasUser(sub)) this.#reserve('entries');
    this.#revocations.raiseUser(sub, at.getTime(), relevantUntil.getTime());
    this.#record({ kind: 'user', sub, lastLogoutAt: at, relevantUntil });
    // The registry records this ended are never listed again: dropped, so listings stay short.
    for (const [sid, record] of this.#registry.get(sub) ?? [])
      if (record.signedInAt <= at) this.#forgetRecord(sub, sid);
  }

  markClaimsChanged(sub: string, at: Date, relevantUntil: Date): void {
    assertDate(at, 'at');
    assertDate(relevantUntil, 'relevantUntil');
    if (!this.#revocations.hasClaims(sub)) this.#reserve('entries');
    this.#revocations.raiseClaims(sub, at.getTime(), relevantUntil.getTime());
    this.#record({ kind: 'claims', sub, changedAt: at, relevantUntil });
  }

  revokeSession(sessionId: string, sub: string, expiresAt: Date): void {
    assertDate(expiresAt, 'expiresAt');
    if (!this.#revocations.hasSession(sub, sessionId)) this.#reserve('entries');
    this.#revocations.extendSession(sub, sessionId, expiresAt.getTime());
    this.#record({ kind: 'session', sessionId, sub, expiresAt });
    this.#forgetRecord(sub, sessionId);
  }

  /**
   * The change feed: what changed at or after `since`, from the latest 10,000 revocations; everything that still
   * matters when `since` is null or older than those, in pages when asked (`page`). Every revocation this store
   * held is in its table: the feed has no start.
   */
  readFeed(since: Date | null, limit: number, page?: FeedPageRequest): FeedPage {
    const from = since?.getTime();
    if (from === undefined || from <= this.#recentFloor) {
      const table = this.#revocations;
      // A cursor is `<generation>:<slot>`; entries moved since it was given (another generation): from the start.
      const [generation, slot] = (page?.cursor ?? '').split(':').map(Number);
      if (page?.cursor !== undefined && !(Number.isSafeInteger(generation) && Number.isSafeInteger(slot) && slot! >= 0))
        throw argumentError('page.cursor', 'is not a cursor this store gave.');
      const start = generation === table.generation ? slot : 0;
      const read = table.changes(this.#now(), Math.min(limit, page?.size ?? limit), start);
      const cursor =
        page === undefined || read.next === undefined ? {} : { cursor: `${table.generation}:${read.next}` };
      return { startedAt: new Date(0), changes: read.changes, ...cursor };
    }
    const changes: FeedChange[] = [];
    for (let i = this.#recentStart; i < this.#recent.length && changes.length < limit; i++) {
      const entry = this.#recent[i] as { at: number; change: FeedChange };
      if (entry.at >= from) changes.push(entry.change);
    }
    return { startedAt: new Date(0), changes };
  }

  /**
   * The longest session lifetime declared by the instances using this store: it starts at the first declaration
   * (at 400 days when revocations were written before it), then only rises, unless set (`mode: 'set'`).
   */
  declareLifetime(lifetimeMs: number, mode: 'raise' | 'set'): LifetimeBound {
    if (!(Number.isSafeInteger(lifetimeMs) && lifetimeMs > 0))
      throw argumentError('lifetimeMs', 'must be a positive whole number of milliseconds.');
    const held = this.#lifetime;
    const start = held === undefined ? (this.size === 0 ? lifetimeMs : MAX_REVOCATION_LIFETIME_MS) : undefined;
    const next = mode === 'set' ? lifetimeMs : Math.max(held?.lifetimeMs ?? 0, start ?? 0, lifetimeMs);
    const bound =
      next === held?.lifetimeMs
        ? held
        : {
            lifetimeMs: next,
            raisedAt: new Date(Math.max(this.#now(), (held?.raisedAt.getTime() ?? 0) + 1)),
            settledAt: held?.settledAt ?? new Date(0),
          };
    this.#lifetime = bound;
    return { ...bound };
  }

  /** Records that entries written up to `raisedAt` were extended to the bound. */
  settleLifetime(raisedAt: Date): void {
    assertDate(raisedAt, 'raisedAt');
    const held = this.#lifetime;
    if (held !== undefined && held.settledAt < raisedAt) held.settledAt = raisedAt;
  }

  /** Keeps the latest revocations in order, dropping the oldest past `RECENT_CHANGES`. */
  #record(change: FeedChange): void {
    this.#recent.push({ at: this.#now(), change });
    if (this.#recent.length - this.#recentStart <= RECENT_CHANGES) return;
    this.#recentFloor = Math.max(this.#recentFloor, (this.#recent[this.#recentStart] as { at: number }).at);
    this.#recentStart++;
    if (this.#recentStart >= RECENT_CHANGES) {
      this.#recent = this.#recent.slice(this.#recentStart);
      this.#recentStart = 0;
    }
  }

  /**
   * The registry has a budget of its own (`maxEntries` records, at most 1,000 per user), so sign-ins can never
   * crowd out revocations. Past it (after dropping the records that ended) a registration is refused: a
   * session that still works is never forgotten, since then nothing could list or end it. `maxSessions` ends
   * sessions before a user comes to that; only sign-ins at the very same moment can.
   */
  registerSession(record: SessionRecord): void {
    const { sub, sessionId } = record;
    const held = this.#registry.get(sub);
    if (held?.has(sessionId) === true) {
      held.set(sessionId, { ...record });
      return;
    }
    if (held !== undefined && held.size >= MAX_SESSIONS_PER_USER) {
      this.#forgetEnded(sub, held, this.#now());
      if (held.size >= MAX_SESSIONS_PER_USER)
        throw new Error(
          `${MESSAGE_PREFIX}: MemoryRevocationStore refuses a new session: this user has ${held.size} live registered sessions. Sign-ins at the same moment went past \`maxSessions\`; the next sign-in ends the oldest.`,
        );
    }
    this.#reserve('records');
    let sessions = this.#registry.get(sub);
    if (sessions === undefined) this.#registry.set(sub, (sessions = new Map<string, SessionRecord>()));
    sessions.set(sessionId, { ...record });
    this.#registered++;
  }

  touchSession(sessionId: string, sub: string, lastActiveAt: Date): void {
    const record = this.#registry.get(sub)?.get(sessionId);
    if (record !== undefined && record.lastActiveAt.getTime() < lastActiveAt.getTime())
      record.lastActiveAt = lastActiveAt;
  }

  listSessions(sub: string): SessionRecord[] {
    const now = this.#now();
    const watermark = this.#revocations.watermark(sub, now) ?? -Infinity;
    const live = [...(this.#registry.get(sub)?.values() ?? [])].filter(
      (r) =>
        r.expiresAt.getTime() > now &&
        r.signedInAt.getTime() > watermark &&
        !this.#revocations.state(sub, r.sessionId, now).sessionRevoked,
    );
    return live.map((r) => ({ ...r }));
  }

  /** Number of revocation entries held (users with a watermark and revoked sessions); see `maxEntries`. */
  get size(): number {
    return this.#revocations.size;
  }

  /** Number of device-registry records held (a budget of its own, also `maxEntries`). */
  get registrySize(): number {
    return this.#registered;
  }

  /** Drops entries that no longer matter. Runs on a timer; callable directly. */
  sweep(now = this.#now()): void {
    this.#revocations.prune(now);
    for (const [sub, sessions] of this.#registry) this.#forgetEnded(sub, sessions, now);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Drops one registry record of a user (and the user's map once empty). */
  #forgetRecord(sub: string, sessionId: string): void {
    const sessions = this.#registry.get(sub);
    if (sessions?.delete(sessionId) !== true) return;
    this.#registered--;
    if (sessions.size === 0) this.#registry.delete(sub);
  }

  /** Drops the registry records of a user that ended by `now`. */
  #forgetEnded(sub: string, sessions: Map<string, SessionRecord>, now: number): void {
    for (const [sid, record] of sessions) if (record.expiresAt.getTime() <= now) this.#forgetRecord(sub, sid);
  }

  /** At `maxEntries` revocation entries or registry records (each a budget of its own), sweeps; still there, fails. */
  #reserve(what: 'entries' | 'records'): void {
    const held = () => (what === 'entries' ? this.size : this.#registered);
    if (held() < this.#maxEntries) return;
    this.sweep();
    if (held() < this.#maxEntries) return;
    const full = what === 'entries' ? 'MemoryRevocationStore' : "MemoryRevocationStore's device registry";
    throw new Error(
      `${MESSAGE_PREFIX}: ${full} is full (${this.#maxEntries} ${what}); raise \`maxEntries\` or use a shared store.`,
    );
  }
}

/** Dates the store keeps must be valid: an Invalid Date would be kept as NaN and revoke nothing. */
function assertDate(value: Date, argument: string): void {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime()))
    throw argumentError(argument, 'must be a valid Date.');
}
