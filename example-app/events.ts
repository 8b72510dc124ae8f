// The account page's "Recent security activity": the library's session events (`onEvent`), kept per user and
// bounded. On MongoDB a capped collection keeps the latest events of everyone (or, where capped collections are
// refused, a TTL index the latest days); in memory, the latest `MEMORY_EVENTS_PER_USER` of each user. Only the
// fields below are kept: never a token or a cookie.
import type { SessionEvent, SessionEventType } from 'express-revocable-jwt';
import type { Collection, Db } from 'mongodb';

/** One stored event of a user. */
export interface StoredEvent {
  sub: string;
  type: SessionEventType;
  at: Date;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  reason?: string;
}

/** Where the events live: a capped MongoDB collection, or a bounded list per user in this process's memory. */
export interface EventLog {
  /** Keeps `event` if it concerns a user and is worth showing (see `worthKeeping`). */
  record(event: SessionEvent): Promise<void>;
  /** The latest `limit` events of user `sub`, newest first. */
  recent(sub: string, limit: number): Promise<StoredEvent[]>;
}

/** The events the account page shows at most. */
export const SHOWN_EVENTS = 20;
/** Per user, in memory. */
export const MEMORY_EVENTS_PER_USER = 50;
/** The capped collection: at most this many events (all users together) and this many bytes. */
export const CAPPED_EVENTS = 10_000;
export const CAPPED_BYTES = 8 * 1024 * 1024;
/** How long a collection that is not capped keeps events (a TTL index). */
export const FALLBACK_TTL_DAYS = 30;
const COLLECTION = 'security_events';

/**
 * Renewals happen every `renewAfter` on every active device: they would push everything else out of the list.
 * Events without a user (the store going down and coming back) go to the server log instead.
 */
function worthKeeping(event: SessionEvent): event is SessionEvent & { sub: string } {
  return event.sub !== undefined && event.type !== 'renewal';
}

/** Copies the known fields only, so nothing else an event might carry is ever stored or shown. */
function toStored(event: SessionEvent & { sub: string }): StoredEvent {
  const { sub, type, at, sessionId, ip, userAgent, reason } = event;
  return {
    sub,
    type,
    at,
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
    ...(reason === undefined ? {} : { reason }),
  };
}

export function memoryEventLog(perUser = MEMORY_EVENTS_PER_USER): EventLog {
  const byUser = new Map<string, StoredEvent[]>();
  return {
    record(event) {
      if (!worthKeeping(event)) return Promise.resolve();
      const list = byUser.get(event.sub) ?? [];
      list.push(toStored(event));
      if (list.length > perUser) list.splice(0, list.length - perUser);
      byUser.set(event.sub, list);
      return Promise.resolve();
    },
    recent(sub, limit) {
      // Among events of the same millisecond, the one recorded last comes first.
      const list = byUser.get(sub) ?? [];
      const newestFirst = list
        .map((e, i) => ({ e, i }))
        .sort((a, b) => b.e.at.getTime() - a.e.at.getTime() || b.i - a.i);
      return Promise.resolve(newestFirst.slice(0, limit).map(({ e }) => ({ ...e })));
    },
  };
}

/**
 * The `security_events` collection, created capped (once; an existing collection is used as it is) with an
 * index on user and time. FerretDB trims a capped collection in the background, so it may briefly hold more.
 * Where a capped collection cannot be created (some hosted tiers refuse them), a TTL index keeps
 * `FALLBACK_TTL_DAYS` days of events instead.
 */
export async function mongoEventLog(db: Db, log: (line: string) => void): Promise<EventLog> {
  const events: Collection<StoredEvent> = db.collection<StoredEvent>(COLLECTION);
  let capped = true;
  try {
    await db.createCollection(COLLECTION, { capped: true, size: CAPPED_BYTES, max: CAPPED_EVENTS });
  } catch (error) {
    // 48 NamespaceExists: a previous start created it.
    if ((error as { code?: unknown }).code === 48) capped = await events.isCapped().catch(() => true);
    else {
      capped = false;
      log(`Could not create the capped "${COLLECTION}" collection (${String(error)}).`);
    }
  }
  if (!capped) {
    log(`The "${COLLECTION}" collection is not capped: a TTL index keeps its events for ${FALLBACK_TTL_DAYS} days.`);
    await events
      .createIndex({ at: 1 }, { expireAfterSeconds: FALLBACK_TTL_DAYS * 86400 })
      .catch((error: unknown) => log(`Could not create the TTL index of "${COLLECTION}" (${String(error)}).`));
  }
  await events.createIndex({ sub: 1, at: -1, _id: -1 });
  return {
    async record(event) {
      if (!worthKeeping(event)) return;
      await events.insertOne(toStored(event));
    },
    async recent(sub, limit) {
      const found = await events
        .find({ sub }, { projection: { _id: 0 } })
        .sort({ at: -1, _id: -1 })
        .limit(limit)
        .toArray();
      return found.map((e) => toStored(e));
    },
  };
}
