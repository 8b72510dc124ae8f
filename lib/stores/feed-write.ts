// How a store writes an entry of its change feed (`readFeed`) so that readers, who ask again for what
// was written since their last read minus a margin, cannot have moved past it.
import { MESSAGE_PREFIX } from '../core/config-error.js';

/** A store writes a change again, with a new time, when writing it took longer than this. */
export const CHANGE_LATE_MS = 2_000;
/** Most times a change is written again because its write was late. */
const MAX_LATE_WRITES = 3;

/**
 * Runs `write(atMs)` with the time taken just before it; when the write took longer than `CHANGE_LATE_MS`, a
 * reader may have moved past that time already, so it is made again with a new time. Resolves to the last
 * write's result.
 */
export async function writeInTime<T>(write: (atMs: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const at = Date.now();
    const result = await write(at);
    if (Date.now() - at <= CHANGE_LATE_MS) return result;
    if (attempt === MAX_LATE_WRITES)
      throw new Error(`${MESSAGE_PREFIX}: writing to the revocation feed took over ${CHANGE_LATE_MS} ms each time.`);
  }
}
