// The cookie writer: one configuration sets and expires the cookie.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Response } from 'express';
import { createCookieWriter } from '../../../lib/http/cookie.js';

function fakeResponse(): Response & { cookies: string[]; headers: Record<string, string> } {
  const cookies: string[] = [];
  const headers: Record<string, string> = {};
  return {
    cookies,
    headers,
    headersSent: false,
    append: (_name: string, value: string) => cookies.push(value),
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
  } as unknown as Response & { cookies: string[]; headers: Record<string, string> };
}

describe('cookie writer', () => {
  test('sets HttpOnly, Secure, SameSite, Path, Max-Age and Expires from one configuration', () => {
    const writer = createCookieWriter({
      name: '__Host-sid',
      secure: true,
      sameSite: 'strict',
      path: '/',
      domain: undefined,
    });
    const res = fakeResponse();
    const before = Date.now();
    writer.set(res, 'aaa.bbb.ccc', 900);
    const [cookie] = res.cookies;
    assert.match(
      cookie ?? '',
      /^__Host-sid=aaa\.bbb\.ccc; Max-Age=900; Expires=[^;]+ GMT; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie ?? '')?.[1] ?? '');
    assert.ok(Math.abs(expires - (before + 900_000)) < 2000);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('clearing repeats the same name, path, domain, Secure and SameSite with Max-Age=0 and a past Expires', () => {
    const writer = createCookieWriter({
      name: 'session',
      secure: true,
      sameSite: 'none',
      path: '/app',
      domain: 'example.com',
    });
    const res = fakeResponse();
    writer.set(res, 'x.y.z', 60);
    writer.clear(res);
    const attributes = (c: string) => c.split('; ').filter((p) => !/^(session=|Max-Age=|Expires=)/.test(p));
    assert.deepEqual(attributes(res.cookies[1] ?? ''), attributes(res.cookies[0] ?? ''));
    assert.deepEqual(attributes(res.cookies[1] ?? ''), [
      'Path=/app',
      'Domain=example.com',
      'HttpOnly',
      'Secure',
      'SameSite=None',
    ]);
    assert.match(res.cookies[1] ?? '', /^session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT;/);
  });

  test('nothing is written once headers are sent', () => {
    const writer = createCookieWriter({
      name: 'session',
      secure: false,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
    });
    const res = Object.assign(fakeResponse(), { headersSent: true });
    writer.clear(res);
    assert.deepEqual(res.cookies, []);
  });
});
