// Paged feed reads in our MongoDB and Redis stores: the page size asked for, and the cursor (`FeedPage.cursor`): a
// prefix naming the store's format, then the base64url of the JSON of the read's `since` (ms or null) and the
// store's positions.
import { argumentError } from '../core/config-error.js';
import type { FeedPageRequest } from './revocation-store.js';

/** The changes a page may hold (`page.size`), checked: a positive whole number. */
export function pageSizeOf(page: FeedPageRequest): number {
  const size = (page as { size?: unknown } | null)?.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
    throw argumentError('page.size', 'must be a positive whole number.');
  return size;
}

/** The cursor of a page of a read with `since` (ms or null), ending at `positions`. */
export function encodeFeedCursor(prefix: string, sinceMs: number | null, positions: unknown[]): string {
  return prefix + Buffer.from(JSON.stringify({ since: sinceMs, positions }), 'utf8').toString('base64url');
}

/**
 * The positions of a cursor `encodeFeedCursor` made with `prefix` for a read with the same `since`, each accepted by
 * `isValid` (`positions` the whole list); anything else is refused with a ConfigError naming `page.cursor`.
 */
export function decodeFeedCursor<P>(
  prefix: string,
  cursor: unknown,
  sinceMs: number | null,
  isValid: (positions: unknown[]) => positions is P[],
): P[] {
  const refuse = (why: string) =>
    argumentError(
      'page.cursor',
      `is not a cursor of this store's feed (${why}): pass the previous page's \`cursor\` unchanged, with the same \`since\`.`,
    );
  if (typeof cursor !== 'string' || !cursor.startsWith(prefix)) throw refuse('not one it answers');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor.slice(prefix.length), 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { since, positions } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (!Array.isArray(positions) || !isValid(positions)) throw refuse('unreadable');
  if (since !== sinceMs) throw refuse('it continues a read with another `since`');
  return positions;
}
