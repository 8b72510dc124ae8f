// authenticate + requireAuth through real Express 5 and Express 4 apps: every way a cookie can be bad.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import request from 'supertest';
import { z } from 'zod';
import { createSessionAuth, MemoryRevocationStore } from '../../lib/index.js';
import { buildApp, cookieFrom, createTestAuth, EXPRESS_VERSIONS, testOptions, testSecret } from '../support/apps.js';
import { hmacToken, sessionPayload, signRaw, tamperPayload, unsignedToken } from '../support/tokens.js';

function expectError(res: request.Response, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body as object), ['error']);
  assert.equal((res.body as { error: { code: string } }).error.code, code);
  assert.equal(typeof (res.body as { error: { message: string } }).error.message, 'string');
}

function expectCookieExpired(res: request.Response): void {
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  assert.equal(setCookie.length, 1, `expected one Set-Cookie, got ${JSON.stringify(setCookie)}`);
  assert.match(
    setCookie[0] ?? '',
    /^session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/; HttpOnly; SameSite=Lax$/,
  );
}

for (const { name, express } of EXPRESS_VERSIONS) {
  describe(`authenticate and requireAuth (${name})`, () => {
    const secret = testSecret();
    const auth = createTestAuth({ secret });
    const app = buildApp(express, auth);

    async function loginCookie(sub = 'alice'): Promise<string> {
      const res = await request(app).post('/login').send({ sub });
      assert.equal(res.status, 200);
      return cookieFrom(res.headers['set-cookie']);
    }

    test('a valid cookie sets a typed req.auth', async () => {
      const before = Date.now();
      const cookie = await loginCookie();
      const res = await request(app).get('/me').set('Cookie', cookie);
      assert.equal(res.status, 200);
      const body = res.body as { sub: string; sessionId: string; issuedAt: string; expiresAt: string };
      assert.equal(body.sub, 'alice');
      assert.match(body.sessionId, /^[A-Za-z0-9_-]{22}$/);
      assert.ok(Date.parse(body.issuedAt) >= before && Date.parse(body.issuedAt) <= Date.now());
      const lifetime = Date.parse(body.expiresAt) - Date.parse(body.issuedAt);
      assert.ok(lifetime > 3599_000 && lifetime <= 3600_000, String(lifetime));
    });

    test('no cookie: public routes work, requireAuth answers credentials_required without touching cookies', async () => {
      const pub = await request(app).get('/public');
      assert.equal(pub.status, 200);
      assert.deepEqual(pub.body, { auth: null });
      const res = await request(app).get('/me');
      expectError(res, 401, 'credentials_required');
      assert.equal(res.headers['set-cookie'], undefined);
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    test('garbage cookie: invalid_token, public route still works and the cookie is expired', async () => {
      const pub = await request(app).get('/public').set('Cookie', 'session=not-a-jwt');
      assert.equal(pub.status, 200);
      assert.deepEqual(pub.body, { auth: null });
      expectCookieExpired(pub);
      const res = await request(app).get('/me').set('Cookie', 'session=not-a-jwt');
      expectError(res, 401, 'invalid_token');
      expectCookieExpired(res);
    });

    test('a tampered payload (sub changed, signature kept) is invalid_token', async () => {
      const token = (await loginCookie()).slice('session='.length);
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${tamperPayload(token, { sub: 'admin' })}`);
      expectError(res, 401, 'invalid_token');
    });

    test('alg: none is invalid_token', async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${unsignedToken(sessionPayload())}`);
      expectError(res, 401, 'invalid_token');
    });

    test('a token signed with another secret is invalid_token', async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${signRaw(sessionPayload(), testSecret())}`);
      expectError(res, 401, 'invalid_token');
    });

    test('an algorithm other than the pinned one (HS512 with the right secret) is invalid_token', async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${signRaw(sessionPayload(), secret, 'HS512')}`);
      expectError(res, 401, 'invalid_token');
    });

    test('a 10 kB garbage cookie is invalid_token, not a crash', async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${'A'.repeat(10_240)}`);
      expectError(res, 401, 'invalid_token');
      const dotted = await request(app)
        .get('/me')
        .set('Cookie', `session=${'eyJ'.repeat(1200)}.${'x'.repeat(3000)}.${'y'.repeat(3000)}`);
      expectError(dotted, 401, 'invalid_token');
    });

    test('a broken percent-encoded cookie is invalid_token', async () => {
      const res = await request(app).get('/me').set('Cookie', 'session=%E0%A4%A; other=%zz');
      expectError(res, 401, 'invalid_token');
    });

    test('a cookie-parser JSON cookie (j:...) is not taken as a token', async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${encodeURIComponent('j:{"sub":"alice"}')}`);
      expectError(res, 401, 'invalid_token');
    });

    test('two cookies with the same name: the first one is used, as browsers send the most specific first', async () => {
      const good = await loginCookie('alice');
      const first = await request(app).get('/me').set('Cookie', `${good}; session=garbage`);
      assert.equal(first.status, 200);
      assert.equal((first.body as { sub: string }).sub, 'alice');
      const second = await request(app).get('/me').set('Cookie', `session=garbage; ${good}`);
      expectError(second, 401, 'invalid_token');
    });

    test('an expired token is token_expired', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = signRaw(sessionPayload({ iat: now - 7200, iat_ms: (now - 7200) * 1000, exp: now - 3600 }), secret);
      const res = await request(app).get('/me').set('Cookie', `session=${token}`);
      expectError(res, 401, 'token_expired');
      expectCookieExpired(res);
    });

    test('claims of the wrong type are invalid_claims', async () => {
      for (const bad of [{ sub: 42 }, { sid: ['x'] }, { iat_ms: 'yesterday' }, { sub: '' }, { iat_ms: undefined }]) {
        const res = await request(app)
          .get('/me')
          .set('Cookie', `session=${signRaw(sessionPayload(bad), secret)}`);
        expectError(res, 401, 'invalid_claims');
      }
    });

    test('the Authorization header is never read (cookie sessions only)', async () => {
      const token = (await loginCookie()).slice('session='.length);
      const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
      expectError(res, 401, 'credentials_required');
    });

    test('a CORS preflight carrying the cookie leaves it alone', async () => {
      const cookie = await loginCookie();
      const res = await request(app)
        .options('/me')
        .set('Cookie', cookie)
        .set('Origin', 'https://spa.example.com')
        .set('Access-Control-Request-Headers', 'authorization');
      assert.equal(res.headers['set-cookie'], undefined);
      assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
    });

    test('error bodies and headers never contain the token', async () => {
      const token = signRaw(sessionPayload({ exp: 1 }), secret);
      const res = await request(app).get('/me').set('Cookie', `session=${token}`);
      assert.ok(!res.text.includes(token));
      assert.ok(!JSON.stringify(res.headers).includes(token));
    });
  });
}

