// MemoryRevocationStore: revocation state and the device registry in this process only; bounded.
import { z } from 'zod';
import { validateOptions } from '../config/validate-options.js';
import { MESSAGE_PREFIX } from '../errors/config-error.js';
import type {
  RevocationChange,
  RevocationLog,
  RevocationState,
  RevocationStore,
  SessionRecord,
} from './revocation-store.js';

/** Most device-registry records kept per user; past it the least recently active one is forgotten. */
const MAX_RECORDS_PER_USER = 1000;

const memoryStoreOptionsSchema = z
  .object({
    /** Most revocation entries (users and revoked sessions) kept at once, and, separately, most device-registry records. Defaults to 1,000,000. */
    maxEntries: z.number().int().positive().default(1_000_000),
    /** How often expired entries are swept out, in ms. Defaults to 60,000. */
    sweepIntervalMs: z.number().int().positive().default(60_000),
    /** TESTS ONLY: the clock in ms, to move time in tests without touching `Date`. Defaults to `Date.now`. */
    now: z
      .custom<() => number>((v) => typeof v === 'function', { message: 'must be a function () => number' })
      .optional(),
  })
  .strict();

export type MemoryRevocationStoreOptions = z.input<typeof memoryStoreOptionsSchema>;

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
  /** Watermarks by user: the watermark, until when it matters, when it last changed (for the change feed). */
  readonly #users = new Map<string, { at: number; until: number; changed: number }>();
  /** Revoked sessions: until when, and when the entry last changed. */
  readonly #sessions = new Map<string, { sub: string; expiresAt: number; changed: number }>();
  /** Registered sessions by user, then by session id. */
  readonly #registry = new Map<string, Map<string, SessionRecord>>();
  #registered = 0;
  readonly #maxEntries: number;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(options?: MemoryRevocationStoreOptions) {
    const config = validateOptions(memoryStoreOptionsSchema, options, 'MemoryRevocationStore');
    this.#maxEntries = config.maxEntries;
    this.#now = config.now ?? Date.now;
    this.#timer = setInterval(() => this.sweep(), config.sweepIntervalMs);
    this.#timer.unref();
  }

  getState(sub: string, sessionId: string): RevocationState {
    const user = this.#users.get(sub);
    return {
      lastLogoutAt: user === undefined ? null : new Date(user.at),
      sessionRevoked: this.#isRevoked(sessionId, this.#now()),
    };
  }

  revokeUser(sub: string, at: Date, relevantUntil: Date): void {
    const existing = this.#users.get(sub);
    if (existing === undefined) this.#reserve();
    this.#users.set(sub, {
      at: Math.max(existing?.at ?? 0, at.getTime()),
      until: Math.max(existing?.until ?? 0, relevantUntil.getTime()),
      changed: this.#now(),
    });
  }

  revokeSession(sessionId: string, sub: string, expiresAt: Date): void {
    const existing = this.#sessions.get(sessionId);
    if (existing === undefined) this.#reserve();
    this.#sessions.set(sessionId, {
      sub: existing?.sub ?? sub,
      expiresAt: Math.max(existing?.expiresAt ?? 0, expiresAt.getTime()),
      changed: this.#now(),
    });
  }

  /** The change feed: everything that still matters (`since` null), else what changed at or after `since`. */
  readRevocations(since: Date | null, limit: number): RevocationLog {
    const now = this.#now();
    const from = since?.getTime();
    const wanted = (expiry: number, changed: number) => (from === undefined ? expiry > now : changed >= from);
    const changes: RevocationChange[] = [];
    for (const [sub, e] of this.#users) {
      if (changes.length >= limit) break;
      if (wanted(e.until, e.changed))
        changes.push({ kind: 'user', sub, lastLogoutAt: new Date(e.at), relevantUntil: new Date(e.until) });
    }
    for (const [sessionId, e] of this.#sessions) {
      if (changes.length >= limit) break;
      if (wanted(e.expiresAt, e.changed))
        changes.push({ kind: 'session', sessionId, sub: e.sub, expiresAt: new Date(e.expiresAt) });
    }
    // Every revocation this store ever held is in its maps: the feed has no start.
    return { startedAt: new Date(0), changes };
  }

  /**
   * The registry has a budget of its own (`maxEntries` records, at most 1,000 per user), so sign-ins can never
   * crowd out revocations: past it, the least recently active records are forgotten (they only feed the
   * device list), never a revocation.
   */
  registerSession(record: SessionRecord): void {
    let sessions = this.#registry.get(record.sub);
    if (sessions === undefined) this.#registry.set(record.sub, (sessions = new Map<string, SessionRecord>()));
    if (!sessions.has(record.sessionId)) {
      if (sessions.size >= MAX_RECORDS_PER_USER) this.#forgetLeastActive(sessions);
      if (this.#registered >= this.#maxEntries) this.#makeRegistryRoom();
      this.#registered++;
    }
    sessions.set(record.sessionId, { ...record });
  }

  touchSession(sessionId: string, sub: string, lastActiveAt: Date): void {
    const record = this.#registry.get(sub)?.get(sessionId);
    if (record !== undefined && record.lastActiveAt.getTime() < lastActiveAt.getTime())
      record.lastActiveAt = lastActiveAt;
  }

  listSessions(sub: string): SessionRecord[] {
    const now = this.#now();
    const watermark = this.#users.get(sub)?.at ?? -Infinity;
    const live = [...(this.#registry.get(sub)?.values() ?? [])].filter(
      (r) => r.expiresAt.getTime() > now && r.signedInAt.getTime() > watermark && !this.#isRevoked(r.sessionId, now),
    );
    return live.map((r) => ({ ...r }));
  }

  /** Number of revocation entries held (users with a watermark and revoked sessions); see `maxEntries`. */
  get size(): number {
    return this.#users.size + this.#sessions.size;
  }

  /** Number of device-registry records held (a budget of its own, also `maxEntries`). */
  get registrySize(): number {
    return this.#registered;
  }

  /** Drops entries that no longer matter. Runs on a timer; callable directly. */
  sweep(now = this.#now()): void {
    for (const [sub, entry] of this.#users) if (entry.until <= now) this.#users.delete(sub);
    for (const [sid, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(sid);
    for (const [sub, sessions] of this.#registry) {
      for (const [sid, record] of sessions) {
        if (record.expiresAt.getTime() > now) continue;
        sessions.delete(sid);
        this.#registered--;
      }
      if (sessions.size === 0) this.#registry.delete(sub);
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #forgetLeastActive(sessions: Map<string, SessionRecord>): void {
    let oldest: SessionRecord | undefined;
    for (const r of sessions.values()) if (oldest === undefined || r.lastActiveAt < oldest.lastActiveAt) oldest = r;
    if (oldest === undefined) return;
    sessions.delete(oldest.sessionId);
    this.#registered--;
  }

  #makeRegistryRoom(): void {
    this.sweep();
    if (this.#registered < this.#maxEntries) return;
    let fullest: Map<string, SessionRecord> | undefined;
    for (const sessions of this.#registry.values())
      if (fullest === undefined || sessions.size > fullest.size) fullest = sessions;
    if (fullest !== undefined) this.#forgetLeastActive(fullest);
  }

  #isRevoked(sessionId: string, now: number): boolean {
    const entry = this.#sessions.get(sessionId);
    return entry !== undefined && entry.expiresAt > now;
  }

  #reserve(): void {
    if (this.size < this.#maxEntries) return;
    this.sweep();
    if (this.size >= this.#maxEntries) {
      throw new Error(
        `${MESSAGE_PREFIX}: MemoryRevocationStore is full (${this.#maxEntries} entries); raise \`maxEntries\` or use a shared store.`,
      );
    }
  }
}
