// The revocation data model in memory, shared by MemoryRevocationStore and the bounded-delay copy: each user's
// watermark and claims change and each revoked session, merged by taking the later date, forgotten once they
// stop mattering.
import { sessionIdentity, splitSessionIdentity } from '../core/ids.js';
import type { FeedChange, RevocationState } from './revocation-store.js';

const NOT_REVOKED: RevocationState = Object.freeze({ lastLogoutAt: null, sessionRevoked: false });

export class RevocationMap {
  /** Watermarks by user: the time, and until when it matters. */
  readonly #users = new Map<string, { at: number; until: number }>();
  /** Revoked sessions by `sessionIdentity(sub, sessionId)`: until when (a number each: cheap for the collector). */
  readonly #sessions = new Map<string, number>();
  /** Claims changes by user, as the watermarks: the time, and until when it matters. */
  readonly #claims = new Map<string, { at: number; until: number }>();

  /** Watermarks, revoked sessions and claims changes held. */
  get size(): number {
    return this.#users.size + this.#sessions.size + this.#claims.size;
  }

  /** Counts apart, for tests of the bounds. */
  get sizes(): { users: number; sessions: number; claims: number } {
    return { users: this.#users.size, sessions: this.#sessions.size, claims: this.#claims.size };
  }

  hasUser(sub: string): boolean {
    return this.#users.has(sub);
  }

  hasClaims(sub: string): boolean {
    return this.#claims.has(sub);
  }

  hasSession(sub: string, sessionId: string): boolean {
    return this.#sessions.has(sessionIdentity(sub, sessionId));
  }

  /** Raises a user's watermark and how long it matters (never lowers either). */
  raiseUser(sub: string, at: number, until: number): void {
    raise(this.#users, sub, at, until);
  }

  /** Raises a user's claims change and how long it matters (never lowers either). */
  raiseClaims(sub: string, at: number, until: number): void {
    raise(this.#claims, sub, at, until);
  }

  /** Extends a revoked session's entry (never shortens it). */
  extendSession(sub: string, sessionId: string, until: number): void {
    const key = sessionIdentity(sub, sessionId);
    const entry = this.#sessions.get(key);
    if (entry === undefined || entry < until) this.#sessions.set(key, until);
  }

  /** What a check needs at `now`: entries past their end count as absent. */
  state(sub: string, sessionId: string, now: number): RevocationState {
    const user = this.#users.get(sub);
    const expiry = sessionId === '' ? undefined : this.#sessions.get(sessionIdentity(sub, sessionId));
    const claims = this.#claims.size === 0 ? undefined : this.#claims.get(sub);
    if (user === undefined && expiry === undefined && claims === undefined) return NOT_REVOKED;
    const lastLogoutAt = user === undefined || user.until <= now ? null : new Date(user.at);
    const sessionRevoked = expiry !== undefined && expiry > now;
    if (claims === undefined) return { lastLogoutAt, sessionRevoked };
    return { lastLogoutAt, sessionRevoked, claimsChangedAt: claims.until <= now ? null : new Date(claims.at) };
  }

  /** The user's watermark at `now` (ms), or undefined. */
  watermark(sub: string, now: number): number | undefined {
    const user = this.#users.get(sub);
    return user === undefined || user.until <= now ? undefined : user.at;
  }

  /** Every entry that still matters at `now`, as feed changes, at most `limit` of them. */
  changes(now: number, limit: number): FeedChange[] {
    const changes: FeedChange[] = [];
    for (const [sub, e] of this.#users) {
      if (changes.length >= limit) return changes;
      if (e.until > now)
        changes.push({ kind: 'user', sub, lastLogoutAt: new Date(e.at), relevantUntil: new Date(e.until) });
    }
    for (const [key, expiresAt] of this.#sessions) {
      if (changes.length >= limit) return changes;
      if (expiresAt > now)
        changes.push({ kind: 'session', ...splitSessionIdentity(key), expiresAt: new Date(expiresAt) });
    }
    for (const [sub, e] of this.#claims) {
      if (changes.length >= limit) return changes;
      if (e.until > now)
        changes.push({ kind: 'claims', sub, changedAt: new Date(e.at), relevantUntil: new Date(e.until) });
    }
    return changes;
  }

  /** Drops what no longer matters at `now`. */
  prune(now: number): void {
    for (const [sub, entry] of this.#users) if (entry.until <= now) this.#users.delete(sub);
    for (const [key, expiry] of this.#sessions) if (expiry <= now) this.#sessions.delete(key);
    for (const [sub, entry] of this.#claims) if (entry.until <= now) this.#claims.delete(sub);
  }

  clear(): void {
    this.#users.clear();
    this.#sessions.clear();
    this.#claims.clear();
  }
}

/** Raises a per-user time and how long it matters in `map` (never lowers either). */
function raise(map: Map<string, { at: number; until: number }>, sub: string, at: number, until: number): void {
  const entry = map.get(sub);
  map.set(
    sub,
    entry === undefined ? { at, until } : { at: Math.max(entry.at, at), until: Math.max(entry.until, until) },
  );
}