describe('issuer, audience and clock tolerance', () => {
  const secret = testSecret();
  const auth = createTestAuth({ secret, issuer: 'https://id.example.com', audience: 'shop' });
  const app = buildApp(EXPRESS_VERSIONS[0].express, auth);

  test('tokens carry and require iss and aud', async () => {
    const login = await request(app).post('/login').send({ sub: 'alice' });
    const token = cookieFrom(login.headers['set-cookie']).slice('session='.length);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(payload.iss, 'https://id.example.com');
    assert.equal(payload.aud, 'shop');
    assert.equal((await request(app).get('/me').set('Cookie', `session=${token}`)).status, 200);
  });

  for (const [label, claims] of [
    ['wrong issuer', { iss: 'https://evil.example.com', aud: 'shop' }],
    ['wrong audience', { iss: 'https://id.example.com', aud: 'admin' }],
    ['no issuer', { aud: 'shop' }],
  ] as const) {
    test(`${label} is invalid_token`, async () => {
      const res = await request(app)
        .get('/me')
        .set('Cookie', `session=${signRaw(sessionPayload(claims), secret)}`);
      assert.equal(res.status, 401);
      assert.equal((res.body as { error: { code: string } }).error.code, 'invalid_token');
    });
  }

  test('clockTolerance accepts a token expired by less than the tolerance', async () => {
    const tolerant = createTestAuth({ secret, clockTolerance: 30 });
    const tolerantApp = buildApp(EXPRESS_VERSIONS[0].express, tolerant);
    const now = Math.floor(Date.now() / 1000);
    const token = signRaw(sessionPayload({ exp: now - 10 }), secret);
    assert.equal((await request(tolerantApp).get('/me').set('Cookie', `session=${token}`)).status, 200);
    assert.equal((await request(app).get('/me').set('Cookie', `session=${token}`)).status, 401);
  });
});

