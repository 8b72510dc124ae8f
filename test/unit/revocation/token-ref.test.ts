// Reading sub, the session id and the times from tokens minted by anyone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTokenRef } from '../../../lib/revocation/token-ref.js';

const EXP = 1_800_000_600;

test('sid wins over jti; iat_ms wins over iat; sat (beside iat_ms) is the sign-in time; exp is read', () => {
  assert.deepEqual(
    readTokenRef({ sub: 'a', sid: 's1', jti: 'j1', iat: 1_800_000_000, iat_ms: 1_800_000_000_123, exp: EXP }),
    { ok: true, ref: { sub: 'a', sessionId: 's1', issuedAtMs: 1_800_000_000_123 }, expMs: EXP * 1000 },
  );
  assert.deepEqual(readTokenRef({ sub: 'a', jti: 'j1', iat_ms: 1_800_000_000_000, sat: 1_799_000_000_000, exp: EXP }), {
    ok: true,
    ref: { sub: 'a', sessionId: 'j1', issuedAtMs: 1_800_000_000_000, signedInAtMs: 1_799_000_000_000 },
    expMs: EXP * 1000,
  });
});

test('a token without sid or jti names no session', () => {
  const read = readTokenRef({ sub: 'a', iat: 1_800_000_000, exp: EXP });
  assert.ok(read.ok, 'read');
  assert.equal(read.ref.sessionId, '');
});

test('no sub, no iat, no exp, a lifetime over 400 days or an id no store can keep are problems, not guesses', () => {
  for (const payload of [
    { iat: 1, exp: 2 },
    { sub: 42, iat: 1, exp: 2 },
    { sub: '', iat: 1, exp: 2 },
    { sub: 'a', exp: 2 },
    { sub: 'a', iat: '1', exp: 2 },
    { sub: 'a', iat: 1 },
    { sub: 'a', iat: 1, exp: '2' },
    { sub: 'a', iat: 1_800_000_000, exp: 1_800_000_000 + 401 * 86_400 },
    { sub: 'a\uD800', iat: 1, exp: 2 },
    { sub: 'a', jti: '\uDC00', iat: 1, exp: 2 },
    'x',
    null,
  ]) {
    assert.equal(readTokenRef(payload).ok, false, JSON.stringify(payload));
  }
  assert.equal(readTokenRef({ sub: 'a', iat: 1_800_000_000, exp: 1_800_000_000 + 400 * 86_400 }).ok, true);
});
