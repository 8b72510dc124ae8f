// The revocation engine shared by createSessionAuth and createRevocation: checks a token against the store's
// state and records revocations, with deadlines, fail-closed outages and the same-millisecond rule.
import type { Logger } from '../config/logger.js';
import type { EmitEvent } from '../config/session-events.js';
import { isSessionAuthError, SessionAuthError } from '../core/session-auth-error.js';
import type { RevocationStore, SessionRecord } from '../stores/revocation-store.js';
import { argumentError, ConfigError, MESSAGE_PREFIX } from '../core/config-error.js';
import { createBoundedStore, nextTurn, type BoundedStore } from './bounded-store.js';
import { createFeedCopy, type FeedCopy } from './feed-copy.js';
import { createLifetimeBound } from './lifetime-bound.js';
import {
  claimsOutdated,
  firstIssueTimeAfter,
  notLongAfterIssue,
  revocationReason,
  sessionEntryExpiry,
  waitForClock,
} from './rules.js';
import { ACCEPTED_PAST_END_MS, MAX_REVOCATION_LIFETIME_MS } from '../core/limits.js';
import { hasLoneSurrogate, LONE_SURROGATE_PROBLEM } from '../core/ids.js';

/** What the rules need to know of a verified token. */
export interface TokenRef {
  sub: string;
  /** The device session (`sid`, else `jti`); empty when the token has none (then only its user can revoke it). */
  sessionId: string;
  /** Issue time in ms: `iat_ms`, or `iat` × 1000 for whole-second tokens. */
  issuedAtMs: number;
  /** When the session signed in (kept across renewals); the watermark compares this. Defaults to `issuedAtMs`. */
  signedInAtMs?: number;
  /** When the token's claims were loaded (`cla`); the user's claims change compares this. Defaults to `issuedAtMs`. */
  claimsAtMs?: number;
}

/**
 * The verdict on a token: accepted (possibly unchecked, when failing open during an outage) or why not. An
 * accepted token whose claims are older than the user's claims change (`refreshClaims`) carries that change's
 * time: its claims must be loaded again before they are used.
 */
export type CheckResult =
  { ok: true; checked: boolean; claimsChangedAtMs?: number } | { ok: false; error: SessionAuthError };

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
   * Bounded-delay mode, on a store with a change feed: checks may be answered from a copy of every revocation
   * read at most this many ms ago (revocations through this engine are in it at once). 0 or undefined: every
   * check reads the store (exact).
   */
  maxRevocationDelayMs?: number;
  /** Most revocations the bounded-delay copy holds (`revocationCopyLimit`); past it, checks read the store. */
  copyLimit?: number;
  /** Session events (`onEvent`): the store's outages and recoveries. */
  emit?: EmitEvent;
  /**
   * The longest session this instance signs, with the slack (`sessionLifetimeBound`), declared to a store that
   * keeps a lifetime bound; 400 days when left out (`createRevocation`: the tokens are not ours).
   */
  declaredLifetimeMs?: number;
  /** TESTS ONLY: how often the lifetime is declared again. */
  lifetimeRefreshMs?: number;
  /** TESTS ONLY: how long after a change of the lifetime bound is seen it is settled. */
  lifetimeSettleMs?: number;
}

export type RevocationEngine = ReturnType<typeof createRevocationEngine>;

/** Longest `revokeUser` waits for the clock beyond what the precision needs (a clock stepped backwards). */
const CLOCK_SLACK_MS = 50;
/** The verdict on an accepted, checked token: the same object every time (nothing to build per request). */
const ACCEPTED: CheckResult = Object.freeze({ ok: true, checked: true });
const ACCEPTED_UNCHECKED: CheckResult = Object.freeze({ ok: true, checked: false });

