// Type-checked as a CommonJS consumer: resolves the "require" types of the root and /testing entries.
/* eslint-disable @typescript-eslint/no-require-imports -- the CommonJS form is what this file tests */
import revocable = require('express-revocable-jwt');
import testing = require('express-revocable-jwt/testing');
import nodeTest = require('node:test');
/* eslint-enable @typescript-eslint/no-require-imports */

const auth = revocable.createSessionAuth({ secret: 'x'.repeat(32), store: new revocable.MemoryRevocationStore() });
const sub = (req: Parameters<typeof auth.getAuth>[0]): revocable.SessionInfo['sub'] | undefined =>
  auth.getAuth(req)?.sub;

const subject: testing.ConformanceSubject<revocable.MemoryRevocationStore> = {
  name: 'MemoryRevocationStore',
  createStore: () => new revocable.MemoryRevocationStore({ maxEntries: 1000 }),
};
const functions: testing.TestFunctions = { describe: nodeTest.describe, it: nodeTest.it };
const registerSuite = (): void => testing.runStoreConformance(subject, functions);
// @ts-expect-error -- createStore must return a RevocationStore
const registerBadSuite = (): void => testing.runStoreConformance({ name: 'x', createStore: () => 42 }, functions);

export = { sub, registerSuite, registerBadSuite };
