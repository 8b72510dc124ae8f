// `npm run test:model` (and the short version in `npm test`): the model-based test of the session contract on
// the memory store and on MongoRevocationStore (FerretDB in `npm test`). MODEL_RUNS sets the number of
// histories per store; MODEL_SEED (with MODEL_PATH) replays a failure.
import { describe, test } from 'node:test';
import { runModel } from './model.js';
import { memory } from './options.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 0) || undefined;
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH || undefined;
/** Generous: other test files and other jobs share the machine. */
const timeoutFor = (runs: number, msPerRun: number) => Math.max(120_000, runs * msPerRun * 4);

describe('model-based test of the session contract', { timeout: 600_000 }, () => {
  test(`memory store: ${RUNS ?? 200} random histories`, { timeout: timeoutFor(RUNS ?? 200, 60) }, async () => {
    const { runs, ms } = await runModel(memory, RUNS ?? 200, SEED, PATH);
    console.log(`# model (memory store): ${runs} histories in ${(ms / 1000).toFixed(1)} s`);
  });
});
