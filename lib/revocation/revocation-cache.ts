// The opt-in bounded-delay mode (`maxRevocationDelay`): each instance may answer from revocation state it read at
// most that long ago. Revocations made through this instance are seen by it at once; other instances' within
// the bound. Bounded memory, no timers: an entry's age is checked against the engine's clock on every read.
import { z } from 'zod';
import { parseDurationMs } from '../config/duration.js';
import type { RevocationState } from '../stores/revocation-store.js';
import { sessionIdentity } from './rules.js';

/** Longest `maxRevocationDelay` accepted: a minute. */
export const MAX_REVOCATION_DELAY_MS = 60_000;
/**
 * Most users kept, and as many device sessions (each entry is a few dozen bytes plus its id). Past it the
 * entries read longest ago are dropped first; a dropped entry only costs one store read.
 */
export const REVOCATION_CACHE_ENTRIES = 10_000;

/** Milliseconds for `0`, `100`, `'100ms'`, `'1s'`; undefined when not a delay within 0 and a minute. */
export function parseRevocationDelayMs(input: number | string): number | undefined {
  const ms = parseDurationMs(input, 1);
  return ms !== undefined && ms <= MAX_REVOCATION_DELAY_MS ? ms : undefined;
}

/** The option as the schemas take it: milliseconds (number) or a duration string; resolves to milliseconds. */
export const revocationDelaySchema = z
  .union([z.number(), z.string()])
  .default(0)
  .transform((value, ctx) => {
    const ms = parseRevocationDelayMs(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a whole number of milliseconds or a duration such as "100ms" or "1s" (see "Durations" in the README), from 0 to "60s"',
      });
      return z.NEVER;
    }
    return ms;
  });

interface Entry<V> {
  value: V;
  /** When the read that produced it was sent (engine clock): the state is at least this recent. */
  readAt: number;
}

/** A Map used as a bounded queue: an entry written again moves to the end, the oldest written goes first. */
class BoundedMap<V> {
  readonly #map = new Map<string, Entry<V>>();
  constructor(readonly max: number) {}

  get(key: string): Entry<V> | undefined {
    return this.#map.get(key);
  }

  set(key: string, entry: Entry<V>, isStale: (e: Entry<V>) => boolean): void {
    this.#map.delete(key);
    this.#map.set(key, entry);
    // Drop what can no longer be served from the front (at most two per write, so a write stays O(1)), then
    // whatever exceeds the bound.
    for (let i = 0; i < 2; i++) {
      const first = this.#map.entries().next();
      if (first.done === true || !isStale(first.value[1])) break;
      this.#map.delete(first.value[0]);
    }
    while (this.#map.size > this.max) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      this.#map.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}

export interface RevocationCacheSettings {
  /** How old (ms) served state may be at most; > 0. */
  maxDelayMs: number;
  /** The clock (the engine's). */
  now: () => number;
  /** Most entries per kind (users, sessions). Defaults to `REVOCATION_CACHE_ENTRIES`. */
  maxEntries?: number;
}

/** A read in progress: what `store` needs to keep its answer (or drop it, when a revocation came in between). */
export interface PendingRead {
  readAt: number;
  generation: number;
}

export type RevocationCache = ReturnType<typeof createRevocationCache>;

/**
 * Keyed by the user (the logout-everywhere watermark) and by the device session (its revoked flag): one store
 * answer (`getState(sub, sessionId, ...)`) fills both. A check is answered from memory only when both entries
 * are at most `maxDelayMs` old by `now()`; anything older is never served, so during an outage the check goes
 * to the store and fails closed as in exact mode.
 *
 * Own revocations: `forgetUser` / `forgetSession` drop the entries and move the generation on, so that an
 * answer to a read sent before the revocation finished is used once (by the request that asked) but never kept.
 */
export function createRevocationCache(settings: RevocationCacheSettings) {
  const { maxDelayMs, now } = settings;
  const max = settings.maxEntries ?? REVOCATION_CACHE_ENTRIES;
  const users = new BoundedMap<number | null>(max);
  const sessions = new BoundedMap<boolean>(max);
  let generation = 0;

  const fresh = (entry: Entry<unknown> | undefined, at: number): boolean =>
    entry !== undefined && at - entry.readAt <= maxDelayMs && at >= entry.readAt;

  /** The state read at most `maxDelayMs` ago, or undefined (read the store). */
  function get(sub: string, sessionId: string): RevocationState | undefined {
    const at = now();
    const user = users.get(sub);
    if (!fresh(user, at)) return undefined;
    const session = sessions.get(sessionIdentity(sub, sessionId));
    if (!fresh(session, at)) return undefined;
    const lastLogoutAt = (user as Entry<number | null>).value;
    return {
      lastLogoutAt: lastLogoutAt === null ? null : new Date(lastLogoutAt),
      sessionRevoked: (session as Entry<boolean>).value,
    };
  }

  /** Call just before sending a read to the store; hand the result to `store`. */
  function begin(): PendingRead {
    return { readAt: now(), generation };
  }

  /** Keeps a store answer, unless a revocation through this instance finished after the read was sent. */
  function store(sub: string, sessionId: string, state: RevocationState, read: PendingRead): void {
    if (read.generation !== generation) return;
    const at = now();
    const isStale = (e: Entry<unknown>) => !fresh(e, at);
    users.set(
      sub,
      { value: state.lastLogoutAt === null ? null : state.lastLogoutAt.getTime(), readAt: read.readAt },
      isStale,
    );
    sessions.set(sessionIdentity(sub, sessionId), { value: state.sessionRevoked, readAt: read.readAt }, isStale);
  }

  function forgetUser(sub: string): void {
    generation++;
    users.delete(sub);
  }

  function forgetSession(sub: string, sessionId: string): void {
    generation++;
    sessions.delete(sessionIdentity(sub, sessionId));
  }

  return {
    get,
    begin,
    store,
    forgetUser,
    forgetSession,
    /** Entries held now (users, sessions): for tests of the bound. */
    size: () => ({ users: users.size, sessions: sessions.size }),
  };
}
