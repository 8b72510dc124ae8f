/**
 * The MongoDB store. Needs the `mongodb` package (an optional peer dependency).
 *
 * @module express-revocable-jwt/mongodb
 */
export { MongoRevocationStore } from './stores/mongodb/mongo-store.js';
export type { MongoRevocationStoreOptions } from './stores/mongodb/options.js';
