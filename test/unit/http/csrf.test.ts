// Configured origins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeOrigin } from '../../../lib/http/csrf.js';

describe('normalizeOrigin', () => {
  test('accepts scheme://host[:port] only', () => {
    assert.equal(normalizeOrigin('https://App.Example.com'), 'https://app.example.com');
    assert.equal(normalizeOrigin('http://localhost:5173'), 'http://localhost:5173');
    for (const bad of ['https://a.com/', 'https://a.com/path', 'a.com', 'null', 'https://a.com?x=1'])
      assert.equal(normalizeOrigin(bad), undefined, bad);
  });
});
