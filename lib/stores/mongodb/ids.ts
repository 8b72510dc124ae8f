// Ids as the server hands them back, and a string identity of an `_id` for matching documents to lookups.
import { BSON, ObjectId } from 'mongodb';

/**
 * The `_id` as the server will hand it back: BSON wrappers such as Int32, Long or Double come back as plain
 * numbers, so a key built from the query value would never match the document's.
 */
export function asStored(id: unknown): unknown {
  // The default mapping and the usual ObjectId one, on every request: they come back as they are.
  if (typeof id === 'string' || id instanceof ObjectId) return id;
  return BSON.deserialize(BSON.serialize({ _id: id }))._id as unknown;
}

/** Identity of an `_id` value for matching documents to lookups; tells `"42"` from `42` and from an ObjectId. */
export function idKey(id: unknown): string {
  if (typeof id === 'string') return `s:${id}`;
  if (typeof id === 'object' && id !== null && typeof (id as { toHexString?: unknown }).toHexString === 'function')
    return `o:${(id as ObjectId).toHexString()}`;
  return `${typeof id}:${BSON.EJSON.stringify(id)}`;
}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
