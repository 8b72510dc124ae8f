/**
 * The conformance suite every RevocationStore must pass, for store authors.
 *
 * @module express-revocable-jwt/testing
 */
export { runStoreConformance } from './testing/store-conformance.js';
export type { ConformanceSubject, TestFunctions } from './testing/store-conformance.js';
