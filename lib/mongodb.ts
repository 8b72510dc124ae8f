// express-revocable-jwt/mongodb: the MongoDB store. Needs the `mongodb` package (an optional peer dependency).
export { MongoRevocationStore } from './stores/mongodb/mongo-store.js';
export type { MongoRevocationStoreOptions } from './stores/mongodb/options.js';
