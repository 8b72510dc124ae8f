// express-jwt wrapped to return a plain result: signature, algorithm, expiry, issuer, size.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import jwt from 'jsonwebtoken';
import { resolveKeys } from '../../../lib/token/keys.js';
import { createTokenVerifier, MAX_TOKEN_LENGTH } from '../../../lib/token/verify-token.js';

const secret = randomBytes(32);
const keys = resolveKeys({ secret });
const verify = createTokenVerifier({ keys, clockTolerance: 0, issuer: 'app', audience: undefined });
const sign = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
  jwt.sign(claims, secret, {
    algorithm: 'HS256',
    issuer: 'app',
    ...(claims.exp === undefined ? { expiresIn: 60 } : {}),
    ...options,
  });

test('a valid token gives its payload, and nothing is left anywhere else', async () => {
  const result = await verify(sign({ sub: 'alice' }));
  assert.ok(result.ok);
  assert.equal(result.payload.sub, 'alice');
});

test('expired tokens are token_expired; a bad signature, another algorithm or issuer are invalid_token', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.deepEqual(await code(sign({ sub: 'a', exp: now - 10 })), 'token_expired');
  assert.equal(await code(sign({ sub: 'a' }).slice(0, -2) + 'xx'), 'invalid_token');
  assert.equal(await code(jwt.sign({ sub: 'a', iss: 'app' }, secret, { algorithm: 'HS512' })), 'invalid_token');
  assert.equal(await code(sign({ sub: 'a' }, { issuer: 'other' })), 'invalid_token');
  assert.equal(await code('not.a.jwt'), 'invalid_token');
});

test('a token over the size cap is refused before decoding', async () => {
  const huge = sign({ sub: 'a', pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
  assert.equal(await code(huge), 'invalid_token');
});

test('ignoreExpiration accepts an expired but correctly signed token, and nothing unsigned', async () => {
  const lenient = createTokenVerifier({
    keys,
    clockTolerance: 0,
    issuer: 'app',
    audience: undefined,
    ignoreExpiration: true,
  });
  const now = Math.floor(Date.now() / 1000);
  assert.equal((await lenient(sign({ sub: 'a', exp: now - 3600 }))).ok, true);
  assert.equal((await lenient(sign({ sub: 'a' }).slice(0, -2) + 'xx')).ok, false);
});

async function code(token: string): Promise<string | undefined> {
  const result = await verify(token);
  return result.ok ? undefined : result.code;
}
