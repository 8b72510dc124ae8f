// The change feed of MongoRevocationStore (`readFeed`, for `maxRevocationDelay`): one small document
// per revocation in a collection of its own, kept until the revocation stops mattering.
import { ObjectId, type Collection, type Filter } from 'mongodb';
import { argumentError, MESSAGE_PREFIX } from '../../core/config-error.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../core/limits.js';
import { decodeFeedCursor, encodeFeedCursor, pageSizeOf } from '../feed-cursor.js';
import { writeInTime } from '../feed-write.js';
import type { FeedChange, FeedPage, FeedPageRequest, LifetimeBound } from '../revocation-store.js';
import { onceUntilFailure } from '../../core/once-until-failure.js';
import { createTtlIndex } from './ttl-index.js';
import { retryDuplicateKey } from './user-state.js';
import { isDuplicateKey, withWriteLock, type KeyedCollection } from './write-lock.js';

/** A revocation: `at` (the writer's clock) is what the feed filters on, `exp` when the entry may go. */
interface ChangeDocument {
  _id: ObjectId;
  at: Date;
  exp: Date;
  sub: string;
  /** A user's new watermark. */
  logoutAt?: Date;
  /** A revoked session's id. */
  sid?: string;
}

/**
 * A user's claims change. Its fields are its own (`cat` for `at`, `cexp` for `exp`), so that the feed reads of
 * versions before claims refresh, which read every document with `at` or `exp` as a revocation, never see it.
 */
interface ClaimsDocument {
  _id: ObjectId;
  /** When it was written (the writer's clock): what the feed filters on. */
  cat: Date;
  /** When it may go. */
  cexp: Date;
  sub: string;
  /** The change's time. */
  changedAt: Date;
}

/** The one document that says since when the log holds every revocation (no `at`, no `exp`: never matched). */
interface StartDocument {
  _id: 'started';
  startedAt: Date;
}

/**
 * The session-lifetime bound (`declareLifetime`), one document beside the start marker (no `at`, `exp`, `cat` or
 * `cexp`: no feed read matches it). On a server whose updates are not atomic, its writes hold the lock document
 * `lock:lifetime` of the same collection (`withWriteLock`).
 */
interface LifetimeDocument {
  _id: 'lifetime';
  lifetimeMs: number;
  raisedAt: Date;
  settledAt: Date;
}

type LogDocument = ChangeDocument | ClaimsDocument | StartDocument | LifetimeDocument;

/** Most rounds of reading the bound and changing it only if no other writer did meanwhile. */
const MAX_LIFETIME_ATTEMPTS = 100;

/** A kind of the feed's documents as a paged read takes them: its two date fields. */
const KINDS = [
  { written: 'at', end: 'exp' },
  { written: 'cat', end: 'cexp' },
] as const;

/** Where a paged read is in one kind: not begun (null), its last document taken (date in ms, `_id`), or done (0). */
type KindPosition = null | 0 | [ms: number, id: string];

const CURSOR_PREFIX = 'm1.';

/** Without a TTL index (FerretDB v1), entries that no longer matter are deleted by a writer, once a minute. */
const CLEANUP_INTERVAL_MS = 60_000;

/**
 * The feed in `collection`; `atomicUpdates` says whether the server applies each update to a document atomically
 * (the bound's writes take a lock when it does not).
 */
