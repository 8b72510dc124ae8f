// Signing: a new session id every time, iat_ms to the millisecond, exp from expiresIn, no signing without a key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { ConfigError } from '../../../lib/errors/config-error.js';
import { resolveKeys } from '../../../lib/token/keys.js';
import { signSessionToken } from '../../../lib/token/sign-token.js';

test('claims, header and times of a signed session token', () => {
  const keys = resolveKeys({ secret: randomBytes(32) });
  const settings = {
    algorithm: keys.algorithm,
    signingKey: keys.signingKey,
    expiresInSeconds: 900,
    issuer: 'app',
    audience: 'web',
  };
  const now = 1_800_000_000_456;
  const a = signSessionToken(settings, 'alice', { role: 'admin' }, now);
  const b = signSessionToken(settings, 'alice', {}, now);
  assert.notEqual(a.sessionId, b.sessionId);
  const decoded = jwt.decode(a.token, { complete: true })!;
  assert.equal(decoded.header.alg, 'HS256');
  assert.deepEqual(decoded.payload, {
    role: 'admin',
    sub: 'alice',
    sid: a.sessionId,
    iat: 1_800_000_000,
    iat_ms: now,
    exp: 1_800_000_900,
    aud: 'web',
    iss: 'app',
  });
  assert.equal(a.expiresAt.getTime(), 1_800_000_900_000);
});

test('a verify-only instance (public key alone) cannot sign, and says why', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keys = resolveKeys({ publicKey });
  const settings = {
    algorithm: keys.algorithm,
    signingKey: keys.signingKey,
    expiresInSeconds: 60,
    issuer: undefined,
    audience: undefined,
  };
  assert.throws(
    () => signSessionToken(settings, 'a', {}),
    (e: unknown) => e instanceof ConfigError && e.code === 'unsupported' && e.message.includes('only a `publicKey`'),
  );
});
