// Run with `node --test` in the consumer folder: the suite must fail a store whose revokeSession forgets.
import { describe, it } from 'node:test';
import { runStoreConformance } from 'express-revocable-jwt/testing';
import { ForgetfulRevocationStore } from './third-party-store.mjs';

runStoreConformance(
  { name: 'ForgetfulStore', createStore: () => new ForgetfulRevocationStore(), registry: false },
  { describe, it },
);
