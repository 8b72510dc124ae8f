// Small pieces with subtle rules: durations, cookie serialization, origins, the revocation comparison.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Response } from 'express';
import { createCookieWriter } from '../../lib/cookie.js';
import { normalizeOrigin } from '../../lib/csrf.js';
import { parseDurationSeconds } from '../../lib/duration.js';
import { ERROR_STATUS, SessionAuthError } from '../../lib/errors.js';
import { createGuardedStore, revocationReason } from '../../lib/revocation.js';
import { MemoryRevocationStore } from '../../lib/memory-store.js';

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

describe('normalizeOrigin', () => {
  test('accepts scheme://host[:port] only', () => {
    assert.equal(normalizeOrigin('https://App.Example.com'), 'https://app.example.com');
    assert.equal(normalizeOrigin('http://localhost:5173'), 'http://localhost:5173');
    for (const bad of ['https://a.com/', 'https://a.com/path', 'a.com', 'null', 'https://a.com?x=1'])
      assert.equal(normalizeOrigin(bad), undefined, bad);
  });
});

describe('revocationReason: the watermark comparison', () => {
  const watermark = new Date(1_800_000_000_123);
  test('a token issued before or in the same millisecond as logoutAll is rejected; one after is accepted', () => {
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime() - 900),
      'logged_out_everywhere',
    );
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime()),
      'logged_out_everywhere',
    );
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime() + 1),
      undefined,
    );
  });
  test('whole-second iat would get the same second wrong: the comparison uses milliseconds', () => {
    const sameSecondBefore = Math.floor(watermark.getTime() / 1000) * 1000 + 5; // .005 s, before the .123 s logout
    const sameSecondAfter = Math.floor(watermark.getTime() / 1000) * 1000 + 500; // .500 s, after it
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, sameSecondBefore),
      'logged_out_everywhere',
    );
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, sameSecondAfter), undefined);
  });
  test('a revoked session wins over the watermark; no state means accepted', () => {
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: true }, 0), 'session_revoked');
    assert.equal(revocationReason({ lastLogoutAt: null, sessionRevoked: false }, 0), undefined);
  });
});

describe('guarded store', () => {
  test('a store that never answers becomes revocation_unavailable after the timeout', async () => {
    const hanging = {
      getState: () => new Promise<never>(() => undefined),
      revokeUser: () => undefined,
      revokeSession: () => undefined,
    };
    const guarded = createGuardedStore(hanging, 50, { warn: () => undefined });
    const started = Date.now();
    await assert.rejects(
      guarded.getState('a', 'b', Date.now()),
      (error: unknown) =>
        error instanceof SessionAuthError && error.code === 'revocation_unavailable' && error.status === 503,
    );
    assert.ok(Date.now() - started < 1000);
  });
  test("a synchronous store's answer is passed through", async () => {
    const store = new MemoryRevocationStore();
    const guarded = createGuardedStore(store, 50, { warn: () => undefined });
    assert.deepEqual(await guarded.getState('a', 'b', Date.now()), { lastLogoutAt: null, sessionRevoked: false });
    store.close();
  });
});

describe('SessionAuthError', () => {
  test('every code has its status and a body without the cause', () => {
    assert.deepEqual(ERROR_STATUS, {
      credentials_required: 401,
      invalid_token: 401,
      token_expired: 401,
      invalid_claims: 401,
      session_revoked: 401,
      logged_out_everywhere: 401,
      revocation_unavailable: 503,
      csrf_rejected: 403,
    });
    const error = new SessionAuthError('token_expired', { cause: new Error('jwt expired at 2026') });
    assert.equal(error.status, 401);
    assert.ok(error instanceof Error);
    assert.deepEqual(JSON.parse(JSON.stringify(error)), {
      error: { code: 'token_expired', message: 'The session has expired. Sign in again.' },
    });
  });
});
