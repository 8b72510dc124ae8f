// The verifier calls jsonwebtoken directly (once per token): rotating keys by `kid`, the test clock, and the
// claims fast path must answer exactly as before.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { createClaimsParser, readSessionClaims } from '../../../lib/token/claims.js';
import { resolveConfiguredKeys } from '../../../lib/token/keys.js';
import { createTokenVerifier } from '../../../lib/token/verify-token.js';

const a = randomBytes(32);
const b = randomBytes(32);
const keys = resolveConfiguredKeys({
  keys: [
    { kid: 'a', secret: a },
    { kid: 'b', secret: b },
  ],
});

test('rotating keys: the kid picks the key; a missing or unknown kid, or the wrong key, is invalid_token', async () => {
  const verify = createTokenVerifier({ keys, clockTolerance: 0, issuer: undefined, audience: undefined });
  const sign = (secret: Buffer, keyid?: string) =>
    jwt.sign({ sub: 'x' }, secret, { algorithm: 'HS256', expiresIn: 60, ...(keyid === undefined ? {} : { keyid }) });
  assert.equal((await verify(sign(a, 'a'))).ok, true);
  assert.equal((await verify(sign(b, 'b'))).ok, true);
  for (const token of [sign(a), sign(a, 'c'), sign(a, 'b'), '', 'x.y.z']) {
    const result = await verify(token);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? undefined : result.code, 'invalid_token');
  }
});

test('the injected clock decides expiry, read on every verification', async () => {
  let now = Date.now();
  const verify = createTokenVerifier({
    keys,
    clockTolerance: 5,
    issuer: undefined,
    audience: undefined,
    now: () => now,
  });
  const token = jwt.sign({ sub: 'x' }, a, { algorithm: 'HS256', expiresIn: 60, keyid: 'a' });
  assert.equal((await verify(token)).ok, true);
  now += 64_000;
  assert.equal((await verify(token)).ok, true, 'within the tolerance');
  now += 2_000;
  const late = await verify(token);
  assert.equal(late.ok ? undefined : late.code, 'token_expired');
});

test('the claims fast path returns what zod returns, and leaves every refusal to zod', () => {
  const base = { sub: 'u', sid: 's'.repeat(16), iat_ms: 1_700_000_000_000, exp: 1_700_003_600 };
  const parse = createClaimsParser(undefined);
  const good = [base, { ...base, sat: 1_699_000_000_000, sxp: 1_800_000_000_000, pwd: 1_699_500_000_000, x: 1 }];
  for (const payload of good) {
    const claims = readSessionClaims(payload);
    assert.ok(claims);
    const parsed = parse(payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.sub, claims.sub);
    assert.equal(parsed.signedInAtMs, claims.signedInAtMs);
  }
  const bad = [
    null,
    [],
    { ...base, sub: '' },
    { ...base, sid: 'short' },
    { ...base, sid: 's'.repeat(65) },
    { ...base, iat_ms: 1.5 },
    { ...base, iat_ms: -1 },
    { ...base, exp: '1' },
    { ...base, sat: 0 },
    { ...base, sxp: null },
    { ...base, pwd: Number.NaN },
  ];
  for (const payload of bad) {
    assert.equal(readSessionClaims(payload), undefined, JSON.stringify(payload));
    const parsed = parse(payload);
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok && parsed.cause !== undefined, 'zod names the problem');
  }
});
