// The model-based test on MongoRevocationStore with `atomicUpdates: true`: the path every real MongoDB takes
// (`$max` on the user's own document), whatever the test server is. The model never writes one user from two
// places at once, so it holds on FerretDB too. MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts.
import { describe } from 'node:test';
import { mongoModel } from './mongo-model.js';

describe('model-based test of the session contract', () => {
  mongoModel({ atomicUpdates: true });
});
