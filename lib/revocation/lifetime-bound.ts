// How long a logout everywhere (or a claims change) must matter: as long as the longest session any instance
// sharing the store signs, which the instances declare to the store (`declareLifetime`), not 400 days.
//
// Why entries written before a raise need nothing: every instance declares its lifetime before it signs, so a
// session signed before the bound rose came from an instance within the old bound, and a watermark only touches
// sessions signed before it. What can expire early is an entry written with the old bound after the raise (a
// writer that declared just before it), or written after an explicit lowering by an instance that signs longer
// sessions (it raises the bound again within a minute). So after every change of the bound, once the writes that
// may have used the old one have landed (`settleAfterMs` after this instance first saw the change, by its own
// clock), an instance reads the whole feed and re-writes every watermark and claims change that ends too soon,
// then records the change as settled (`settleLifetime(raisedAt)`; the store's `raisedAt` only ever grows, so a
// settled change never covers a later one, whatever the clocks). The instance whose lifetime is the bound settles
// first; the others step in a little later if it did not (it may have stopped).
import type { FeedChange, LifetimeBound } from '../stores/revocation-store.js';
import type { BoundedStore } from './bounded-store.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../core/limits.js';
import { CHANGE_OVERLAP_MS, FEED_PAGE_SIZE } from './feed-copy.js';

/** How many re-writes a settle sends at once. */
const SETTLE_WRITES_AT_ONCE = 16;

/** Each instance declares its lifetime again this often (after a lowering, a longer one raises the bound back). */
export const LIFETIME_REFRESH_MS = 60_000;

export interface LifetimeBoundSettings {
  /** The store, each call bounded by the instance's `storeTimeoutMs` (a failure is an outage, logged once). */
  store: BoundedStore;
  /** This instance's longest session, with the slack: what it declares (400 days for `createRevocation`). */
  declaredMs: number;
  storeTimeoutMs: number;
  now: () => number;
  /** Writes a watermark or claims change again with a later end (the store keeps the later). */
  rewrite: (change: Extract<FeedChange, { kind: 'user' | 'claims' }>, relevantUntil: Date) => Promise<unknown>;
  /** TESTS ONLY: how often to declare again; defaults to `LIFETIME_REFRESH_MS`. */
  refreshMs?: number;
  /** TESTS ONLY: how long after a change is first seen it is settled; defaults to 10 s + 2 × `storeTimeoutMs`. */
  settleAfterMs?: number;
}

export type LifetimeBoundTracker = ReturnType<typeof createLifetimeBound>;

/**
 * The bound as this instance knows it. A store without `declareLifetime` keeps today's 400 days. Every
 * declaration raises the store's bound to at least this instance's own; a write asks again first, so that it
 * uses the bound of the moment (failing that: 400 days).
 */
