// Ids as every store keeps them: a session is its id within its user, and an id must survive a round trip.

/**
 * An id no store can keep as given: a lone UTF-16 surrogate is stored by the MongoDB driver as U+FFFD (so a
 * read never finds what was written) and cannot be encoded into a Redis key. The one rule for such ids: refused
 * at sign-in, at verification and by every revocation call.
 */
export function hasLoneSurrogate(id: string): boolean {
  return /\p{Cs}/u.test(id);
}

/** The explanation of that refusal, for error messages. */
export const LONE_SURROGATE_PROBLEM =
  'has a lone UTF-16 surrogate, which no store can keep as given (MongoDB stores it as U+FFFD)';

/**
 * The one key of a device session: its id within its user. Two users may carry the same session id (a `jti`
 * minted by an app, a copied token): a revocation of one never touches the other. Unambiguous for any strings
 * (the user's length comes first).
 */
export function sessionIdentity(sub: string, sessionId: string): string {
  return `${sub.length}:${sub}:${sessionId}`;
}

/** The user and session id of a `sessionIdentity` key. */
export function splitSessionIdentity(key: string): { sub: string; sessionId: string } {
  const colon = key.indexOf(':');
  const length = Number(key.slice(0, colon));
  return { sub: key.slice(colon + 1, colon + 1 + length), sessionId: key.slice(colon + 2 + length) };
}
