// Ids as the server hands them back, and a string identity of an `_id` for matching documents to lookups.
import { BSON, type ObjectId } from 'mongodb';

/**
 * The `_id` as the server will hand it back: BSON wrappers such as Int32, Long or Double come back as plain
 * numbers, so a key built from the query value would never match the document's.
 */
export function asStored(id: unknown): unknown {
  if (typeof id === 'string') return id; // the default mapping, on every request: no round trip needed
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
