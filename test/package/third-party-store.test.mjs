// Run with `node --test` in the consumer folder: the published conformance suite against a third-party store.
import { describe, it } from 'node:test';
import { runStoreConformance } from 'express-revocable-jwt/testing';
import { MapRevocationStore } from './third-party-store.mjs';

runStoreConformance(
  { name: 'ThirdPartyStore', createStore: () => new MapRevocationStore(), registry: false },
  { describe, it },
);
