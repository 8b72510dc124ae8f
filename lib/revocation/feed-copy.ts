// The bounded-delay mode on a store with a change feed (`readFeed`): each instance keeps a copy of all
// revocation state that still matters, answers every check from it, and brings it up to date at least every
// `maxRevocationDelay` by asking the store only for what changed. No timers: a check that finds the copy half
// the delay old starts the next read; one that finds it older than the delay is not answered from it.
import { createOutageLog, type Logger } from '../config/logger.js';
import { MESSAGE_PREFIX } from '../core/config-error.js';
import { RevocationMap } from '../stores/revocation-map.js';
import type { FeedChange, FeedPage, FeedPageRequest, RevocationState } from '../stores/revocation-store.js';
import { isThenable, withDeadline } from '../core/deadline.js';

/**
 * Most revocations (watermarks, revoked sessions and claims changes) the copy holds by default
 * (`revocationCopyLimit`). With more, the instance stops using the copy and every check reads the store (exact; a
 * warning says so) until a whole read fits again.
 */
export const COPY_MAX_ENTRIES = 2_000_000;
/** A whole read asks a store that pages (`FeedPageRequest`) for this many changes per round trip. */
export const FEED_PAGE_SIZE = 10_000;
/**
 * A whole read asks for up to this many feed entries per entry the copy may hold: the feed has one entry per
 * revocation, and one user logging out everywhere again and again adds entries that merge into one.
 */
const FEED_ENTRIES_PER_COPY_ENTRY = 4;
/**
 * Each read asks again for what was written since the previous one was sent, minus this margin: it covers a
 * write's own latency (a store writes a change again when its write took longer than `CHANGE_LATE_MS`, see `stores/feed-write.ts`) and clocks of
 * app servers that disagree by up to the rest (about 8 s).
 */
export const CHANGE_OVERLAP_MS = 10_000;
/**
 * The copy is read again whole at least this often: after an idle spell or a long outage, and also when busy,
 * so that a change the reads by time missed (clocks further apart than the margin allows) is caught then.
 */
export const FULL_READ_AFTER_MS = 300_000;
/** How often entries that no longer matter are dropped from the copy. */
const PRUNE_INTERVAL_MS = 60_000;

export interface FeedCopySettings {
  /** The store's change feed. */
  read: (since: Date | null, limit: number, page?: FeedPageRequest) => PromiseLike<FeedPage> | FeedPage;
  /** How old (ms) the copy may be at most; > 0. */
  maxDelayMs: number;
  /** Longest a read (each page of a whole read) may take: it then fails (the copy only gets older). */
  readTimeoutMs: number;
  now: () => number;
  logger: Logger;
  /** Most entries; defaults to `COPY_MAX_ENTRIES`. */
  maxEntries?: number;
  /** Changes per page of a whole read; defaults to `FEED_PAGE_SIZE`. */
  pageSize?: number;
  /** TESTS ONLY: bits of the ids' hash kept (see `RevocationMap`), to make collisions happen. */
  hashBits?: number;
}

export type FeedCopy = ReturnType<typeof createFeedCopy>;

/**
 * The copy. Its time (`syncedAt`) is when the latest successful read was sent: every revocation written before
 * then is in it. Reads never overlap in what they may skip: each asks from the previous success's time minus
 * `CHANGE_OVERLAP_MS`, so a failed or slow read only makes the copy older, never incomplete.
 */
