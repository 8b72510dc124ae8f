// Whether the server applies each update to a document atomically: MongoDB does, FerretDB v1 does not.
import type { Db, Document } from 'mongodb';

/**
 * FerretDB names itself in `buildInfo` (`ferretdbVersion`, `ferretdbFeatures`). Its v1 reads a document,
 * changes it and replaces it with no lock in between, so a concurrent write can put back an older copy; any
 * FerretDB is treated that way. Any other server is taken to be MongoDB, whose updates are atomic per document.
 */
export async function hasAtomicUpdates(db: Db): Promise<boolean> {
  const info: Document = await db.command({ buildInfo: 1 });
  return !Object.keys(info).some((key) => key.toLowerCase().startsWith('ferretdb'));
}