export function createRevocationEngine(settings: EngineSettings) {
  const { store, storeTimeoutMs, logger, failOpen, emit } = settings;
  const bounded = createBoundedStore(store, storeTimeoutMs, logger, failOpen, emit);
  const now = settings.now ?? Date.now;
  const maxWaitMs = (settings.issuedAtPrecision === 'seconds' ? 1000 : 1) + CLOCK_SLACK_MS;

  // Bounded delay: a copy of every revocation, from the store's change feed. Checks it cannot answer (sessions
  // signed in before the feed began, a copy past its bound or older than the delay) read the store: exact.
  const copy = copyOf(settings, now);
  const verdict = createVerdict(bounded, copy, settings.failOpen);
  const lifetime = createLifetimeBound({
    store: bounded,
    declaredMs: settings.declaredLifetimeMs ?? MAX_REVOCATION_LIFETIME_MS,
    storeTimeoutMs,
    now,
    rewrite: (change, until) =>
      change.kind === 'user'
        ? write(bounded.revokeUser, copy?.applyUser, change.sub, change.lastLogoutAt, until)
        : write(bounded.markClaimsChanged, copy?.applyClaims, change.sub, change.changedAt, until),
    ...(settings.lifetimeRefreshMs === undefined ? {} : { refreshMs: settings.lifetimeRefreshMs }),
    ...(settings.lifetimeSettleMs === undefined ? {} : { settleAfterMs: settings.lifetimeSettleMs }),
  });

  /** A per-user mark's write to the store, and to the copy even after a failure (the write may have gone through). */
  async function write(
    toStore: (sub: string, at: Date, until: Date) => Promise<void>,
    apply: ((sub: string, at: number, until: number) => void) | undefined,
    sub: string,
    at: Date,
    until: Date,
  ): Promise<void> {
    try {
      await toStore(sub, at, until);
    } finally {
      apply?.(sub, at.getTime(), until.getTime());
    }
  }

  /**
   * Undefined when the token is still accepted; else why not (revoked, claims older than the user's claims
   * change: `claims_stale`, or the store cannot tell: 503).
   */
  async function check(ref: TokenRef): Promise<SessionAuthError | undefined> {
    const result = await verdict(ref);
    if (!result.ok) return result.error;
    return result.claimsChangedAtMs === undefined ? undefined : new SessionAuthError('claims_stale');
  }

  /**
   * A per-user mark, written as a watermark is (`write`, and the copy's `apply`, even after a failed write),
   * that resolves to its time once a token issued now would be later.
   */
  async function mark(
    call: string,
    sub: string,
    toStore: (sub: string, at: Date, until: Date) => Promise<void>,
    apply: ((sub: string, at: number, until: number) => void) | undefined,
  ): Promise<Date> {
    assertId(call, sub, 'the user id `sub`');
    // It matters as long as the longest session any instance sharing the store signs (asked first).
    const lifetimeMs = await lifetime.forWrite();
    const at = now();
    await write(toStore, apply, sub, new Date(at), new Date(at + lifetimeMs));
    await waitForClock(firstIssueTimeAfter(at, settings.issuedAtPrecision), maxWaitMs, now);
    return new Date(at);
  }

  /** Logs user `sub` out everywhere; resolves to the watermark once a token issued now would be later. */
  function revokeUser(sub: string): Promise<Date> {
    return mark('revokeUser(sub)', sub, bounded.revokeUser, copy?.applyUser);
  }

  /**
   * Records that user `sub`'s claims changed now: every token of the user signed before it has its claims loaded
   * again on its next request (or is refused with `claims_stale` where it cannot be re-issued).
   */
  async function refreshClaims(sub: string): Promise<Date> {
    if (!bounded.hasClaimsRefresh) throw claimsRefreshUnsupported('refreshClaims');
    return mark('refreshClaims(sub)', sub, bounded.markClaimsChanged, copy?.applyClaims);
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
      await bounded.revokeSession(sessionId, sub, entry);
    } finally {
      copy?.applySession(sub, sessionId, entry.getTime());
    }
  }

  /**
   * Records a new session in the device registry. `record.expiresAt` is the session's end; the store keeps the
   * record until no instance accepts its tokens any more (`sessionEntryExpiry`), so that a session still
   * accepted within a `clockTolerance` past its end is still listed, and can still be ended.
   */
  function registerSession(record: SessionRecord): Promise<void> {
    return bounded.registerSession({ ...record, expiresAt: sessionEntryExpiry(record.expiresAt.getTime()) });
  }

  /**
   * The user's sessions that may still be accepted, most recently active first, each with its end (`expiresAt`;
   * the registry keeps a record `ACCEPTED_PAST_END_MS` longer).
   */
  async function listSessions(sub: string): Promise<SessionRecord[]> {
    assertId('listSessions(sub)', sub, 'the user id `sub`');
    const sessions = await bounded.listSessions(sub);
    return sessions
      .map((s) => ({ ...s, expiresAt: new Date(s.expiresAt.getTime() - ACCEPTED_PAST_END_MS) }))
      .sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime());
  }

  /**
   * Ends the user's sessions other than those in `keepIds`, except the `keep` most recently active of them: all
   * of them for "log out other devices", the oldest beyond the cap for `maxSessions`. Resolves to those ended.
   */
  async function revokeSessionsExcept(sub: string, keepIds: ReadonlySet<string>, keep = 0): Promise<SessionRecord[]> {
    const ended = (await listSessions(sub)).filter((s) => !keepIds.has(s.sessionId)).slice(keep);
    await Promise.all(ended.map((s) => revokeSession(s.sessionId, sub, s.expiresAt)));
    return ended;
  }

  /**
   * `auth.revokeSession`: a session is ended for its own user only (another user may carry the same id), so with
   * a device registry the id must be one of the user's sessions: a wrong `sub` is refused instead of revoking
   * nothing, and an id already revoked for that user is fine. The entry holds until the session can no longer
   * be renewed on any instance: its end from the registry (a given `until` only lengthens it), else the longest
   * lifetime any instance may allow. Resolves to false when the session had ended already (with a registry).
   */
  async function revokeListedSession(sessionId: unknown, sub: unknown, until?: unknown): Promise<boolean> {
    const args = sessionArguments(sessionId, sub, until);
    if (!bounded.hasRegistry) {
      await revokeSession(args.sessionId, args.sub);
      return true;
    }
    const record = (await listSessions(args.sub)).find((s) => s.sessionId === args.sessionId);
    if (record === undefined) {
      if ((await bounded.getState(args.sub, args.sessionId, 0)).sessionRevoked) return false; // ended already
      throw argumentError(
        'revokeSession(sessionId, { sub })',
        'names no session of that user that can still be used: pass a `sessionId` from `auth.listSessions(sub)` with the same `sub` (it may also have ended already). Nothing was revoked.',
      );
    }
    const end = Math.max(record.expiresAt.getTime(), args.until?.getTime() ?? 0);
    await revokeSession(args.sessionId, args.sub, new Date(end));
    return true;
  }

  return {
    verdict,
    check,
    revokeUser,
    refreshClaims,
    revokeSession,
    revokeSessionsExcept,
    revokeListedSession,
    listSessions,
    hasRegistry: bounded.hasRegistry,
    registerSession,
    touchSession: bounded.touchSession,
    now,
    /**
     * This instance's lifetime declared (a failure is retried by the first sign-in) and, with a copy of all
     * revocations, its first read (a failure is logged and retried). Never rejects.
     */
    warmUp: async (): Promise<void> => {
      await lifetime.ready().catch(() => undefined);
      await copy?.sync();
    },
    /** The lifetime bound: declared before a sign-in (`ready`), lowered by `lower`. */
    lifetime,
    /** The copy, when there is one: for tests. */
    copy,
  };
}