export function createFeed(collection: Collection<LogDocument>, atomicUpdates: () => Promise<boolean>) {
  const changes = collection as unknown as Collection<ChangeDocument>;
  const claims = collection as unknown as Collection<ClaimsDocument>;
  const bounds = collection as unknown as Collection<LifetimeDocument>;
  let hasTtl = true;
  let cleanedAt = 0;

  /**
   * The `at` index for the feed, one by session for `holds`, and a TTL on `exp`; a server without TTL indexes
   * gets a cleanup instead. Paged reads go by each date field and `_id` (`at_id`, `exp_id`, `cat_id`, `cexp_id`):
   * each page starts where the previous one ended in such an index.
   */
  const ensureIndexes = onceUntilFailure(async () => {
    await changes.createIndex({ at: 1 }, { name: 'at' });
    await changes.createIndex({ sub: 1, sid: 1 }, { name: 'sub_sid' });
    await claims.createIndex({ cat: 1 }, { name: 'cat', sparse: true });
    for (const { written, end } of KINDS) {
      await collection.createIndex({ [written]: 1, _id: 1 }, { name: `${written}_id` });
      await collection.createIndex({ [end]: 1, _id: 1 }, { name: `${end}_id` });
    }
    if ((await createTtlIndex(changes, 'exp', 'exp_ttl')) !== undefined) {
      hasTtl = false;
      await changes.createIndex({ exp: 1 }, { name: 'exp' }); // for the full read and the cleanup
      await claims.createIndex({ cexp: 1 }, { name: 'cexp', sparse: true });
    } else await createTtlIndex(claims, 'cexp', 'cexp_ttl');
  });

  /** When the log began: written once by the first store to get here, read back by every other. */
  const startedAt = onceUntilFailure(async () => {
    const marker = collection as unknown as Collection<StartDocument>;
    await retryDuplicateKey(() =>
      marker.updateOne({ _id: 'started' }, { $setOnInsert: { startedAt: new Date() } }, { upsert: true }),
    );
    const stored = await marker.findOne({ _id: 'started' }, { projection: { startedAt: 1 } });
    if (!(stored?.startedAt instanceof Date)) throw new Error(`${MESSAGE_PREFIX}: the revocation log has no start.`);
    return stored.startedAt;
  });

  /** Adds a revocation, just before it is stored (written again with a new time when late: `writeInTime`). */
  async function append(entry: Omit<ChangeDocument, '_id' | 'at'>): Promise<void> {
    await write(() => writeInTime((at) => changes.insertOne({ _id: new ObjectId(), at: new Date(at), ...entry })));
  }

  /** Adds a claims change, as `append` a revocation. */
  async function appendClaims(entry: Omit<ClaimsDocument, '_id' | 'cat'>): Promise<void> {
    await write(() => writeInTime((at) => claims.insertOne({ _id: new ObjectId(), cat: new Date(at), ...entry })));
  }

  async function write(insert: () => Promise<unknown>): Promise<void> {
    ensureIndexes().catch(() => undefined); // indexes speed up reads and cleanup; never block a logout on them
    await insert();
    if (!hasTtl && Date.now() - cleanedAt >= CLEANUP_INTERVAL_MS) {
      cleanedAt = Date.now();
      const now = new Date();
      await collection.deleteMany({ $or: [{ exp: { $lte: now } }, { cexp: { $lte: now } }] }).catch(() => undefined);
    }
  }

  /** Whether the feed has a session's revocation lasting at least until `exp` (so a copy reading it has it). */
  async function holds({ sub, sid, exp }: { sub: string; sid: string; exp: Date }): Promise<boolean> {
    return (await changes.findOne({ sub, sid, exp: { $gte: exp } }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * Every revocation that still matters (`since` null), else those written at or after `since`. With `page`, one
   * page of it: `readPage`.
   */
  async function read(since: Date | null, limit: number, page?: FeedPageRequest): Promise<FeedPage> {
    if (page !== undefined) return readPage(since, page);
    const now = new Date();
    const filter =
      since === null
        ? { $or: [{ exp: { $gt: now } }, { cexp: { $gt: now } }] }
        : { $or: [{ at: { $gte: since } }, { cat: { $gte: since } }] };
    const [start, docs] = await Promise.all([
      startedAt(),
      collection.find(filter as Filter<LogDocument>, { projection: { _id: 0, at: 0, cat: 0 }, limit }).toArray(),
    ]);
    return { startedAt: start, changes: (docs as FeedDocument[]).map(toChange) };
  }

  /**
   * One page: the revocations, then the claims changes, each in the order of the date read (`exp`/`cexp` for a
   * whole read, `at`/`cat` by time) then `_id`, from where the cursor left each (the date and `_id` of its last
   * document taken: documents removed or added before it move nothing past it). The kinds not done yet (of the
   * first `size`) are read at once, each for its share of `size` and one more document, which says whether more
   * follow.
   */
  async function readPage(since: Date | null, page: FeedPageRequest): Promise<FeedPage> {
    const size = pageSizeOf(page);
    if (since !== null && !(since instanceof Date && Number.isFinite(since.getTime())))
      throw argumentError('since', 'must be a valid Date or null.');
    const sinceMs = since === null ? null : since.getTime();
    const positions: KindPosition[] =
      page.cursor === undefined
        ? [null, null]
        : decodeFeedCursor(CURSOR_PREFIX, page.cursor, sinceMs, areKindPositions);
    const now = Date.now();
    const chosen = [0, 1].filter((kind) => positions[kind] !== 0).slice(0, size);
    const share = Math.floor(size / Math.max(1, chosen.length));
    /** The date a kind is read by: its end for a whole read, its write time by time. */
    const fieldOf = (kind: number) => (since === null ? KINDS[kind]!.end : KINDS[kind]!.written);
    const readKind = (kind: number) => {
      const field = fieldOf(kind);
      const position = positions[kind];
      // The documents after the position, as a rooted `$or` each of whose branches an index (`<field>_id`) serves.
      const from = since === null ? { $gt: new Date(now) } : { $gte: since };
      let filter: Filter<LogDocument> = { [field]: from };
      if (Array.isArray(position) && position[0] >= (sinceMs ?? now + 1)) {
        const at = new Date(position[0]);
        filter = { $or: [{ [field]: { $gt: at } }, { [field]: at, _id: { $gt: new ObjectId(position[1]) } }] };
      }
      return collection.find(filter, { sort: { [field]: 1, _id: 1 }, limit: share + 1 }).toArray();
    };
    const [start, ...pages] = await Promise.all([startedAt(), ...chosen.map(readKind)]);
    const found: FeedChange[] = [];
    chosen.forEach((kind, i) => {
      const docs = pages[i] ?? [];
      const taken = docs.slice(0, share) as (ChangeDocument | ClaimsDocument)[];
      found.push(...taken.map((doc) => toChange(doc)));
      const last = taken[taken.length - 1];
      if (docs.length <= share || last === undefined) positions[kind] = 0;
      else {
        const date: unknown = (last as unknown as Record<string, unknown>)[fieldOf(kind)];
        if (!(date instanceof Date) || !(last._id instanceof ObjectId))
          throw new TypeError(`${MESSAGE_PREFIX}: a document of the revocation feed holds unreadable data.`);
        positions[kind] = [date.getTime(), last._id.toHexString()];
      }
    });
    const more = positions.some((position) => position !== 0);
    return {
      startedAt: start,
      changes: found,
      ...(more ? { cursor: encodeFeedCursor(CURSOR_PREFIX, sinceMs, positions) } : {}),
    };
  }

  /**
   * The session-lifetime bound, as `RevocationStore.declareLifetime` says: read, then changed only if no other
   * writer changed it meanwhile (a conditional update on the values read; a new document is inserted, which only
   * one writer can), again until it holds; on a server whose updates are not atomic, a round that changes it holds
   * the bound's lock. A declaration that changes nothing is one read (instances declare before each write). A
   * bound not stored yet starts at `lifetimeMs` when the collection holds no change document, else at 400 days;
   * `settledAt` then starts at 0 (1970).
   */
  async function declareLifetime(lifetimeMs: number, mode: 'raise' | 'set'): Promise<LifetimeBound> {
    const atomic = await atomicUpdates();
    const wanted = (stored: LifetimeBound) => (mode === 'set' ? lifetimeMs : Math.max(stored.lifetimeMs, lifetimeMs));
    const round = async (): Promise<LifetimeBound | undefined> => {
      const stored = readBound(await bounds.findOne({ _id: 'lifetime' }));
      if (stored === null) {
        const holdsAny = await collection.findOne(
          { $or: [{ at: { $exists: true } }, { cat: { $exists: true } }] },
          { projection: { _id: 1 } },
        );
        const start = holdsAny === null ? lifetimeMs : MAX_REVOCATION_LIFETIME_MS;
        const created = {
          lifetimeMs: mode === 'set' ? lifetimeMs : Math.max(start, lifetimeMs),
          raisedAt: new Date(),
          settledAt: new Date(0),
        };
        try {
          await bounds.insertOne({ _id: 'lifetime', ...created });
          return created;
        } catch (error) {
          if (isDuplicateKey(error)) return undefined;
          throw error;
        }
      }
      const lifetime = wanted(stored);
      if (lifetime === stored.lifetimeMs) return stored;
      // Later than the bound it replaces, whatever the writers' clocks: a settled time never covers a later change.
      const raisedAt = new Date(Math.max(Date.now(), stored.raisedAt.getTime() + 1));
      const { matchedCount } = await bounds.updateOne(
        { _id: 'lifetime', lifetimeMs: stored.lifetimeMs, raisedAt: stored.raisedAt },
        { $set: { lifetimeMs: lifetime, raisedAt } },
      );
      return matchedCount === 1 ? { lifetimeMs: lifetime, raisedAt, settledAt: stored.settledAt } : undefined;
    };
    for (let attempt = 1; attempt <= MAX_LIFETIME_ATTEMPTS; attempt++) {
      if (!atomic) {
        // Without a change to make, no lock: the common case, a declaration before each write.
        const stored = readBound(await bounds.findOne({ _id: 'lifetime' }));
        if (stored !== null && wanted(stored) === stored.lifetimeMs) return stored;
      }
      const bound = atomic
        ? await round()
        : await withWriteLock(collection as unknown as KeyedCollection, 'lifetime', round);
      if (bound !== undefined) return bound;
    }
    throw new Error(
      `${MESSAGE_PREFIX}: the session-lifetime bound was changed by other writers ${MAX_LIFETIME_ATTEMPTS} times in a row.`,
    );
  }

  /**
   * `$max` on the bound's `settledAt` (when updates are not atomic: under the bound's lock, unless it is settled that
   * far already); a missing bound stays so.
   */
  async function settleLifetime(raisedAt: Date): Promise<void> {
    const settle = () => bounds.updateOne({ _id: 'lifetime' }, { $max: { settledAt: raisedAt } });
    if (await atomicUpdates()) {
      await settle();
      return;
    }
    const stored = readBound(await bounds.findOne({ _id: 'lifetime' }));
    if (stored === null || stored.settledAt.getTime() >= raisedAt.getTime()) return;
    await withWriteLock(collection as unknown as KeyedCollection, 'lifetime', settle);
  }

  return { ensureIndexes, startedAt, holds, append, appendClaims, read, declareLifetime, settleLifetime };
}

/** The stored bound, or null when there is none; a document it cannot read is an error. */
function readBound(doc: LifetimeDocument | null): LifetimeBound | null {
  if (doc === null) return null;
  const { lifetimeMs, raisedAt, settledAt } = doc as Partial<LifetimeDocument>;
  const isDate = (value: unknown): value is Date => value instanceof Date && Number.isFinite(value.getTime());
  if (typeof lifetimeMs !== 'number' || !Number.isSafeInteger(lifetimeMs) || !isDate(raisedAt) || !isDate(settledAt))
    throw new TypeError(`${MESSAGE_PREFIX}: the stored session-lifetime bound is unreadable.`);
  return { lifetimeMs, raisedAt, settledAt };
}

/** A cursor's positions: one per kind (revocations, claims changes). */
function areKindPositions(positions: unknown[]): positions is KindPosition[] {
  return positions.length === 2 && positions.every(isPosition);
}

function isPosition(value: unknown): value is KindPosition {
  if (value === null || value === 0) return true;
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'number' &&
    Number.isSafeInteger(value[0]) &&
    typeof value[1] === 'string' &&
    /^[0-9a-f]{24}$/.test(value[1])
  );
}

type FeedDocument = Omit<ChangeDocument, '_id' | 'at'> | Omit<ClaimsDocument, '_id' | 'cat'>;

/** A damaged user entry (no `logoutAt`) counts as the widest revocation: its whole `exp`. */
function toChange(doc: FeedDocument): FeedChange {
  if ('cexp' in doc)
    return { kind: 'claims', sub: doc.sub, changedAt: doc.changedAt ?? doc.cexp, relevantUntil: doc.cexp };
  if (doc.sid !== undefined) return { kind: 'session', sessionId: doc.sid, sub: doc.sub, expiresAt: doc.exp };
  return { kind: 'user', sub: doc.sub, lastLogoutAt: doc.logoutAt ?? doc.exp, relevantUntil: doc.exp };
}
