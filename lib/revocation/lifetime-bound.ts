// How long a logout everywhere (or a claims change) must matter: as long as the longest session any instance
// sharing the store signs, which the instances declare to the store (`declareLifetime`), not 400 days.
//
// Why entries written before a raise need nothing: every instance declares its lifetime before it signs, so a
// session signed before the bound rose came from an instance within the old bound, and a watermark only touches
// sessions signed before it. What can expire early is an entry written with the old bound after the raise (a
// writer that declared just before it), or written after an explicit lowering by an instance that signs longer
// sessions (it raises the bound again within a minute). Those are re-written: once the bound settles, an
// instance reads the feed since the last settled time and re-writes every watermark and claims change that ends
// too soon (`settle`), then records the settled time in the store, so that an instance that stops half-way is
// followed by another.
import type { FeedChange, LifetimeBound, RevocationStore } from '../stores/revocation-store.js';
import { isThenable, withDeadline } from '../core/deadline.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../core/limits.js';
import { CHANGE_OVERLAP_MS, FEED_PAGE_SIZE } from './feed-copy.js';

/** Each instance declares its lifetime again this often (after a lowering, a longer one raises the bound back). */
export const LIFETIME_REFRESH_MS = 60_000;

export interface LifetimeBoundSettings {
  store: RevocationStore;
  /** This instance's longest session, with the slack: what it declares (400 days for `createRevocation`). */
  declaredMs: number;
  storeTimeoutMs: number;
  now: () => number;
  /** Writes a watermark or claims change again with a later end (the store keeps the later). */
  rewrite: (change: Extract<FeedChange, { kind: 'user' | 'claims' }>, relevantUntil: Date) => Promise<unknown>;
  /** TESTS ONLY: how often to declare again; defaults to `LIFETIME_REFRESH_MS`. */
  refreshMs?: number;
}

export type LifetimeBoundTracker = ReturnType<typeof createLifetimeBound>;

/**
 * The bound as this instance knows it. A store without `declareLifetime` keeps today's 400 days. Every
 * declaration raises the store's bound to at least this instance's own; a write asks again first, so that it
 * uses the bound of the moment (failing that: 400 days).
 */
export function createLifetimeBound(settings: LifetimeBoundSettings) {
  const { store, declaredMs, storeTimeoutMs, now } = settings;
  const declare = store.declareLifetime?.bind(store);
  const settleStore = store.settleLifetime?.bind(store);
  const readFeed = store.readFeed?.bind(store);
  /** A write that declared just before a raise may land up to this long after it: then the bound has settled. */
  const settleAfterMs = CHANGE_OVERLAP_MS + 2 * storeTimeoutMs;
  let known: LifetimeBound | undefined;
  let declared: Promise<LifetimeBound> | undefined;
  let settling: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function call<T>(run: () => T | PromiseLike<T>): Promise<T> {
    return Promise.resolve().then(() => {
      const pending = run();
      if (!isThenable(pending)) return pending;
      return withDeadline(pending, storeTimeoutMs, () => new Error(`no answer within ${storeTimeoutMs} ms`));
    });
  }

  /** Declares this instance's lifetime (`mode: 'set'`: sets the bound to it); settles a raise that is due. */
  function declareNow(mode: 'raise' | 'set' = 'raise'): Promise<LifetimeBound> {
    if (declare === undefined) return Promise.reject(new Error('the store keeps no lifetime bound'));
    return call(() => declare(declaredMs, mode)).then((bound) => {
      known = bound;
      if (bound.raisedAt > bound.settledAt) void settleWhenDue(bound);
      return bound;
    });
  }

  /** After a raise not yet settled: once it is due, re-writes what ends too soon (one settling at a time). */
  function settleWhenDue(bound: LifetimeBound): Promise<void> {
    if (settling !== undefined || now() < bound.raisedAt.getTime() + settleAfterMs)
      return settling ?? Promise.resolve();
    settling = settle(bound)
      .catch(() => undefined) // the next declaration tries again
      .finally(() => {
        settling = undefined;
      });
    return settling;
  }

  async function settle(bound: LifetimeBound): Promise<void> {
    if (readFeed === undefined || settleStore === undefined) return;
    const sentAt = now();
    const since = new Date(Math.max(0, bound.settledAt.getTime() - CHANGE_OVERLAP_MS));
    let cursor: string | undefined;
    do {
      const page = await call(() =>
        readFeed(since, Number.MAX_SAFE_INTEGER, { size: FEED_PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) }),
      );
      for (const change of page.changes) {
        if (change.kind === 'session') continue;
        const at = change.kind === 'user' ? change.lastLogoutAt : change.changedAt;
        const end = at.getTime() + bound.lifetimeMs;
        if (change.relevantUntil.getTime() < end && change.relevantUntil.getTime() > sentAt)
          await settings.rewrite(change, new Date(end));
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    // Every entry written before this read was sent is in it.
    await call(() => settleStore(new Date(sentAt)));
  }

  return {
    /** Whether the store keeps a bound (else every watermark lasts 400 days). */
    enabled: declare !== undefined,
    /**
     * Declares this instance's lifetime if it has not yet (before it signs anything); then every
     * `LIFETIME_REFRESH_MS` again, on a timer that never holds the process. Rejects when the store cannot be
     * reached: a sign-in then fails (503) rather than sign a session the bound does not cover.
     */
    async ready(): Promise<void> {
      if (declare === undefined) return;
      if (timer === undefined) {
        timer = setInterval(() => void declareNow().catch(() => undefined), settings.refreshMs ?? LIFETIME_REFRESH_MS);
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
      if (declare === undefined) return MAX_REVOCATION_LIFETIME_MS;
      try {
        return Math.max((await declareNow()).lifetimeMs, declaredMs);
      } catch {
        return MAX_REVOCATION_LIFETIME_MS;
      }
    },
    /** Sets the store's bound to this instance's lifetime (the explicit lowering); resolves to it. */
    lower: (): Promise<LifetimeBound> => declareNow('set'),
    /** The bound last read, for tests and diagnostics. */
    known: (): LifetimeBound | undefined => known,
    /** Settles a due raise now (tests). */
    settle: (): Promise<void> => (known === undefined ? Promise.resolve() : settleWhenDue(known)),
    stop(): void {
      clearInterval(timer);
    },
  };
}
