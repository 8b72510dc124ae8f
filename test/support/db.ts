// The test database: the server in MONGODB_URI (FerretDB started by `npm test`, or a real MongoDB).
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';

export function mongoUri(): string {
  const uri = process.env.MONGODB_URI;
  if (uri === undefined || uri === '')
    throw new Error('MONGODB_URI is not set: run the tests with `npm test`, which starts a FerretDB server.');
  return uri;
}

export interface TestDb {
  client: MongoClient;
  db: Db;
  dbName: string;
  /** Drops the database and closes the client. */
  cleanup(): Promise<void>;
}

/** A connected client and a database of its own (unique name), so test files never share state. */
export async function createTestDb(label: string): Promise<TestDb> {
  const client = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const dbName = `t_${label.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  const db = client.db(dbName);
  return {
    client,
    db,
    dbName,
    async cleanup() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
