// Durations given as numbers or strings: one grammar for every option, the one the README's "Durations" table
// documents (the test reads that table, so the two cannot drift).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  DURATION_UNIT_MS,
  parseDurationMs,
  parseDurationSeconds,
  parseRevocationDelayMs,
} from '../../../lib/config/duration.js';
import { MAX_REVOCATION_DELAY_MS } from '../../../lib/core/limits.js';

/** The README's table: `| unit | spellings | milliseconds |`, between the `Durations` heading and the next one. */
function documentedUnits(): { spellings: string[]; ms: number }[] {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Durations'));
  const table = section.slice(0, section.indexOf('\n#', 5));
  const rows = table.split('\n').filter((line) => /^\| [a-z]+ +\| `/.test(line));
  return rows.map((row) => {
    const [, spellings = '', ms = ''] = row
      .split('|')
      .map((cell) => cell.trim())
      .slice(1);
    return {
      spellings: [...spellings.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string),
      ms: Number(ms.replace(/,/g, '')),
    };
  });
}

describe('durations', () => {
  test("every unit of the README's table, and only those, is accepted, in every spelling it lists", () => {
    const units = documentedUnits();
    assert.deepEqual(
      units.flatMap((u) => u.spellings).sort(),
      Object.keys(DURATION_UNIT_MS).sort(),
      "the README's table lists exactly the units the parser knows",
    );
    for (const { spellings, ms } of units) {
      for (const unit of spellings) {
        assert.equal(parseDurationMs(`2${unit}`, 1000), 2 * ms, `2${unit}`);
        assert.equal(parseDurationMs(`2 ${unit.toUpperCase()}`, 1000), 2 * ms, `2 ${unit.toUpperCase()}`);
      }
    }
    for (const bad of ['1 fortnight', '3 months', '1.5h', 'h', '-3m', '', '1e3', '0x10', '1 h 30 m'])
      assert.equal(parseDurationMs(bad, 1000), undefined, bad);
  });

  test('a number, or a string of digits alone, counts in seconds, or in milliseconds for maxRevocationDelay', () => {
    assert.equal(parseDurationSeconds(900), 900);
    assert.equal(parseDurationSeconds('900'), 900);
    assert.equal(parseDurationSeconds('15m'), 900);
    assert.equal(parseDurationSeconds('7 days'), 604_800);
    assert.equal(parseDurationSeconds('1y'), 31_557_600);
    assert.equal(parseRevocationDelayMs(250), 250);
    assert.equal(parseRevocationDelayMs('250'), 250);
    assert.equal(parseRevocationDelayMs('250ms'), 250);
    assert.equal(parseRevocationDelayMs('1m'), MAX_REVOCATION_DELAY_MS);
  });

  test('options in seconds take whole positive seconds; a delay takes 0 to a minute', () => {
    for (const bad of [0, -1, 1.5, '', '1.5h', '15 fortnights', 'h', '-3m', Number.NaN, '1500ms', '0s'])
      assert.equal(parseDurationSeconds(bad), undefined, String(bad));
    assert.equal(parseDurationSeconds('2000ms'), 2);
    for (const bad of [-1, 1.5, Number.NaN, 60_001, '61s', '2m', 'soon', '', '-5ms'])
      assert.equal(parseRevocationDelayMs(bad), undefined, String(bad));
  });
});
