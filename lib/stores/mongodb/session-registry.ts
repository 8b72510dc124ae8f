// The device registry in MongoDB: one document per signed-in session, a TTL on its end, found by user.
import type { Collection, Document, Filter } from 'mongodb';
import { createTtlIndex } from './ttl-index.js';
import type { RevocationState, SessionRecord } from '../revocation-store.js';
import { sessionIdentity } from '../../core/ids.js';
import { onceUntilFailure } from '../../core/once-until-failure.js';

/** A SessionRecord with `sid` for `sessionId`, `_id: sessionIdentity(sub, sid)`: two users may share a session id. */
export type RegistryDocument = Omit<SessionRecord, 'sessionId'> & { _id: string; sid: string };

export interface RegistryParts {
  registry: Collection<RegistryDocument>;
  /** The revoked-sessions collection (`_id` is `sessionIdentity(sub, sid)`, `expiresAt` the end of the entry). */
  revoked: Collection<Document>;
  /** The user's revocation state (the watermark), as the store reads it. */
  userState(sub: string): Promise<RevocationState>;
}

/**
 * Registers, touches and lists sessions. Listing reads the user's sessions that have not ended by the
 * `{ sub, expiresAt }` index, then drops those revoked one by one (one `$in` read of the revoked sessions) and
 * those signed in at or before the user's watermark. A revocation deletes the records it ends (`forget`,
 * `forgetSignedInBefore`), so a listing reads only the sessions that may still be live, however many the
 * user ended. Expiry is checked on read too: TTL monitors run once a minute, and FerretDB v1 has none.
 */
export function createSessionRegistry(parts: RegistryParts) {
  const { registry, revoked } = parts;

  /** The registry's indexes; retried on the next sign-in after a failure. */
  const createIndexes = onceUntilFailure(async () => {
    await registry.createIndex({ sub: 1, expiresAt: 1 }, { name: 'sub_expiresAt' });
    // A server without TTL indexes (FerretDB v1): expired records stay on disk, ignored on read.
    await createTtlIndex(registry, 'expiresAt', 'expiresAt_ttl');
  });

  async function register(record: SessionRecord): Promise<void> {
    createIndexes().catch(() => undefined); // indexes speed up listing; never block a sign-in on them
    const { sessionId, ...rest } = record;
    const _id = sessionIdentity(record.sub, sessionId);
    await registry.replaceOne({ _id }, { ...rest, sid: sessionId }, { upsert: true });
  }

  async function touch(sessionId: string, sub: string, lastActiveAt: Date): Promise<void> {
    // Never creates a record: a renewal that raced a logout cannot bring a session back to the list.
    await registry.updateOne({ _id: sessionIdentity(sub, sessionId) }, { $max: { lastActiveAt } });
  }

  /** Deletes the record of a revoked session (it is never listed again). */
  async function forget(sessionId: string, sub: string): Promise<void> {
    await registry.deleteOne({ _id: sessionIdentity(sub, sessionId) });
  }

  /** Deletes the records a logout-everywhere at `at` ended: those signed in at or before it. */
  async function forgetSignedInBefore(sub: string, at: Date): Promise<void> {
    await registry.deleteMany({ sub, signedInAt: { $lte: at } });
  }

  async function list(sub: string): Promise<SessionRecord[]> {
    const now = new Date();
    const [docs, state] = await Promise.all([
      registry.find({ sub, expiresAt: { $gt: now } }).toArray(),
      parts.userState(sub),
    ]);
    const watermark = state.lastLogoutAt?.getTime() ?? -Infinity;
    const live = docs.filter((d) => d.expiresAt.getTime() > now.getTime() && d.signedInAt.getTime() > watermark);
    if (live.length === 0) return [];
    const ended = await revoked
      .find({ _id: { $in: live.map((d) => d._id) } } as unknown as Filter<Document>, {
        projection: { _id: 1, expiresAt: 1 },
      })
      .toArray();
    const revokedIds = new Set(
      ended.filter((e) => e.expiresAt instanceof Date && e.expiresAt > now).map((e) => String(e._id)),
    );
    return live.filter((d) => !revokedIds.has(d._id)).map(({ _id, sid, ...rest }) => ({ sessionId: sid, ...rest }));
  }

  return { createIndexes, register, touch, forget, forgetSignedInBefore, list };
}