export function createFeedCopy(settings: FeedCopySettings) {
  const { maxDelayMs, now, logger } = settings;
  const maxEntries = settings.maxEntries ?? COPY_MAX_ENTRIES;
  const pageSize = settings.pageSize ?? FEED_PAGE_SIZE;
  const copy = new RevocationMap({
    keys: 'hashed',
    ...(settings.hashBits === undefined ? {} : { hashBits: settings.hashBits }),
  });
  /** Sessions signed in before this (plus the margin) may have revocations the feed never saw. */
  let feedStartedAt = Number.POSITIVE_INFINITY;
  let syncedAt: number | undefined;
  /** When the latest whole read that succeeded was sent. */
  let wholeReadAt: number | undefined;
  let readSentAt: number | undefined;
  /** When the read under way last sent a request (each page of a whole read). */
  let progressAt = 0;
  let prunedAt = 0;
  /** Past the bound: checks read the store; a whole read every `FULL_READ_AFTER_MS` tries to fit again. */
  let disabled = false;
  /** How often the copy was dropped: a whole read sent before the latest drop cannot put it back in use. */
  let drops = 0;
  /** The last read of what changed hit the limit: the next one reads everything. */
  let readWhole = false;
  const outage = createOutageLog(logger, {
    down: (reason) => `reading the revocation feed failed (${reason}); checks read the store until it answers.`,
    up: 'the revocation feed answers again; checks are answered from memory.',
  });
  let current: Promise<void> | undefined;
  /** The periodic whole read under way beside the reads by time, if any. */
  let background: Promise<void> | undefined;

  /** The state from the copy, or undefined when it may not answer (too old, disabled, session too old). */
  function get(sub: string, sessionId: string, signedInAtMs: number): RevocationState | undefined {
    const at = now();
    if (disabled) {
      if (readSentAt === undefined || at - readSentAt >= FULL_READ_AFTER_MS || at < readSentAt) void sync();
      return undefined;
    }
    if (syncedAt === undefined || at - syncedAt >= maxDelayMs / 2) void sync();
    if (syncedAt === undefined || at - syncedAt > maxDelayMs || at < syncedAt) return undefined;
    if (!(signedInAtMs > feedStartedAt + CHANGE_OVERLAP_MS)) return undefined;
    return copy.state(sub, sessionId, at);
  }

  /** Brings the copy up to date; one read at a time (a page past `readTimeoutMs` no longer holds the next). */
  function sync(): Promise<void> {
    const at = now();
    if (readSentAt !== undefined && at >= readSentAt) {
      // At most one read per half delay (also while the store fails), and one at a time unless it hangs.
      if (at - readSentAt < maxDelayMs / 2) return current ?? Promise.resolve();
      if (current !== undefined && at - progressAt < settings.readTimeoutMs && at >= progressAt) return current;
    }
    const wholeDue = wholeReadAt === undefined || at - wholeReadAt > FULL_READ_AFTER_MS;
    const inUse = syncedAt !== undefined && at >= syncedAt && at - syncedAt <= maxDelayMs;
    const whole = disabled || syncedAt === undefined || readWhole || at < syncedAt || (wholeDue && !inUse);
    // The periodic whole read of a copy in use goes on beside the reads by time, which keep it in use meanwhile
    // (a whole read of millions of entries takes seconds); after an idle spell, it is the read.
    if (!whole && wholeDue && background === undefined) {
      const sent = readWholeFeed(at, drops, true).then(undefined, (error: unknown) => readFailed(error));
      background = sent.finally(() => {
        background = undefined;
      });
    }
    const since = whole || syncedAt === undefined ? null : new Date(syncedAt - CHANGE_OVERLAP_MS);
    readSentAt = at;
    progressAt = at;
    const dropsBefore = drops;
    const read = Promise.resolve()
      .then(() => (since === null ? readWholeFeed(at, dropsBefore) : readChanges(since, at)))
      .then(undefined, (error: unknown) => readFailed(error))
      .finally(() => {
        if (current === read) current = undefined;
      });
    current = read;
    return read;
  }

  /** One read of the feed, failed once `readTimeoutMs` passed without an answer (a hung read never holds `ready`). */
  function readPage(since: Date | null, limit: number, page?: FeedPageRequest): FeedPage | Promise<FeedPage> {
    progressAt = now();
    const pending = settings.read(since, limit, page);
    if (!isThenable(pending)) return pending;
    const ms = settings.readTimeoutMs;
    return withDeadline(pending, ms, () => new Error(`no answer from the revocation feed within ${ms} ms`));
  }

  /** What changed since `since` (one read: a few seconds' worth), into the copy. */
  async function readChanges(since: Date, sentAt: number): Promise<void> {
    const log = await readPage(since, maxEntries);
    if (disabled) return;
    if (log.changes.length >= maxEntries) {
      readWhole = true; // too many changes at once: read what matters instead
      return;
    }
    if (applyChanges(log.changes, sentAt)) finish(sentAt, false);
  }

  /**
   * Everything that still matters, in pages (from a store that pages; one read from another), each page into the
   * copy as it comes: in use again once the last page is in.
   */
  async function readWholeFeed(sentAt: number, dropsBefore: number, beside = false): Promise<void> {
    const limit = maxEntries * FEED_ENTRIES_PER_COPY_ENTRY;
    let read = 0;
    let cursor: string | undefined;
    let startedAt: number | undefined;
    do {
      const log = await readPage(null, limit, { size: pageSize, ...(cursor === undefined ? {} : { cursor }) });
      startedAt ??= log.startedAt.getTime();
      // (An empty page that says more follow counts as one: a store that pages forever ends here too.)
      read += Math.max(1, log.changes.length);
      // The feed may hold more than this read returned: the copy cannot know it is complete.
      if (read >= limit) return disable(`more than ${limit} feed entries matter`);
      if (!applyChanges(log.changes, sentAt)) return;
      cursor = log.cursor;
    } while (cursor !== undefined);
    if (disabled) {
      // Own revocations dropped after this read was sent may be missing from it: the next whole read decides.
      // (Counted, not timed: a clock stepped back in between must not let it through.)
      if (drops !== dropsBefore) return;
      disabled = false;
      logger.warn(
        `${MESSAGE_PREFIX}: maxRevocationDelay: the revocations fit in memory again; checks are answered from the copy.`,
      );
    }
    feedStartedAt = startedAt ?? Number.POSITIVE_INFINITY;
    if (!beside) readWhole = false;
    wholeReadAt = sentAt;
    // Beside the reads by time, which are more recent: the copy's time stays theirs.
    finish(sentAt, !beside);
  }

  /** Changes into the copy; false (and the copy dropped) once more revocations than the bound matter. */
  function applyChanges(changes: FeedChange[], sentAt: number): boolean {
    let pruned = false;
    for (const change of changes) {
      // Reads by time also return entries that ended since they were written: they would only be pruned.
      if (change.kind === 'user') {
        if (change.relevantUntil.getTime() > sentAt)
          copy.raiseUser(change.sub, change.lastLogoutAt.getTime(), change.relevantUntil.getTime());
      } else if (change.kind === 'claims') {
        if (change.relevantUntil.getTime() > sentAt)
          copy.raiseClaims(change.sub, change.changedAt.getTime(), change.relevantUntil.getTime());
      } else if (change.expiresAt.getTime() > sentAt) {
        copy.extendSession(change.sub, change.sessionId, change.expiresAt.getTime());
      }
      if (copy.size <= maxEntries) continue;
      // Past the bound: stop here (the rest of a long read would only cost time and memory); prune once first.
      if (!withinBound(sentAt, !pruned)) return false;
      pruned = true;
    }
    return withinBound(sentAt);
  }

  /** A read that went through: the copy is as of its sending. */
  function finish(sentAt: number, full: boolean): void {
    if (sentAt - prunedAt >= PRUNE_INTERVAL_MS) prune(sentAt);
    // A whole read is complete as of its sending, also after the clock stepped back.
    if (full || syncedAt === undefined || sentAt > syncedAt) syncedAt = sentAt;
    outage.succeeded();
  }

  function readFailed(error: unknown): void {
    if (!disabled) outage.failed(error);
  }

  function disable(reason: string): void {
    copy.clear();
    drops++;
    if (disabled) return;
    disabled = true;
    logger.warn(
      `${MESSAGE_PREFIX}: maxRevocationDelay: ${reason}; every check of this instance now reads the store (exact) instead of its copy, until a whole read of the feed (every 5 minutes) fits again.`,
    );
  }

  /** False (and the copy dropped) when more revocations than the bound still matter (pruned first if `mayPrune`). */
  function withinBound(at: number, mayPrune = true): boolean {
    if (mayPrune && copy.size > maxEntries) prune(at);
    if (copy.size <= maxEntries) return true;
    disable(`more than ${maxEntries} revocations matter`);
    return false;
  }

  function prune(at: number): void {
    prunedAt = at;
    copy.prune(at);
  }

  /**
   * A revocation through this instance: in the copy at once, within the same bound; also while the copy is
   * disabled, so that it holds them when a whole read lets it answer again.
   */
  function applyUser(sub: string, at: number, until: number): void {
    copy.raiseUser(sub, at, until);
    withinBound(now());
  }

  function applySession(sub: string, sessionId: string, expiresAt: number): void {
    copy.extendSession(sub, sessionId, expiresAt);
    withinBound(now());
  }

  /** A claims change through this instance (`refreshClaims`): in the copy at once, as a revocation is. */
  function applyClaims(sub: string, at: number, until: number): void {
    copy.raiseClaims(sub, at, until);
    withinBound(now());
  }

  return {
    get,
    sync,
    applyUser,
    applySession,
    applyClaims,
    /** Whether the copy is in use (false while it is past its bound). */
    enabled: () => !disabled,
    /** Entries held now: for tests of the bound. */
    size: () => copy.sizes,
  };
}
