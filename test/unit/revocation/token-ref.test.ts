// Reading sub, the session id and the issue time from tokens minted by anyone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTokenRef } from '../../../lib/revocation/token-ref.js';

test('sid wins over jti; iat_ms wins over iat; exp is read when present', () => {
  assert.deepEqual(
    readTokenRef({ sub: 'a', sid: 's1', jti: 'j1', iat: 1_800_000_000, iat_ms: 1_800_000_000_123, exp: 1_800_000_600 }),
    {
      ok: true,
      ref: { sub: 'a', sessionId: 's1', issuedAtMs: 1_800_000_000_123 },
      expMs: 1_800_000_600_000,
    },
  );
  assert.deepEqual(readTokenRef({ sub: 'a', jti: 'j1', iat: 1_800_000_000 }), {
    ok: true,
    ref: { sub: 'a', sessionId: 'j1', issuedAtMs: 1_800_000_000_000 },
    expMs: undefined,
  });
});

test('a token without sid or jti names no session', () => {
  const read = readTokenRef({ sub: 'a', iat: 1_800_000_000 });
  assert.ok(read.ok);
  assert.equal(read.ref.sessionId, '');
});

test('no sub, a non-string sub, no iat or a non-numeric iat are problems, not guesses', () => {
  for (const payload of [
    { iat: 1 },
    { sub: 42, iat: 1 },
    { sub: '', iat: 1 },
    { sub: 'a' },
    { sub: 'a', iat: '1' },
    'x',
    null,
  ]) {
    assert.equal(readTokenRef(payload).ok, false, JSON.stringify(payload));
  }
});