describe('asymmetric keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (k: typeof rsa.publicKey) => k.export({ type: 'spki', format: 'pem' }).toString();

  test('RS256 with a PEM key pair: login and verify', async () => {
    const auth = createSessionAuth(
      testOptions({
        secret: undefined,
        privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        publicKey: pem(rsa.publicKey),
      }),
    );
    const app = buildApp(EXPRESS_VERSIONS[0].express, auth);
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
    assert.match(Buffer.from(cookie.split('=')[1]?.split('.')[0] ?? '', 'base64url').toString(), /"alg":"RS256"/);
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
  });

  test('HS/RS algorithm confusion: an HS256 token keyed with the RSA public key is invalid_token', async () => {
    const auth = createSessionAuth(
      testOptions({ secret: undefined, privateKey: rsa.privateKey, publicKey: rsa.publicKey }),
    );
    const app = buildApp(EXPRESS_VERSIONS[0].express, auth);
    const forged = hmacToken(sessionPayload(), pem(rsa.publicKey));
    const res = await request(app).get('/me').set('Cookie', `session=${forged}`);
    assert.equal(res.status, 401);
    assert.equal((res.body as { error: { code: string } }).error.code, 'invalid_token');
  });

  test('ES256 inferred from a P-256 key; a verify-only instance accepts its tokens but cannot sign', async () => {
    const signer = createSessionAuth(testOptions({ secret: undefined, privateKey: ec.privateKey }));
    const store = new MemoryRevocationStore();
    const verifier = createSessionAuth(testOptions({ secret: undefined, publicKey: ec.publicKey, store }));
    const signerApp = buildApp(EXPRESS_VERSIONS[0].express, signer);
    const verifierApp = buildApp(EXPRESS_VERSIONS[0].express, verifier);
    const cookie = cookieFrom((await request(signerApp).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
    assert.match(Buffer.from(cookie.split('=')[1]?.split('.')[0] ?? '', 'base64url').toString(), /"alg":"ES256"/);
    assert.equal((await request(verifierApp).get('/me').set('Cookie', cookie)).status, 200);
    await assert.rejects(verifier.login({} as never, { sub: 'alice' }), /can verify sessions but not sign them/);
  });
});

describe('extra claims', () => {
  const claims = z.object({ role: z.enum(['user', 'admin']) });
  const secret = testSecret();
  const auth = createSessionAuth({ ...testOptions({ secret }), claims });
  const app = EXPRESS_VERSIONS[0].express();
  app.use(auth.authenticate);
  app.post('/login', (_req, res, next) => {
    auth.login(res, { sub: 'alice', role: 'admin' }).then(() => res.end(), next);
  });
  app.get('/role', auth.requireAuth, (req, res) => {
    const info = auth.getAuth(req);
    res.json({ role: info?.role, sub: info?.sub });
  });

  test('are signed, validated and typed on req.auth', async () => {
    const cookie = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
    const res = await request(app).get('/role').set('Cookie', cookie);
    assert.deepEqual(res.body, { role: 'admin', sub: 'alice' });
  });

  test('a token whose claims fail the schema is invalid_claims', async () => {
    const res = await request(app)
      .get('/role')
      .set('Cookie', `session=${signRaw(sessionPayload({ role: 'root' }), secret)}`);
    assert.equal(res.status, 401);
    assert.equal((res.body as { error: { code: string } }).error.code, 'invalid_claims');
  });

  test('login rejects claims that fail the schema, a missing sub and reserved claims', async () => {
    const res = { append: () => undefined, setHeader: () => undefined, headersSent: false } as never;
    await assert.rejects(
      auth.login(res, { sub: 'alice', role: 'root' as 'admin' }),
      /do not match the `claims` schema: role/,
    );
    await assert.rejects(
      auth.login(res, { sub: '' } as never),
      /`claims.sub` of auth.login\(res, claims\) must be a non-empty string/,
    );
    await assert.rejects(auth.login(res, { sub: 'a', role: 'user', sid: 'mine' } as never), /cannot set sid/);
    const plain = createTestAuth();
    await assert.rejects(plain.login(res, { sub: 'a', role: 'user' } as never), /no `claims` schema/);
  });
});

describe('claims schemas with refinements and transforms', () => {
  const secret = testSecret();
  const claims = z.object({
    roles: z.string().transform((value) => value.split(',')),
    ref: z
      .string()
      .refine((value) => decodeURIComponent(value).length > 0)
      .optional(),
  });
  const auth = createSessionAuth({ ...testOptions({ secret }), claims });
  const app = EXPRESS_VERSIONS[0].express();
  app.post('/login', (_req, res, next) => {
    auth.login(res, { sub: 'alice', roles: 'admin,billing' }).then(() => res.end(), next);
  });
  app.get('/me', auth.requireAuth, (req, res) => {
    res.json({ roles: auth.getAuth(req)?.roles });
  });

  test('a transform sees its input on every request (the token carries what login was given)', async () => {
    const cookie = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
    assert.deepEqual((await request(app).get('/me').set('Cookie', cookie)).body, { roles: ['admin', 'billing'] });
  });

  test('a refinement that throws on a token is invalid_claims, not a crash', async () => {
    const token = signRaw(sessionPayload({ roles: 'user', ref: '%E0' }), secret);
    const res = await request(app).get('/me').set('Cookie', `session=${token}`);
    assert.equal(res.status, 401);
    assert.equal((res.body as { error: { code: string } }).error.code, 'invalid_claims');
  });
});
