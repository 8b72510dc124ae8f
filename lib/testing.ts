// express-revocable-jwt/testing: the conformance suite every RevocationStore must pass, for store authors.
export {
  CONFORMANCE_TESTS,
  FEED_CONFORMANCE_TESTS,
  REGISTRY_CONFORMANCE_TESTS,
  runStoreConformance,
} from './testing/store-conformance.js';
export type { ConformanceSubject, TestFunctions } from './testing/store-conformance.js';
