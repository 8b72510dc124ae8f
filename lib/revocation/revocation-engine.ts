// The revocation engine shared by createSessionAuth and createRevocation: checks a token against the store's
// state and records revocations, with deadlines, fail-closed outages and the same-millisecond rule.
import type { Logger } from '../config/logger.js';
import { argumentError, ConfigError } from '../errors/config-error.js';
import { isSessionAuthError, SessionAuthError } from '../errors/session-auth-error.js';
import type { RevocationStore, SessionRecord } from '../stores/revocation-store.js';
import { createGuardedStore, nextTurn, type GuardedStore } from './guarded-store.js';
import { createRevocationCache, type RevocationCache } from './revocation-cache.js';
import { createRevocationMirror, type RevocationMirror } from './revocation-mirror.js';
import {
  ACCEPTED_PAST_END_MS,
  firstIssueTimeAfter,
  hasLoneSurrogate,
  LONE_SURROGATE_PROBLEM,
  MAX_REVOCATION_LIFETIME_MS,
  notLongAfterIssue,
  revocationReason,
  sessionEntryExpiry,
  waitForClock,
} from './rules.js';

/** What the rules need to know of a verified token. */
export interface TokenRef {
  sub: string;
  /** The device session (`sid`, else `jti`); empty when the token has none (then only its user can revoke it). */
  sessionId: string;
  /** Issue time in ms: `iat_ms`, or `iat` × 1000 for whole-second tokens. */
  issuedAtMs: number;
  /** When the session signed in (kept across renewals); the watermark compares this. Defaults to `issuedAtMs`. */
  signedInAtMs?: number;
}

/** The verdict on a token: accepted (possibly unchecked, when failing open during an outage) or why not. */
export type CheckResult = { ok: true; checked: boolean } | { ok: false; error: SessionAuthError };

export interface EngineSettings {
  store: RevocationStore;
  storeTimeoutMs: number;
  failOpen: boolean;
  logger: Logger;
  /** How precise the issue times of the tokens being checked are; decides how long `revokeUser` waits. */
  issuedAtPrecision: 'milliseconds' | 'seconds';
  /** The clock. */
  now?: () => number;
  /**
   * Bounded-delay mode: checks may be answered from state read at most this many ms ago (revocations through
   * this engine are seen at once). 0 or undefined: every check reads the store (exact).
   */
  maxRevocationDelayMs?: number;
}

export type RevocationEngine = ReturnType<typeof createRevocationEngine>;

/** Longest `revokeUser` waits for the clock beyond what the precision needs (a clock stepped backwards). */
const CLOCK_SLACK_MS = 50;
/** The verdict on an accepted, checked token: the same object every time (nothing to build per request). */
const ACCEPTED: CheckResult = Object.freeze({ ok: true, checked: true });
const ACCEPTED_UNCHECKED: CheckResult = Object.freeze({ ok: true, checked: false });

export function createRevocationEngine(settings: EngineSettings) {
  const guarded = createGuardedStore(settings.store, settings.storeTimeoutMs, settings.logger);
  const now = settings.now ?? Date.now;
  const maxWaitMs = (settings.issuedAtPrecision === 'seconds' ? 1000 : 1) + CLOCK_SLACK_MS;

  const delayMs = settings.maxRevocationDelayMs ?? 0;
  // Bounded delay: a copy of all revocations when the store has a change feed, else (and when the copy
  // outgrows its bound, or for sessions older than the feed) a per-user cache.
  const cache = delayMs > 0 ? createRevocationCache({ maxDelayMs: delayMs, now }) : undefined;
  const mirror = delayMs > 0 ? mirrorOf(settings, delayMs, now) : undefined;

  const verdict = createVerdict(guarded, cache, mirror, settings.failOpen);

  /** Undefined when the token is still accepted; else why not (revoked, or the store cannot tell: 503). */
  async function check(ref: TokenRef): Promise<SessionAuthError | undefined> {
    const result = await verdict(ref);
    return result.ok ? undefined : result.error;
  }

  /** Logs user `sub` out everywhere; resolves to the watermark once a token issued now would be later. */
  async function revokeUser(sub: string): Promise<Date> {
    assertId('revokeUser(sub)', sub, 'the user id `sub`');
    const at = now();
    const relevantUntil = at + MAX_REVOCATION_LIFETIME_MS;
    try {
      await guarded.revokeUser(sub, new Date(at), new Date(relevantUntil));
    } finally {
      // Even after a failure (the write may have gone through): this instance refuses from its copy, or reads
      // the store next time.
      mirror?.applyUser(sub, at, relevantUntil);
      cache?.forgetUser(sub);
    }
    await waitForClock(firstIssueTimeAfter(at, settings.issuedAtPrecision), maxWaitMs, now);
    return new Date(at);
  }

  /**
   * Logs out one device session. `until` is the latest its tokens may expire (the session's absolute end, or a
   * token's `exp`); the entry outlives it by the largest clock tolerance. Unknown: the longest lifetime.
   */
  async function revokeSession(sessionId: string, sub: string, until?: Date): Promise<void> {
    sessionArguments(sessionId, sub, until);
    // No token any instance accepts outlives the longest lifetime: a later end (a far-future `exp` or
    // `expiresAt`) is held that long, so the entry's end is always a valid date.
    const latest = now() + MAX_REVOCATION_LIFETIME_MS;
    const entry = sessionEntryExpiry(Math.min(until?.getTime() ?? latest, latest));
    try {
      await guarded.revokeSession(sessionId, sub, entry);
    } finally {
      mirror?.applySession(sub, sessionId, entry.getTime());
      cache?.forgetSession(sub, sessionId);
    }
  }

  /**
   * Records a new session in the device registry. `record.expiresAt` is the session's end; the store keeps the
   * record until no instance accepts its tokens any more (`sessionEntryExpiry`), so that a session still
   * accepted within a `clockTolerance` past its end is still listed, and can still be ended.
   */
  function registerSession(record: SessionRecord): Promise<void> {
    return guarded.registerSession({ ...record, expiresAt: sessionEntryExpiry(record.expiresAt.getTime()) });
  }

  /**
   * The user's sessions that may still be accepted, most recently active first, each with its end (`expiresAt`;
   * the registry keeps a record `ACCEPTED_PAST_END_MS` longer).
   */
  async function listSessions(sub: string): Promise<SessionRecord[]> {
    assertId('listSessions(sub)', sub, 'the user id `sub`');
    const sessions = await guarded.listSessions(sub);
    return sessions
      .map((s) => ({ ...s, expiresAt: new Date(s.expiresAt.getTime() - ACCEPTED_PAST_END_MS) }))
      .sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime());
  }

  /**
   * Ends the user's sessions other than those in `keepIds`, except the `keep` most recently active of them: all
   * of them for "log out other devices", the oldest beyond the cap for `maxSessions`.
   */
  async function revokeSessionsExcept(sub: string, keepIds: ReadonlySet<string>, keep = 0): Promise<void> {
    const others = (await listSessions(sub)).filter((s) => !keepIds.has(s.sessionId));
    await Promise.all(others.slice(keep).map((s) => revokeSession(s.sessionId, sub, s.expiresAt)));
  }

  /** Whether the store holds a revocation of this session of this user (read from the store itself). */
  async function isSessionRevoked(sub: string, sessionId: string): Promise<boolean> {
    return (await guarded.getState(sub, sessionId, 0)).sessionRevoked;
  }

  return {
    verdict,
    check,
    revokeUser,
    revokeSession,
    revokeSessionsExcept,
    isSessionRevoked,
    listSessions,
    hasRegistry: guarded.hasRegistry,
    registerSession,
    touchSession: guarded.touchSession,
    now,
    /** With a copy of all revocations: its first read (never rejects; a failure is logged and retried). */
    warmUp: async (): Promise<void> => mirror?.sync(),
    /** The copy, when there is one: for tests. */
    mirror,
  };
}

