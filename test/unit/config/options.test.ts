// createSessionAuth's startup validation: one readable ConfigError naming the option and the fix.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ConfigError, createSessionAuth, MemoryRevocationStore, type SessionAuthOptions } from '../../../lib/index.js';
import { testSecret } from '../../support/apps.js';

const quiet = { warn: () => {} };
const store = new MemoryRevocationStore();
const valid = (): SessionAuthOptions => ({ secret: testSecret(), store, logger: quiet });

function configError(options: unknown, message: RegExp, option?: string): void {
  assert.throws(
    () => createSessionAuth(options as SessionAuthOptions),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.match(error.message, /^express-revocable-jwt: /);
      assert.match(error.message, message);
      if (option !== undefined) assert.equal(error.option, option);
      return true;
    },
  );
}

describe('createSessionAuth configuration errors', () => {
  test('valid minimal options work', () => {
    assert.equal(typeof createSessionAuth(valid()).authenticate, 'function');
  });

  test('a secret under 32 bytes names the length and how to generate one, never the secret', () => {
    assert.throws(
      () => createSessionAuth({ ...valid(), secret: 'hunter2-is-my-password' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /`secret` is 22 bytes long; HS256 needs at least 32\. Generate one with/);
        assert.ok(!error.message.includes('hunter2'));
        return true;
      },
    );
    configError(
      { ...valid(), secret: 'x'.repeat(40), algorithm: 'HS512' },
      /`secret` is 40 bytes long; HS512 needs at least 64/,
    );
    configError({ ...valid(), secret: 12345678 }, /`secret` must be a string, a Buffer or a crypto\.KeyObject\./);
  });

  test('no secret and no keys', () => {
    configError({ store }, /`secret` is missing\. Pass `secret` \(at least 32 random bytes/, 'secret');
  });

  test('a missing store or one lacking methods says what to pass', () => {
    configError(
      { secret: testSecret() },
      /`store` is missing\. Pass `new MongoRevocationStore\(\{ client, dbName \}\)`/,
      'store',
    );
    configError({ secret: testSecret(), store: MemoryRevocationStore }, /Did you forget `new`/);
    configError(
      { secret: testSecret(), store: { getState() {} } },
      /`store` lacks the methods `revokeUser\(\)`, `revokeSession\(\)` of a RevocationStore/,
    );
  });

  test('unknown options get a "did you mean"', () => {
    configError({ ...valid(), expiresin: '1h' }, /unknown option `expiresin` \(did you mean `expiresIn`\?\)/);
    configError({ ...valid(), cookies: {} }, /unknown option `cookies` \(did you mean `cookie`\?\)/);
    configError(
      { ...valid(), cookie: { samesite: 'lax' } },
      /option `cookie` got unknown option `cookie\.samesite` \(did you mean `cookie\.sameSite`\?\)/,
    );
    configError({ ...valid(), storeTimeout: 5 }, /did you mean `storeTimeoutMs`/);
  });

  test("sameSite: 'none' without secure", () => {
    configError(
      { ...valid(), cookie: { sameSite: 'none', secure: false } },
      /`cookie\.sameSite` is "none", which browsers accept only on Secure cookies: set `cookie\.secure: true`/,
      'cookie.sameSite',
    );
    assert.doesNotThrow(() => createSessionAuth({ ...valid(), cookie: { sameSite: 'none' } }));
  });

  test('__Host- and __Secure- cookie names are checked', () => {
    configError(
      { ...valid(), cookie: { name: '__Host-session', secure: false } },
      /`cookie\.secure` must be true for a `__Host-` cookie name/,
    );
    configError(
      { ...valid(), cookie: { name: '__Host-session', path: '/app' } },
      /`cookie\.path` must be "\/" for a `__Host-` cookie name/,
    );
    configError(
      { ...valid(), cookie: { name: '__Host-session', domain: 'example.com' } },
      /`cookie\.domain` must not be set for a `__Host-` cookie name/,
    );
    configError(
      { ...valid(), cookie: { name: '__Secure-session', secure: false } },
      /`cookie\.secure` must be true for a `__Secure-` cookie name/,
    );
    assert.doesNotThrow(() => createSessionAuth({ ...valid(), cookie: { name: '__Host-session' } }));
  });

  test('bad cookie names, paths and domains', () => {
    configError({ ...valid(), cookie: { name: 'my session' } }, /`cookie\.name` must be a cookie name/);
    configError({ ...valid(), cookie: { path: 'app' } }, /`cookie\.path` must start with "\/"/);
    configError(
      { ...valid(), cookie: { path: '/app\u0001' } },
      /`cookie\.path` must start with "\/" and contain only printable characters/,
    );
    configError({ ...valid(), cookie: { domain: 'evil.com; HttpOnly' } }, /`cookie\.domain` must be a domain name/);
  });

  test('expiresIn accepts seconds or a duration and rejects anything else', () => {
    assert.doesNotThrow(() => createSessionAuth({ ...valid(), expiresIn: 900 }));
    assert.doesNotThrow(() => createSessionAuth({ ...valid(), expiresIn: '7 days' }));
    configError(
      { ...valid(), expiresIn: '15 fortnights' },
      /`expiresIn` must be a positive whole number of seconds or a duration such as "15m"/,
    );
    configError({ ...valid(), expiresIn: -5 }, /`expiresIn`/);
  });

  test('trustedOrigins must be origins', () => {
    configError(
      { ...valid(), trustedOrigins: ['https://app.example.com/'] },
      /`trustedOrigins\.0` must be an origin such as "https:\/\/app\.example\.com"/,
    );
    configError({ ...valid(), trustedOrigins: ['app.example.com'] }, /`trustedOrigins\.0`/);
    assert.doesNotThrow(() =>
      createSessionAuth({ ...valid(), trustedOrigins: ['https://app.example.com', 'http://localhost:5173'] }),
    );
  });

  test('claims must be a zod object without reserved claim names', () => {
    configError({ ...valid(), claims: { role: 'string' } }, /`claims` must be a zod object schema/);
    configError(
      { ...valid(), claims: z.object({ sub: z.string(), exp: z.number() }) },
      /`claims` defines `sub`, `exp`, which this package sets itself/,
    );
  });

  test('a claims schema that checks or transforms asynchronously is refused at startup, naming where', () => {
    const lookup = async (v: string) => (await Promise.resolve(v)).length > 0; // e.g. a database query
    const cases: [z.ZodObject, RegExp][] = [
      [z.object({ email: z.string().refine(lookup) }), /at `email`/],
      [z.object({ plan: z.string().transform(async (v) => (await lookup(v)) && v) }), /at `plan`/],
      [z.object({ org: z.object({ id: z.string().refine(lookup) }).optional() }), /at `org\.id`/],
      [z.object({ tags: z.array(z.union([z.number(), z.string().refine(lookup)])) }), /at `tags`/],
      [z.object({ later: z.lazy(() => z.string().refine(lookup)) }), /at `later`/],
      [z.object({ pair: z.tuple([z.string()]).rest(z.string().refine(lookup)) }), /at `pair`/],
    ];
    for (const [claims, where] of cases) {
      configError({ ...valid(), claims }, /`claims` has an async refinement or transform/, 'claims');
      configError({ ...valid(), claims }, where);
    }
    assert.doesNotThrow(() =>
      createSessionAuth({ ...valid(), claims: z.object({ a: z.string().refine((v) => !!v) }) }),
    );
  });

  test('an async part the startup check cannot see is refused by login with the same ConfigError', async () => {
    // A plain function returning a Promise: only zod's run shows it.
    const claims = z.object({ role: z.string().refine((v) => Promise.resolve(v === 'x') as unknown as boolean) });
    const auth = createSessionAuth({ ...valid(), claims });
    const res = { append: () => undefined, setHeader: () => undefined, headersSent: false } as never;
    await assert.rejects(
      auth.login(res, { sub: 'alice', role: 'x' }),
      (e: unknown) => e instanceof ConfigError && e.option === 'claims' && e.message.includes('async refinement'),
    );
  });

  test('maxSessions on a store without a device registry fails at startup', () => {
    const bare = {
      getState: () => ({ lastLogoutAt: null, sessionRevoked: false }),
      revokeUser: () => undefined,
      revokeSession: () => undefined,
    };
    configError({ ...valid(), store: bare, maxSessions: 5 }, /`maxSessions` needs a store with a device registry/);
  });

  test('cookie domains must have a name: ".", "..", "a..b" and a trailing dot are refused', () => {
    for (const domain of ['.', '..', 'a..b', 'example.com.', '.example..com'])
      configError({ ...valid(), cookie: { domain, secure: false } }, /`cookie\.domain` must be a domain name/);
    assert.doesNotThrow(() => createSessionAuth({ ...valid(), cookie: { domain: '.example.com', secure: false } }));
  });

  test('callbacks must be functions', () => {
    configError({ ...valid(), onError: 'redirect' }, /`onError` must be a function \(error, req, res, next\)/);
    configError({ ...valid(), logger: {} }, /`logger` must be an object with a `warn\(message\)` method/);
  });

  test('a string is echoed only for word choices, never where it could be a misplaced secret', () => {
    assert.throws(
      () => createSessionAuth({ ...valid(), expiresIn: 'hunter2hunter2' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        !error.message.includes('hunter2') &&
        error.message.includes('a string of 14 characters'),
    );
    configError({ ...valid(), cookie: { sameSite: 'sometimes' as 'lax' } }, /`cookie\.sameSite` .*\(got "sometimes"\)/);
  });

  test('several problems are reported together', () => {
    configError(
      { secret: testSecret(), store, storeTimeoutMs: 0, failOpen: 'yes' },
      /has 2 configuration problems:\n {2}- `storeTimeoutMs`.*\n {2}- `failOpen`/,
    );
  });

  test('calling it with a request (mounted without being called) explains the fix', () => {
    const fakeReq = { headers: {}, method: 'GET', on: () => undefined };
    configError(fakeReq, /`createSessionAuth` was mounted as a middleware without being called/);
  });
});

describe('keys and algorithms', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = generateKeyPairSync('ed25519');
  const base = { store, logger: quiet };

  test('an RSA key under 2048 bits is refused', () => {
    configError({ ...base, privateKey: weakRsa.privateKey }, /is a 1024-bit RSA key; use at least 2048 bits/);
  });

  test('an algorithm that does not fit the key is refused', () => {
    configError(
      { ...base, privateKey: rsa.privateKey, algorithm: 'ES256' },
      /`algorithm` is ES256, which does not match the rsa key given/,
    );
    configError(
      { ...base, privateKey: p384.privateKey, algorithm: 'ES256' },
      /`algorithm` is ES256, which does not match the EC secp384r1 key/,
    );
    configError(
      { ...base, secret: testSecret(), algorithm: 'RS256' },
      /`algorithm` is "RS256", which needs a key pair/,
    );
  });

  test('EdDSA is refused with the reason and an alternative', () => {
    configError({ ...base, privateKey: ed.privateKey }, /EdDSA.*jsonwebtoken 9.*Use an EC P-256 key pair \(ES256\)/);
    configError(
      { ...base, privateKey: ed.privateKey, algorithm: 'EdDSA' },
      /`algorithm` is "EdDSA", which jsonwebtoken 9/,
    );
  });

  test('a public key from another pair, a PEM as secret, and secret plus keys are refused', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    configError(
      { ...base, privateKey: rsa.privateKey, publicKey: other.publicKey },
      /`publicKey` does not belong to `privateKey`/,
    );
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    configError({ ...base, secret: pem }, /`secret` looks like a PEM key/);
    configError(
      { ...base, secret: testSecret(), privateKey: rsa.privateKey },
      /`secret` and `privateKey`\/`publicKey` were both given/,
    );
    configError({ ...base, privateKey: 'not a key' }, /`privateKey` cannot be read as a private key/);
  });

  test('an RSA-PSS key is refused with RS256 (it can only make PS signatures)', () => {
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    configError(
      { ...base, privateKey: pss.privateKey, algorithm: 'RS256' },
      /`algorithm` is RS256, which does not match the rsa-pss key/,
    );
    assert.doesNotThrow(() => createSessionAuth({ ...base, privateKey: pss.privateKey }));
  });

  test('ES384 is inferred from a P-384 key', () => {
    assert.doesNotThrow(() => createSessionAuth({ ...base, privateKey: p384.privateKey }));
  });
});
