// Keys as configured: strength and type checks, the key ring by `kid`, and the migration from `secret` to `keys`.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { ConfigError } from '../../../lib/core/config-error.js';
import { resolveConfiguredKeys } from '../../../lib/token/keys.js';
import { createTokenVerifier } from '../../../lib/token/verify-token.js';

const secret = () => randomBytes(32);
const configError = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;

describe('resolveConfiguredKeys', () => {
  test('a secret becomes an HS256 secret KeyObject; a short one, or a PEM as a secret, is refused', () => {
    const keys = resolveConfiguredKeys({ secret: secret() });
    assert.equal(keys.algorithm, 'HS256');
    assert.equal(keys.signingKey?.type, 'secret');
    assert.equal(keys.verificationKey, keys.signingKey);
    assert.throws(() => resolveConfiguredKeys({ secret: 'short' }), /is 5 bytes long; HS256 needs at least 32/);
    assert.throws(() => resolveConfiguredKeys({ secret: randomBytes(32), algorithm: 'HS512' }), /needs at least 64/);
    assert.throws(() => resolveConfiguredKeys({ secret: '-----BEGIN PRIVATE KEY-----' }), configError('secret'));
  });

  test('a key pair: the algorithm from the key, the public key derived; a public key alone cannot sign', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pair = resolveConfiguredKeys({ privateKey });
    assert.equal(pair.algorithm, 'ES256');
    assert.equal(pair.verificationKey.asymmetricKeyType, 'ec');
    const verifyOnly = resolveConfiguredKeys({ publicKey });
    assert.equal(verifyOnly.signingKey, undefined);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.throws(() => resolveConfiguredKeys({ privateKey, publicKey: other }), configError('publicKey'));
  });

  test('keys: the first signs with its kid, every one verifies by its kid; names are checked', () => {
    const ring = resolveConfiguredKeys({
      keys: [
        { kid: 'new', secret: secret() },
        { kid: 'old', secret: secret() },
      ],
    });
    assert.equal(ring.keyId, 'new');
    assert.deepEqual([...(ring.keysById?.keys() ?? [])], ['new', 'old']);
    assert.throws(
      () =>
        resolveConfiguredKeys({
          keys: [
            { kid: 'a', secret: secret() },
            { kid: 'a', secret: secret() },
          ],
        }),
      configError('keys[1].kid'),
    );
    assert.throws(
      () => resolveConfiguredKeys({ keys: [{ kid: 'a', secret: 'short' }] }),
      configError('keys[0].secret'),
    );
    assert.throws(
      () => resolveConfiguredKeys({ secret: secret(), keys: [{ kid: 'a', secret: secret() }] }),
      configError('keys'),
    );
  });

  test('keyForTokensWithoutKid names the key that verifies tokens signed before `keys` (a migration without sign-outs)', async () => {
    const oldSecret = secret();
    const legacy = jwt.sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 }, oldSecret, {
      algorithm: 'HS256',
    });
    const entries = [
      { kid: 'new', secret: secret() },
      { kid: 'old', secret: oldSecret },
    ];
    const verify = (keyForTokensWithoutKid?: string) =>
      createTokenVerifier({
        keys: resolveConfiguredKeys({ keys: entries, keyForTokensWithoutKid }),
        clockTolerance: 0,
        issuer: undefined,
        audience: undefined,
      })(legacy);
    assert.deepEqual((await verify()).ok, false, 'without it, a token without a kid is refused');
    const migrated = await verify('old');
    assert.equal(migrated.ok, true, 'with it, the old key verifies tokens without a kid');
    const wrongKey = await verify('new');
    assert.equal(wrongKey.ok, false, 'only with the key that signed them');
    assert.throws(
      () => resolveConfiguredKeys({ keys: entries, keyForTokensWithoutKid: 'older' }),
      configError('keyForTokensWithoutKid'),
    );
    assert.throws(
      () => resolveConfiguredKeys({ secret: oldSecret, keyForTokensWithoutKid: 'old' }),
      configError('keyForTokensWithoutKid'),
    );
  });
});
