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
