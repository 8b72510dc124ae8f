// Reading verified payloads and checking the claims given to login.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError } from '../../../lib/core/config-error.js';
import { createClaimsParser, createLoginClaimsCheck, readSessionClaims } from '../../../lib/token/claims.js';

const payload = {
  sub: 'alice',
  sid: 'c2Vzc2lvbi1pZC0xMjM0NTY3OA',
  iat: 1_800_000_000,
  iat_ms: 1_800_000_000_123,
  exp: 1_800_003_600,
};

test('the parser gives req.auth and the times the rules need; missing session claims fail', () => {
  const parse = createClaimsParser(z.object({ role: z.string() }));
  const parsed = parse({ ...payload, role: 'admin' });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.auth, {
    role: 'admin',
    sub: 'alice',
    sessionId: payload.sid,
    issuedAt: new Date(payload.iat_ms),
    expiresAt: new Date(payload.exp * 1000),
    signedInAt: new Date(payload.iat_ms),
    authenticatedAt: new Date(payload.iat_ms),
    sessionExpiresAt: new Date(payload.exp * 1000),
  });
  assert.equal(parsed.issuedAtMs, payload.iat_ms);
  for (const missing of ['sub', 'sid', 'iat_ms', 'exp']) {
    const partial: Record<string, unknown> = { ...payload, role: 'x' };
    delete partial[missing];
    assert.equal(parse(partial).ok, false, missing);
  }
  assert.equal(parse({ ...payload, role: 5 }).ok, false);
});

test('a claims schema that throws is a failed parse, never a crash', () => {
  const parse = createClaimsParser(
    z.object({ role: z.string() }).refine(() => {
      throw new Error('boom');
    }),
  );
  assert.equal(parse({ ...payload, role: 'x' }).ok, false);
});

test('readSessionClaims ignores extra claims the schema of another deployment would reject', () => {
  assert.deepEqual(readSessionClaims({ ...payload, role: { odd: true } }), {
    sub: 'alice',
    sessionId: payload.sid,
    issuedAtMs: payload.iat_ms,
    expMs: payload.exp * 1000,
    signedInAtMs: payload.iat_ms,
    sessionExpMs: payload.exp * 1000,
    authenticatedAtMs: payload.iat_ms,
    claimsAtMs: payload.iat_ms,
  });
  assert.equal(readSessionClaims({ sub: 'a' }), undefined);
  // A renewed token carries its session's own times; claims reloaded after sign-in carry their own.
  const renewed = readSessionClaims({
    ...payload,
    sat: 1_799_999_000_000,
    sxp: 1_800_100_000_000,
    pwd: 1_799_999_500_000,
    cla: 1_799_999_700_000,
  });
  assert.deepEqual(
    [renewed?.signedInAtMs, renewed?.sessionExpMs, renewed?.authenticatedAtMs, renewed?.claimsAtMs],
    [1_799_999_000_000, 1_800_100_000_000, 1_799_999_500_000, 1_799_999_700_000],
  );
  // Without `cla` (a token of an older version), the claims are as old as the session.
  assert.equal(readSessionClaims({ ...payload, sat: 1_799_999_000_000 })?.claimsAtMs, 1_799_999_000_000);
});

test('login claims: sub required, reserved claims refused, only schema keys signed as given', () => {
  const check = createLoginClaimsCheck(z.object({ role: z.string().transform((r) => r.toUpperCase()) }));
  assert.deepEqual(check({ sub: 'a', role: 'user' }), { sub: 'a', extra: { role: 'user' } });
  for (const bad of [{}, { sub: '' }, { sub: 7 }, { sub: 'a', sid: 'x' }, { sub: 'a', role: 3 }]) {
    assert.throws(
      () => check(bad),
      (e: unknown) => e instanceof ConfigError && e.code === 'invalid_argument',
      JSON.stringify(bad),
    );
  }
  assert.throws(() => createLoginClaimsCheck(undefined)({ sub: 'a', role: 'x' }), /no `claims` schema/);
});
