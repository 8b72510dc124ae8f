// Where the parts of the Redis store's change feed (`feedSlots`) live: part 0 is `{feed}` (older versions read
// it), the first 2, 4, 8... parts are evenly spaced around the 16,384 slots, and a user's part is the same on
// every instance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { feedKeys, feedPartOf, feedTag } from '../../../lib/stores/redis/keys.js';
import { slotOf } from '../../support/redis-cluster.js';

const SLOTS = 16_384;

test('part 0 is {feed}, with the keys older versions read', () => {
  assert.equal(feedTag(0), 'feed');
  assert.deepEqual(feedKeys('p:'), {
    at: 'p:{feed}:at',
    exp: 'p:{feed}:exp',
    start: 'p:{feed}:start',
    slots: 'p:{feed}:slots',
    lifetime: 'p:{feed}:lifetime',
    claimsAt: 'p:{feed}:c:at',
    claimsExp: 'p:{feed}:c:exp',
  });
});

test('the first 2^k parts lie one in each 1/2^k of the slots, counted from the slot of {feed}', () => {
  const base = slotOf('{feed}');
  for (const parts of [2, 4, 8, 16, 32, 64]) {
    const sectors = Array.from({ length: parts }, (_, part) => {
      const offset = (slotOf(`{${feedTag(part)}}`) - base + SLOTS) % SLOTS;
      return Math.floor(offset / (SLOTS / parts));
    });
    assert.deepEqual(
      [...sectors].sort((a, b) => a - b),
      [...Array(parts).keys()],
      `${parts} parts`,
    );
  }
  // On the usual split of three primaries, 8 parts fall 3, 3 and 2, 16 parts 6, 5 and 5 (in some order).
  for (const [parts, most] of [
    [8, 3],
    [16, 6],
  ] as const) {
    const perPrimary = [0, 0, 0];
    for (let part = 0; part < parts; part++) perPrimary[Math.floor(slotOf(`{${feedTag(part)}}`) / (SLOTS / 3))]! += 1;
    assert.equal(Math.max(...perPrimary), most, `${parts} parts: ${perPrimary.join(', ')}`);
  }
});

test("a user's part depends on its id and the count alone, the same in every version; every part is used", () => {
  const subs = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
  for (const parts of [1, 3, 8]) {
    const counts = new Array<number>(parts).fill(0);
    for (const sub of subs) counts[feedPartOf(sub, parts)]! += 1;
    assert.ok(Math.min(...counts) > (1000 / parts) * 0.7, `${parts} parts: ${counts.join(', ')}`);
  }
  // Instances of every version must agree on where a user's changes and a part live: these values never change.
  assert.deepEqual(
    [1, 3, 8].map((parts) => feedPartOf('alice', parts)),
    [0, 2, 7],
  );
  assert.deepEqual([1, 2, 7, 15].map(feedTag), ['feed:1:15', 'feed:2:82', 'feed:7:43', 'feed:15:47']);
});