/** The copy of all revocations, for a store with a change feed. */
function mirrorOf(settings: EngineSettings, delayMs: number, now: () => number): RevocationMirror | undefined {
  const { store } = settings;
  if (store.readRevocations === undefined) return undefined;
  return createRevocationMirror({
    read: (since, limit) => (store.readRevocations as NonNullable<typeof store.readRevocations>)(since, limit),
    maxDelayMs: delayMs,
    readTimeoutMs: settings.storeTimeoutMs,
    now,
    logger: settings.logger,
  });
}

/** The check of one token, from the copy or the cache when they may answer, else from the store. */
function createVerdict(
  guarded: GuardedStore,
  cache: RevocationCache | undefined,
  mirror: RevocationMirror | undefined,
  failOpen: boolean,
): (ref: TokenRef) => Promise<CheckResult> {
  /** Whether the token is still accepted; a store that cannot tell fails closed (503) unless `failOpen`. */
  return async function verdict(ref: TokenRef): Promise<CheckResult> {
    const signedInAtMs = notLongAfterIssue(ref.signedInAtMs ?? ref.issuedAtMs, ref.issuedAtMs);
    try {
      let state = mirror?.get(ref.sub, ref.sessionId, signedInAtMs) ?? cache?.get(ref.sub, ref.sessionId);
      if (state !== undefined) {
        state = await nextTurn(state);
      } else {
        const read = cache?.begin();
        state = await guarded.getState(ref.sub, ref.sessionId, signedInAtMs);
        if (read !== undefined) cache?.store(ref.sub, ref.sessionId, state, read);
      }
      const reason = revocationReason(state, signedInAtMs);
      return reason === undefined ? ACCEPTED : { ok: false, error: new SessionAuthError(reason) };
    } catch (cause) {
      // A store that cannot take this token's ids (the app's `userId` mapping throws for its `sub`) is no
      // outage: the token is refused, even with failOpen.
      if (cause instanceof ConfigError) return { ok: false, error: new SessionAuthError('invalid_claims', { cause }) };
      // Fail open only when asked to; the outage itself was already logged by the guarded store.
      if (failOpen) return ACCEPTED_UNCHECKED;
      const error = isSessionAuthError(cause) ? cause : new SessionAuthError('revocation_unavailable', { cause });
      return { ok: false, error };
    }
  };
}

/** The arguments of a session's revocation, checked: a ConfigError names the one that cannot be used. */
export function sessionArguments(
  sessionId: unknown,
  sub: unknown,
  until?: unknown,
): { sessionId: string; sub: string; until: Date | undefined } {
  assertId('revokeSession(sessionId)', sessionId, 'the session id (`req.auth.sessionId`)');
  assertId('revokeSession(sessionId, { sub })', sub, 'the user id `sub` of the session');
  if (until !== undefined && !(until instanceof Date && Number.isFinite(until.getTime()))) {
    throw argumentError(
      'expiresAt',
      'of revokeSession must be a valid Date (`req.auth.sessionExpiresAt`) or left out.',
    );
  }
  return { sessionId, sub, until };
}

/** Ids from a request body can be numbers or objects (`{ $gt: '' }`): refuse them instead of revoking nothing. */
function assertId(call: string, value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    const got = value === '' ? 'an empty string' : value === null ? 'null' : typeof value;
    throw argumentError(call, `needs ${what} as a non-empty string (got ${got}); convert ids with String(id).`);
  }
  if (hasLoneSurrogate(value)) throw argumentError(call, `got ${what} that ${LONE_SURROGATE_PROBLEM}.`);
}
