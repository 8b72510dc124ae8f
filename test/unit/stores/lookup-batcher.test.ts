// The micro-batcher behind MongoRevocationStore: fewer round trips, never a read older than the lookup.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLookupBatcher } from '../../../lib/stores/lookup-batcher.js';

function controlledRun() {
  const calls: { keys: number[]; finish: (error?: Error) => void }[] = [];
  const run = (keys: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({
        keys,
        finish: (error) => (error === undefined ? resolve(keys.map((k) => `v${k}`)) : reject(error)),
      });
    });
  return { calls, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createLookupBatcher', () => {
  test('lookups of one turn go out as one batch, answered in order', async () => {
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 100, maxInFlight: 2, maxQueued: 1000, timeoutMs: 5000 });
    const answers = Promise.all([1, 2, 3].map((k) => lookup(k)));
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [[1, 2, 3]],
    );
    calls[0]?.finish();
    assert.deepEqual(await answers, ['v1', 'v2', 'v3']);
  });

  test('a lookup made while a batch is under way never joins it: it goes out in a later batch', async () => {
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 100, maxInFlight: 1, maxQueued: 1000, timeoutMs: 5000 });
    const first = lookup(1);
    await tick();
    const second = lookup(2);
    const third = lookup(3);
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [[1]],
      'the only slot is busy: 2 and 3 wait',
    );
    calls[0]?.finish();
    assert.equal(await first, 'v1');
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [[1], [2, 3]],
    );
    calls[1]?.finish();
    assert.deepEqual(await Promise.all([second, third]), ['v2', 'v3']);
  });

  test('batches are capped at maxBatch and at most maxInFlight run at once', async () => {
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 2, maxInFlight: 2, maxQueued: 1000, timeoutMs: 5000 });
    const all = Promise.all([1, 2, 3, 4, 5].map((k) => lookup(k)));
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [
        [1, 2],
        [3, 4],
      ],
    );
    calls[0]?.finish();
    await tick();
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [[1, 2], [3, 4], [5]],
    );
    calls[1]?.finish();
    calls[2]?.finish();
    assert.deepEqual(await all, ['v1', 'v2', 'v3', 'v4', 'v5']);
  });

  test('a failed batch fails every lookup in it, and the next batch goes out normally', async () => {
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 100, maxInFlight: 1, maxQueued: 1000, timeoutMs: 5000 });
    const failed = [lookup(1), lookup(2)];
    await tick();
    calls[0]?.finish(new Error('connection reset'));
    for (const p of failed) await assert.rejects(p, /connection reset/);
    const later = lookup(3);
    await tick();
    calls[1]?.finish();
    assert.equal(await later, 'v3');
  });

  test('too many waiting lookups fail at once instead of piling up', async () => {
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 1, maxInFlight: 1, maxQueued: 2, timeoutMs: 5000 });
    const queued = [lookup(1), lookup(2)];
    await assert.rejects(lookup(3), /2 lookups are already waiting/);
    await tick();
    calls[0]?.finish();
    await tick();
    await tick();
    calls[1]?.finish();
    assert.deepEqual(await Promise.all(queued), ['v1', 'v2']);
  });

  test('an answer count that does not match the keys fails the batch', async () => {
    const lookup = createLookupBatcher(() => Promise.resolve(['only one']), {
      maxBatch: 10,
      maxInFlight: 1,
      maxQueued: 10,
      timeoutMs: 5000,
    });
    await assert.rejects(Promise.all([lookup(1), lookup(2)]), /returned 1 answers for 2 keys/);
  });

  test('a batch that never answers fails after timeoutMs and frees its slot; stale queued lookups are not sent', async (t) => {
    // The clock is mocked (setTimeout and Date only; setImmediate stays real): "waited timeoutMs" is exact,
    // whatever the load of the machine.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const calls: number[][] = [];
    let hang = true;
    const run = (keys: number[]) => {
      calls.push(keys);
      return hang ? new Promise<string[]>(() => undefined) : Promise.resolve(keys.map((k) => `v${k}`));
    };
    const lookup = createLookupBatcher(run, { maxBatch: 10, maxInFlight: 1, maxQueued: 100, timeoutMs: 100 });
    const stuck = lookup(1);
    await tick();
    assert.deepEqual(calls, [[1]]);
    const waiting = lookup(2); // queued behind the stuck batch
    const stuckFailed = assert.rejects(stuck, /no answer from the database within 100 ms/);
    const waitingFailed = assert.rejects(waiting, /no database slot within 100 ms/);
    t.mock.timers.tick(99);
    await tick();
    assert.deepEqual(calls, [[1]], 'nothing moves before timeoutMs');
    t.mock.timers.tick(1);
    await stuckFailed;
    await waitingFailed;
    hang = false;
    assert.equal(await lookup(3), 'v3', 'service resumes by itself');
    assert.deepEqual(calls, [[1], [3]], 'the stale lookup 2 was never sent');
  });

  test('a lookup that waited less than timeoutMs is still sent when a slot frees', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { calls, run } = controlledRun();
    const lookup = createLookupBatcher(run, { maxBatch: 10, maxInFlight: 1, maxQueued: 100, timeoutMs: 100 });
    const first = lookup(1);
    await tick();
    t.mock.timers.tick(50);
    const second = lookup(2); // waits 49 ms of virtual time, less than timeoutMs
    t.mock.timers.tick(49);
    calls[0]?.finish();
    assert.equal(await first, 'v1');
    await tick();
    assert.deepEqual(
      calls.map((c) => c.keys),
      [[1], [2]],
    );
    calls[1]?.finish();
    assert.equal(await second, 'v2');
  });
});
