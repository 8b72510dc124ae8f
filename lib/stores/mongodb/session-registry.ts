// The device registry in MongoDB: one document per signed-in session, a TTL on its absolute end, found by user.
import type { Collection, Document, Filter } from 'mongodb';
import { createTtlIndex } from './setup.js';
import type { RevocationState, SessionRecord } from '../revocation-store.js';

interface RegistryDocument {
  _id: string;
  sub: string;
  signedInAt: Date;
  lastActiveAt: Date;
  expiresAt: Date;
  userAgent?: string;
}

export interface RegistryParts {
  registry: Collection<RegistryDocument>;
  /** The revoked-sessions collection (`_id` is the session id, `expiresAt` the end of the entry). */
  revoked: Collection<Document>;
  /** The user's revocation state (the watermark), as the store reads it. */
  userState(sub: string): Promise<RevocationState>;
}

/**
 * Registers, touches and lists sessions. Listing reads the user's sessions by the `sub` index, then drops the
 * expired ones, those revoked one by one (one `$in` read of the revoked sessions) and those signed in at or
 * before the user's watermark. Expiry is checked on read: TTL monitors run once a minute, and FerretDB v1 has
 * none at all.
 */
export function createSessionRegistry(parts: RegistryParts) {
  const { registry, revoked } = parts;

  async function createIndexes(): Promise<void> {
    await registry.createIndex({ sub: 1 }, { name: 'sub' });
    // A server without TTL indexes (FerretDB v1): expired records stay on disk, ignored on read.
    await createTtlIndex(registry, 'expiresAt', 'expiresAt_ttl');
  }

  async function register(record: SessionRecord): Promise<void> {
    const { sessionId, ...rest } = record;
    await registry.replaceOne({ _id: sessionId }, { ...rest }, { upsert: true });
  }

  async function touch(sessionId: string, sub: string, lastActiveAt: Date): Promise<void> {
    // Never creates a record: a renewal that raced a logout cannot bring a session back to the list.
    await registry.updateOne({ _id: sessionId, sub }, { $max: { lastActiveAt } });
  }

  async function list(sub: string): Promise<SessionRecord[]> {
    const now = Date.now();
    const [docs, state] = await Promise.all([registry.find({ sub }).toArray(), parts.userState(sub)]);
    const watermark = state.lastLogoutAt?.getTime() ?? -Infinity;
    const live = docs.filter((d) => d.expiresAt.getTime() > now && d.signedInAt.getTime() > watermark);
    if (live.length === 0) return [];
    const ended = await revoked
      .find({ _id: { $in: live.map((d) => d._id) } } as unknown as Filter<Document>, {
        projection: { _id: 1, expiresAt: 1 },
      })
      .toArray();
    const revokedIds = new Set(
      ended.filter((e) => e.expiresAt instanceof Date && e.expiresAt.getTime() > now).map((e) => String(e._id)),
    );
    return live.filter((d) => !revokedIds.has(d._id)).map(({ _id, ...rest }) => ({ sessionId: _id, ...rest }));
  }

  return { createIndexes, register, touch, list };
}

export type { RegistryDocument };
