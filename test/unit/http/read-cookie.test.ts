// Reading the session cookie: the first value for the guards, every value for logout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request } from 'express';
import { readCookie, readCookieValues } from '../../../lib/http/cookie.js';

const req = (cookie: string | undefined, cookies?: Record<string, unknown>) =>
  ({ headers: cookie === undefined ? {} : { cookie }, cookies }) as unknown as Request;

test('readCookie: the first value, undefined when absent or empty, null for a parsed non-string', () => {
  assert.equal(readCookie(req('a=1; session=first; session=second'), 'session'), 'first');
  assert.equal(readCookie(req('a=1'), 'session'), undefined);
  assert.equal(readCookie(req('session='), 'session'), undefined);
  assert.equal(readCookie(req('x', { session: { j: 1 } }), 'session'), null);
  assert.equal(readCookie(req(undefined, { session: 'parsed' }), 'session'), 'parsed');
});

test('readCookieValues: every non-empty value of that name, decoded, in order', () => {
  assert.deepEqual(readCookieValues(req('session=a; other=b;session=%41b; session=; session="q"'), 'session'), [
    'a',
    'Ab',
    'q',
  ]);
  assert.deepEqual(readCookieValues(req('sessionx=a; xsession=b'), 'session'), []);
  assert.deepEqual(readCookieValues(req(undefined), 'session'), []);
  assert.deepEqual(readCookieValues(req('session=%E0%A4%A'), 'session'), ['%E0%A4%A']);
});

test('readCookieValues decodes each value exactly as cookie-parser decodes the one it keeps, `j:` JSON included', () => {
  const cases = ['abc', '%41b', '"q"', 'j:"tok.en.x"', 'j:%22enc%22', 'j:{"a":1}', 'j:bad', '%E0%A4%A', ' spaced '];
  for (const value of cases) {
    const first = readCookie(req(`session=${value}`), 'session');
    const all = readCookieValues(req(`other=1; session=${value}`), 'session');
    assert.deepEqual(all, typeof first === 'string' ? [first] : [], `for ${value}`);
  }
  assert.deepEqual(readCookieValues(req('session=j:"x.y.z"; session=x.y.z; session=j:{"a":1}'), 'session'), ['x.y.z']);
});
