// The change feed of MongoRevocationStore (`readFeed`, for `maxRevocationDelay`): one small document
// per revocation in a collection of its own, kept until the revocation stops mattering.
import { ObjectId, type Collection, type Filter } from 'mongodb';
import { MESSAGE_PREFIX } from '../../core/config-error.js';
import { writeInTime } from '../feed-write.js';
import type { FeedChange, FeedPage } from '../revocation-store.js';
import { onceUntilFailure } from '../../core/once-until-failure.js';
import { createTtlIndex } from './ttl-index.js';
import { retryDuplicateKey } from './user-state.js';

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

type LogDocument = ChangeDocument | ClaimsDocument | StartDocument;

/** Without a TTL index (FerretDB v1), entries that no longer matter are deleted by a writer, once a minute. */
const CLEANUP_INTERVAL_MS = 60_000;

export function createFeed(collection: Collection<LogDocument>) {
  const changes = collection as unknown as Collection<ChangeDocument>;
  const claims = collection as unknown as Collection<ClaimsDocument>;
  let hasTtl = true;
  let cleanedAt = 0;

  /**
   * The `at` index for the feed, one by session for `holds`, and a TTL on `exp`; a server without TTL indexes
   * gets a cleanup instead.
   */
  const ensureIndexes = onceUntilFailure(async () => {
    await changes.createIndex({ at: 1 }, { name: 'at' });
    await changes.createIndex({ sub: 1, sid: 1 }, { name: 'sub_sid' });
    await claims.createIndex({ cat: 1 }, { name: 'cat', sparse: true });
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

  /** Every revocation that still matters (`since` null), else those written at or after `since`. */
  async function read(since: Date | null, limit: number): Promise<FeedPage> {
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

  return { ensureIndexes, startedAt, holds, append, appendClaims, read };
}

type FeedDocument = Omit<ChangeDocument, '_id' | 'at'> | Omit<ClaimsDocument, '_id' | 'cat'>;

/** A damaged user entry (no `logoutAt`) counts as the widest revocation: its whole `exp`. */
function toChange(doc: FeedDocument): FeedChange {
  if ('cexp' in doc)
    return { kind: 'claims', sub: doc.sub, changedAt: doc.changedAt ?? doc.cexp, relevantUntil: doc.cexp };
  if (doc.sid !== undefined) return { kind: 'session', sessionId: doc.sid, sub: doc.sub, expiresAt: doc.exp };
  return { kind: 'user', sub: doc.sub, lastLogoutAt: doc.logoutAt ?? doc.exp, relevantUntil: doc.exp };
}
