// Answers a batch of revocation checks: one `find` by `_id` of the users' state, and only for tokens issued
// before their user's last device logout, one `find` of those revoked sessions.
import type { Collection, Document, Filter } from 'mongodb';
import type { RevocationState } from '../revocation-store.js';
import { idKey, toError } from './ids.js';
import { readDate, type UserStateLocation } from './user-state.js';
import { sessionIdentity } from '../../core/ids.js';

export interface Lookup {
  sub: string;
  sessionId: string;
  signedInAtMs: number;
}

export interface ReadContext {
  location: UserStateLocation;
  sessions: Collection<Document>;
  /** Maps a token's `sub` to the user's `_id` (may throw). */
  userId: (sub: string) => unknown;
  field: string;
  deviceField: string;
  /** The user's claims change (`markClaimsChanged`). */
  claimsField: string;
}

const SESSION_PROJECTION = { _id: 1, expiresAt: 1 };

/** A problem with one user's data (unreadable date, unmappable id, unmatched document) fails that lookup only. */
export async function readStates(ctx: ReadContext, lookups: Lookup[]): Promise<(RevocationState | Error)[]> {
  const users = await readUsers(ctx, lookups);
  const states = lookups.map((lookup, i) => {
    const user = users[i];
    if (user instanceof Error) return user;
    try {
      const lastDeviceLogoutAt = readDate(user, ctx.deviceField);
      // A session's logout always comes after its token's issue: an older device logout cannot concern it. A
      // lookup without a session (`''`: the user's state alone) has no entry to read.
      const mayBeRevoked =
        lookup.sessionId !== '' && lastDeviceLogoutAt !== null && lookup.signedInAtMs < lastDeviceLogoutAt.getTime();
      return {
        lookup,
        lastLogoutAt: readDate(user, ctx.field),
        claimsChangedAt: readDate(user, ctx.claimsField),
        mayBeRevoked,
      };
    } catch (error) {
      return toError(error);
    }
  });
  const suspects = new Set<string>();
  for (const s of states) {
    if (!(s instanceof Error) && s.mayBeRevoked) suspects.add(sessionIdentity(s.lookup.sub, s.lookup.sessionId));
  }
  // Expiry is checked here, not in the filter: reads must ignore expired entries anyway (MongoDB's TTL
  // monitor runs about once a minute), and FerretDB uses its index only for a lone `_id` condition.
  const sessions =
    suspects.size === 0
      ? new Map<string, Document>()
      : await findByIds(ctx.sessions, [...suspects], SESSION_PROJECTION);
  const now = Date.now();
  return states.map((state) => {
    if (state instanceof Error) return state;
    const { sub, sessionId } = state.lookup;
    const expiresAt: unknown = state.mayBeRevoked
      ? sessions.get(idKey(sessionIdentity(sub, sessionId)))?.expiresAt
      : undefined;
    const sessionRevoked = expiresAt instanceof Date && expiresAt.getTime() > now;
    if (state.claimsChangedAt === null) return { lastLogoutAt: state.lastLogoutAt, sessionRevoked };
    return { lastLogoutAt: state.lastLogoutAt, sessionRevoked, claimsChangedAt: state.claimsChangedAt };
  });
}

/** Each lookup's state document (null when there is none), or the error that fails it. */
async function readUsers(ctx: ReadContext, lookups: Lookup[]): Promise<(Document | null | Error)[]> {
  const projection = { _id: 1, [ctx.field]: 1, [ctx.deviceField]: 1, [ctx.claimsField]: 1 };
  const entries = lookups.map((lookup) => {
    try {
      const id = ctx.location.documentId(ctx.userId(lookup.sub));
      return { id, key: idKey(id) };
    } catch (error) {
      return toError(error);
    }
  });
  const ids = new Map<string, unknown>();
  for (const e of entries) if (!(e instanceof Error)) ids.set(e.key, e.id);
  const collection = ctx.location.collection;
  const found =
    ids.size === 0 ? new Map<string, Document>() : await findByIds(collection, [...ids.values()], projection);
  // A document that matches no lookup (a case-insensitive collation, an _id type we do not know) means that
  // "not found" cannot be trusted in this batch: the users not found are read again one by one, where the
  // document returned, if any, is the one the server matched to that very id.
  const reread = new Map<string, Document | null | Error>();
  if ([...found.keys()].some((key) => !ids.has(key))) {
    const missing = [...ids].filter(([key]) => !found.has(key));
    const docs = await Promise.all(
      missing.map(([, id]) => collection.findOne({ _id: id } as Filter<Document>, { projection }).catch(toError)),
    );
    missing.forEach(([key], i) => reread.set(key, docs[i] ?? null));
  }
  return entries.map((e) => (e instanceof Error ? e : (found.get(e.key) ?? reread.get(e.key) ?? null)));
}

/** Documents by `_id` (the projection must keep `_id`), keyed by `idKey(_id)`: a plain equality for one id (the form FerretDB indexes), `$in` for more. */
async function findByIds(collection: Collection<Document>, ids: unknown[], projection: Document) {
  const docs =
    ids.length === 1
      ? [await collection.findOne({ _id: ids[0] } as Filter<Document>, { projection })].filter((d) => d !== null)
      : await collection.find({ _id: { $in: ids } } as Filter<Document>, { projection }).toArray();
  return new Map(docs.map((doc) => [idKey(doc._id), doc]));
}