/**
 * The copy of every revocation, with `maxRevocationDelay` on a store with a change feed; undefined otherwise (a
 * store without a feed is checked exactly, with a warning at startup).
 */
function copyOf(settings: EngineSettings, now: () => number): FeedCopy | undefined {
  const { store, logger } = settings;
  const delayMs = settings.maxRevocationDelayMs ?? 0;
  if (delayMs === 0) return undefined;
  const readFeed = store.readFeed?.bind(store);
  if (readFeed === undefined) {
    logger.warn(
      `${MESSAGE_PREFIX}: \`maxRevocationDelay\` needs a store with a change feed (\`readFeed\`); this store has none, so every check reads the store (exact).`,
    );
    return undefined;
  }
  return createFeedCopy({
    read: readFeed,
    maxDelayMs: delayMs,
    readTimeoutMs: settings.storeTimeoutMs,
    now,
    logger,
    ...(settings.copyLimit === undefined ? {} : { maxEntries: settings.copyLimit }),
  });
}

/** The check of one token, from the copy when it may answer, else from the store. */
function createVerdict(
  bounded: BoundedStore,
  copy: FeedCopy | undefined,
  failOpen: boolean,
): (ref: TokenRef) => Promise<CheckResult> {
  /** Whether the token is still accepted; a store that cannot tell fails closed (503) unless `failOpen`. */
  return async function verdict(ref: TokenRef): Promise<CheckResult> {
    const signedInAtMs = notLongAfterIssue(ref.signedInAtMs ?? ref.issuedAtMs, ref.issuedAtMs);
    try {
      const known = copy?.get(ref.sub, ref.sessionId, signedInAtMs);
      const state =
        known === undefined ? await bounded.getState(ref.sub, ref.sessionId, signedInAtMs) : await nextTurn(known);
      const reason = revocationReason(state, signedInAtMs);
      if (reason !== undefined) return { ok: false, error: new SessionAuthError(reason) };
      const claimsAtMs = notLongAfterIssue(ref.claimsAtMs ?? ref.issuedAtMs, ref.issuedAtMs);
      if (!claimsOutdated(state, claimsAtMs)) return ACCEPTED;
      return { ok: true, checked: true, claimsChangedAtMs: (state.claimsChangedAt as Date).getTime() };
    } catch (cause) {
      // A store that cannot take this token's ids (the app's `userId` mapping throws for its `sub`) is no
      // outage: the token is refused, even with failOpen.
      if (cause instanceof ConfigError) return { ok: false, error: new SessionAuthError('invalid_claims', { cause }) };
      // Fail open only when asked to; the outage itself was already logged by the bounded store.
      if (failOpen) return ACCEPTED_UNCHECKED;
      const error = isSessionAuthError(cause) ? cause : new SessionAuthError('revocation_unavailable', { cause });
      return { ok: false, error };
    }
  };
}

/** The ConfigError of a claims refresh (`call`) on a store that cannot record a user's claims change. */
export function claimsRefreshUnsupported(call: string): ConfigError {
  return new ConfigError(
    'store',
    `cannot record a user's claims change (\`markClaimsChanged\`), which \`${call}\` needs. MemoryRevocationStore, MongoRevocationStore and RedisRevocationStore can; a custom store needs \`markClaimsChanged\` and \`claimsChangedAt\` in \`getState\` (see "Writing a store").`,
    { code: 'unsupported' },
  );
}

/** The arguments of a session's revocation, checked: a ConfigError names the one that cannot be used. */
function sessionArguments(
  sessionId: unknown,
  sub: unknown,
  until?: unknown,
): { sessionId: string; sub: string; until: Date | undefined } {
  assertId('revokeSession(sessionId)', sessionId, 'the session id (`auth.sessionOf(req).sessionId`)');
  assertId('revokeSession(sessionId, { sub })', sub, 'the user id `sub` of the session');
  if (until !== undefined && !(until instanceof Date && Number.isFinite(until.getTime()))) {
    throw argumentError('expiresAt', 'of revokeSession must be a valid Date or left out.');
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
