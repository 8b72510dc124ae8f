// `npm run test:model` (and the short version in `npm test`): the model-based test of the session contract on
// the memory store; the other stores have files of their own. MODEL_RUNS sets the number of histories per
// store; MODEL_SEED (with MODEL_PATH) replays a failure.
import { describe, test } from 'node:test';
import { runModel } from './model.js';
import { memory, PATH, RUNS, SEED, timeoutFor } from './options.js';

const runs = RUNS ?? 200;

describe('model-based test of the session contract', { timeout: timeoutFor(runs, 60) }, () => {
  test(`memory store: ${runs} random histories`, { timeout: timeoutFor(runs, 60) }, async () => {
    const result = await runModel(memory, runs, SEED, PATH);
    console.log(`# model (memory store): ${result.runs} histories in ${(result.ms / 1000).toFixed(1)} s`);
  });
});
