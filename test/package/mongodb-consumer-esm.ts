// Type-checked as an ES module consumer of express-revocable-jwt/mongodb: resolves the "import" types.
import { MongoClient } from 'mongodb';
import { createSessionAuth, type RevocationStore } from 'express-revocable-jwt';
import { MongoRevocationStore, type MongoRevocationStoreOptions } from 'express-revocable-jwt/mongodb';

const options: MongoRevocationStoreOptions = { client: new MongoClient('mongodb://localhost:27017'), dbName: 'app' };
const store: RevocationStore = new MongoRevocationStore(options);
export const auth = createSessionAuth({ secret: 'x'.repeat(32), store });
// @ts-expect-error -- the options are typed: dbName is a string
export const badOptions: MongoRevocationStoreOptions = { uri: 'mongodb://localhost:27017', dbName: 42 };
