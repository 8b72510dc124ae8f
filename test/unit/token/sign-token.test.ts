// Signing: iat_ms to the millisecond, exp from expiresIn but never past the session's end, the session's own
// claims carried over, a kid header with rotating keys, and no signing without a private key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { ConfigError } from '../../../lib/core/config-error.js';
import { resolveKeys } from '../../../lib/token/keys.js';
import { newSession, signSessionToken, type TokenSettings } from '../../../lib/token/sign-token.js';

const keys = resolveKeys({ secret: randomBytes(32) });
const settings: TokenSettings = {
  algorithm: keys.algorithm,
  signingKey: keys.signingKey,
  keyId: undefined,
  expiresInSeconds: 900,
  maxAgeSeconds: 3600,
  issuer: 'app',
  audience: 'web',
};
const now = 1_800_000_000_456;

test('claims, header and times of a new session token', () => {
  const session = newSession(settings, 'alice', now);
  const a = signSessionToken(settings, session, { role: 'admin' }, now);
  assert.notEqual(newSession(settings, 'alice', now).sessionId, session.sessionId);
  const decoded = jwt.decode(a.token, { complete: true })!;
  assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(decoded.payload, {
    role: 'admin',
    sub: 'alice',
    sid: session.sessionId,
    iat: 1_800_000_000,
    iat_ms: now,
    sat: now,
    sxp: now + 3_600_000,
    pwd: now,
    cla: now,
    exp: 1_800_000_900,
    aud: 'web',
    iss: 'app',
  });
  assert.equal(a.expiresAt.getTime(), 1_800_000_900_000);
  assert.equal(a.sessionExpiresAt.getTime(), now + 3_600_000);
});

test('a renewal keeps the session id, sign-in and password times; exp never passes the session end', () => {
  const session = newSession(settings, 'alice', now);
  const later = now + 3_000_000;
  const renewed = signSessionToken(settings, session, {}, later);
  const payload = jwt.decode(renewed.token) as Record<string, number | string>;
  assert.equal(payload.sid, session.sessionId);
  assert.equal(payload.sat, now);
  assert.equal(payload.pwd, now);
  assert.equal(payload.iat_ms, later);
  assert.equal(payload.exp, Math.floor((now + 3_600_000) / 1000), 'capped at the session end');
});

test('with rotating keys the token header names the signing key', () => {
  const token = signSessionToken({ ...settings, keyId: '2026-11' }, newSession(settings, 'a', now), {}, now).token;
  assert.equal(jwt.decode(token, { complete: true })!.header.kid, '2026-11');
});

test('a verify-only instance (public key alone) cannot sign, and says why', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = resolveKeys({ publicKey });
  const verifyOnly = { ...settings, algorithm: pub.algorithm, signingKey: pub.signingKey };
  assert.throws(
    () => signSessionToken(verifyOnly, newSession(settings, 'a', now), {}, now),
    (e: unknown) => e instanceof ConfigError && e.code === 'unsupported' && e.message.includes('only a `publicKey`'),
  );
});
