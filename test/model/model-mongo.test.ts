// The model-based test on MongoRevocationStore (FerretDB in `npm test`), as the server decides where the state
// lives (on FerretDB: the store's own collection, behind per-user locks). A file of its own, so its histories get
// the runner's whole per-file budget; model-mongo-atomic.test.ts runs the path of MongoDB itself.
// MODEL_RUNS, MODEL_SEED, MODEL_PATH as in model.test.ts.
import { describe } from 'node:test';
import { mongoModel } from './mongo-model.js';

describe('model-based test of the session contract', () => {
  mongoModel({ atomicUpdates: undefined });
});
