// Type-checked as a CommonJS consumer of express-revocable-jwt/mongodb: resolves the "require" types.
/* eslint-disable @typescript-eslint/no-require-imports -- the CommonJS form is what this file tests */
import revocable = require('express-revocable-jwt');
import mongo = require('express-revocable-jwt/mongodb');
import mongodb = require('mongodb');
/* eslint-enable @typescript-eslint/no-require-imports */

const options: mongo.MongoRevocationStoreOptions = {
  db: new mongodb.MongoClient('mongodb://localhost:27017').db('app'),
};
const store: revocable.RevocationStore = new mongo.MongoRevocationStore(options);
// @ts-expect-error -- the options are typed: there is no `database` option
const badOptions: mongo.MongoRevocationStoreOptions = { database: 'app' };

export = { store, badOptions };