export function createLifetimeBound(settings: LifetimeBoundSettings) {
  const { store, declaredMs, storeTimeoutMs, now } = settings;
  /** A write that declared just before a change may land up to this long after it: then the change has settled. */
  const settleAfterMs = settings.settleAfterMs ?? CHANGE_OVERLAP_MS + 2 * storeTimeoutMs;
  const refreshMs = settings.refreshMs ?? LIFETIME_REFRESH_MS;
  let declared: Promise<LifetimeBound> | undefined;
  /** The unsettled change last seen (its `raisedAt`), and when this instance first saw it (by its own clock). */
  let seen: { raisedAtMs: number; at: number; jitter: number } | undefined;
  let settling: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let due: NodeJS.Timeout | undefined;

  /** Declares this instance's lifetime (`mode: 'set'`: sets the bound to it); settles a change that is due. */
  function declareNow(mode: 'raise' | 'set' = 'raise'): Promise<LifetimeBound> {
    return store.declareLifetime(declaredMs, mode).then((bound) => {
      if (bound.raisedAt > bound.settledAt) void settleWhenDue(bound);
      return bound;
    });
  }

  /** After a change not yet settled: once it is due, re-writes what ends too soon (one settling at a time). */
  function settleWhenDue(bound: LifetimeBound): Promise<void> {
    const raisedAtMs = bound.raisedAt.getTime();
    // An instance with the longest sessions settles, at a random moment of a second `settleAfterMs` (several such
    // instances mostly find it settled by another); any other only when none has, two declarations later.
    if (seen?.raisedAtMs !== raisedAtMs) seen = { raisedAtMs, at: now(), jitter: Math.random() * settleAfterMs };
    const wait = settleAfterMs + seen.jitter + (bound.lifetimeMs === declaredMs ? 0 : 2 * refreshMs);
    const left = seen.at + wait - now();
    if (settling !== undefined) return settling;
    if (left > 0) {
      // Asked again once due (also when no declaration comes sooner); never holds the process.
      if (due === undefined) {
        due = setTimeout(() => {
          due = undefined;
          void declareNow().catch(() => undefined);
        }, left);
        due.unref();
      }
      return Promise.resolve();
    }
    settling = settle(bound)
      .catch(() => undefined) // the next declaration tries again
      .finally(() => {
        settling = undefined;
      });
    return settling;
  }

  /** Every watermark and claims change in the feed that ends before `bound` says, written again to last that long. */
  async function settle(bound: LifetimeBound): Promise<void> {
    const sentAt = now();
    let cursor: string | undefined;
    do {
      const request = { size: FEED_PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) };
      const page = await store.readFeed(null, Number.MAX_SAFE_INTEGER, request);
      const short: [Extract<FeedChange, { kind: 'user' | 'claims' }>, Date][] = [];
      for (const change of page.changes) {
        if (change.kind === 'session') continue;
        const at = change.kind === 'user' ? change.lastLogoutAt : change.changedAt;
        const end = at.getTime() + bound.lifetimeMs;
        const until = change.relevantUntil.getTime();
        if (until < end && until > sentAt) short.push([change, new Date(end)]);
      }
      // A few writes at a time: a raise after which 10^6 watermarks end too soon takes minutes, not hours.
      for (let i = 0; i < short.length; i += SETTLE_WRITES_AT_ONCE)
        await Promise.all(
          short.slice(i, i + SETTLE_WRITES_AT_ONCE).map(([change, end]) => settings.rewrite(change, end)),
        );
      cursor = page.cursor;
    } while (cursor !== undefined);
    await store.settleLifetime(bound.raisedAt);
  }

  return {
    /** Whether the store keeps a bound (else every watermark lasts 400 days). */
    enabled: store.hasLifetime,
    /**
     * Declares this instance's lifetime if it has not yet (before it signs anything); then every
     * `LIFETIME_REFRESH_MS` again, on a timer that never holds the process. Rejects when the store cannot be
     * reached: a sign-in then fails (503) rather than sign a session the bound does not cover.
     */
    async ready(): Promise<void> {
      if (!store.hasLifetime) return;
      if (timer === undefined) {
        timer = setInterval(() => void declareNow().catch(() => undefined), refreshMs);
        timer.unref();
      }
      declared ??= declareNow().catch((error: unknown) => {
        declared = undefined; // asked again by the next sign-in
        throw error;
      });
      await declared;
    },
    /**
     * How long a watermark or claims change written now must matter (ms): the bound of the moment, asked of the
     * store first; 400 days when it cannot say.
     */
    async forWrite(): Promise<number> {
      if (!store.hasLifetime) return MAX_REVOCATION_LIFETIME_MS;
      try {
        return Math.max((await declareNow()).lifetimeMs, declaredMs);
      } catch {
        return MAX_REVOCATION_LIFETIME_MS;
      }
    },
    /** Sets the store's bound to this instance's lifetime (the explicit lowering); resolves to it. */
    lower: (): Promise<LifetimeBound> => declareNow('set'),
    stop(): void {
      clearInterval(timer);
      clearTimeout(due);
    },
  };
}
