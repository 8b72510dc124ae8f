// Durations given as seconds or strings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDurationSeconds } from '../../../lib/config/duration.js';

describe('parseDurationSeconds', () => {
  test('numbers are seconds; strings take units', () => {
    assert.equal(parseDurationSeconds(900), 900);
    assert.equal(parseDurationSeconds('900'), 900);
    assert.equal(parseDurationSeconds('15m'), 900);
    assert.equal(parseDurationSeconds('12h'), 43_200);
    assert.equal(parseDurationSeconds('7 days'), 604_800);
    assert.equal(parseDurationSeconds('2w'), 1_209_600);
  });
  test('rejects what is not a positive whole duration', () => {
    for (const bad of [0, -1, 1.5, '', '1.5h', '15 fortnights', 'h', '-3m', Number.NaN])
      assert.equal(parseDurationSeconds(bad), undefined, String(bad));
  });
});
