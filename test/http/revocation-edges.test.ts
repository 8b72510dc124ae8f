// Sequences an attacker or a rolling deploy would try against logout: each revocation that answered must hold.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import { createSessionAuth, MemoryRevocationStore, type RevocationStore } from '../../lib/index.js';
import { FlakyStore } from '../support/flaky-store.js';
import { buildApp, cookieFrom, errorCode, testOptions, testSecret } from '../support/apps.js';
import { sessionPayload, signRaw } from '../support/tokens.js';

const HOUR = 3600;

describe('a revocation holds for every instance sharing the store (A1, A2)', () => {
  test('a shorter-lived instance revokes a longer-lived token; the revocation outlasts the revoking instance', async () => {
    const store = new MemoryRevocationStore();
    const secret = testSecret();
    const long = createSessionAuth(testOptions({ secret, store, expiresIn: '1h' }));
    const short = createSessionAuth(testOptions({ secret, store, expiresIn: 2 }));
    const longApp = buildApp(express, long);
    const res = await request(longApp).post('/login').send({ sub: 'alice' });
    const cookie = cookieFrom(res.headers['set-cookie']);
    const { sessionId } = res.body as { sessionId: string };
    const other = cookieFrom((await request(longApp).post('/login').send({ sub: 'bob' })).headers['set-cookie']);
    await short.revokeSession(sessionId, { sub: 'alice' });
    await short.revokeUser('bob');
    // What a sweep does once the short instance's lifetime (2 s plus tolerance) has passed.
    store.sweep(Date.now() + 10_000);
    assert.equal(errorCode(await request(longApp).get('/me').set('Cookie', cookie)), 'session_revoked');
    assert.equal(errorCode(await request(longApp).get('/me').set('Cookie', other)), 'logged_out_everywhere');
  });

  test('a token living longer than this instance would sign is over (a shorter expiresIn takes effect at once)', async () => {
    const secret = testSecret();
    const long = createSessionAuth(testOptions({ secret, expiresIn: '1h' }));
    const short = createSessionAuth(testOptions({ secret, expiresIn: '10m' }));
    const cookie = cookieFrom(
      (await request(buildApp(express, long)).post('/login').send({ sub: 'a' })).headers['set-cookie'],
    );
    const res = await request(buildApp(express, short)).get('/me').set('Cookie', cookie);
    assert.equal(res.status, 401);
    assert.equal(errorCode(res), 'token_expired');
  });

  test('logout revokes a signed token this clock calls expired, and one whose extra claims no longer parse', async () => {
    const store = new MemoryRevocationStore();
    const secret = testSecret();
    const auth = createSessionAuth(
      testOptions({ secret, store, clockTolerance: 5, claims: z.object({ role: z.string() }) }),
    );
    const app = buildApp(express, auth);
    const now = Math.floor(Date.now() / 1000);
    const expired = sessionPayload({
      sub: 'carol',
      sid: 'expired-session-000001',
      iat: now - HOUR,
      iat_ms: (now - HOUR) * 1000,
      exp: now - 60,
    });
    const oddClaims = sessionPayload({ sub: 'carol', sid: 'odd-claims-session-0001', role: { nested: true } });
    const expiredOk: Record<string, unknown> = { ...expired, role: 'user' };
    for (const payload of [expiredOk, oddClaims]) {
      const res = await request(app)
        .post('/logout')
        .set('Cookie', `session=${signRaw(payload, secret)}`);
      assert.equal(res.status, 204);
      assert.equal(store.getState('carol', payload.sid as string).sessionRevoked, true, String(payload.sid));
    }
  });

  test('the example pattern revokeSession(sid, { sub, expiresAt: auth.sessionOf(req).expiresAt }) survives clockTolerance', async () => {
    const writes: Date[] = [];
    const inner = new MemoryRevocationStore();
    const store: RevocationStore = {
      getState: (sub, sid) => inner.getState(sub, sid),
      revokeUser: (sub, at, until) => inner.revokeUser(sub, at, until),
      revokeSession: (sid, sub, expiresAt) => {
        writes.push(expiresAt);
        inner.revokeSession(sid, sub, expiresAt);
      },
    };
    const auth = createSessionAuth(testOptions({ store, clockTolerance: 5 }));
    const app = buildApp(express, auth);
    app.post('/end', auth.requireAuth, (req, res, next) => {
      const { sessionId, sub, expiresAt } = auth.sessionOf(req);
      auth.revokeSession(sessionId, { sub, expiresAt }).then(() => res.sendStatus(204), next);
    });
    const login = await request(app).post('/login').send({ sub: 'dan' });
    const cookie = cookieFrom(login.headers['set-cookie']);
    const exp = JSON.parse(Buffer.from(cookie.split('.')[1]!, 'base64url').toString()) as { exp: number };
    assert.equal((await request(app).post('/end').set('Cookie', cookie)).status, 204);
    assert.ok(writes[0]!.getTime() >= exp.exp * 1000 + 300_000, 'the entry outlives exp by the largest tolerance');
  });
});

describe('duplicate cookies of the session name (A3)', () => {
  const setup = () => {
    const store = new MemoryRevocationStore();
    const auth = createSessionAuth(testOptions({ store }));
    const app = buildApp(express, auth);
    app.post('/sessions/revoke-others', auth.revokeOtherSessions);
    const login = async (sub: string) =>
      cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
    return { app, login };
  };

  test('logout ends a session cookie sent as a `j:` JSON string, which authenticates through cookie-parser', async () => {
    const { app, login } = setup();
    const cookie = await login('alice');
    const json = `session=j:${JSON.stringify(cookie.slice('session='.length))}`;
    assert.equal((await request(app).get('/me').set('Cookie', json)).status, 200, 'the JSON form authenticates');
    assert.equal((await request(app).post('/logout').set('Cookie', json)).status, 204);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), 'session_revoked');
  });

  test('logout ends the real session cookie behind junk values, and behind 9 valid planted ones, sent first', async () => {
    const { app, login } = setup();
    for (const junk of [8, 15]) {
      const cookie = await login('alice');
      const values = Array.from({ length: junk }, (_, i) => `session=junk-${i}.e30.x`);
      const res = await request(app)
        .post('/logout')
        .set('Cookie', [...values, cookie].join('; '));
      assert.equal(res.status, 204);
      assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), 'session_revoked', `${junk}`);
    }
    const planted = await Promise.all(Array.from({ length: 9 }, () => login('mallory')));
    const victim = await login('victim');
    assert.equal(
      (
        await request(app)
          .post('/logout')
          .set('Cookie', [...planted, victim].join('; '))
      ).status,
      204,
    );
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', victim)), 'session_revoked');
  });

  test('more session cookies than a browser sends (over 16) are refused with 400 too_many_cookies, nothing changed', async () => {
    const { app, login } = setup();
    const cookie = await login('alice');
    const other = await login('alice');
    const values = Array.from({ length: 16 }, (_, i) => `session=junk-${i}.e30.x`);
    for (const path of ['/logout', '/logout-all', '/sessions/revoke-others']) {
      const res = await request(app)
        .post(path)
        .set('Cookie', [...values, cookie].join('; '));
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res), 'too_many_cookies', path);
    }
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200, 'nothing was revoked');
    assert.equal((await request(app).get('/me').set('Cookie', other)).status, 200);
  });

  test("revokeOtherSessions with a planted cookie sent first also ends the victim's other sessions", async () => {
    const { app, login } = setup();
    const planted = await login('mallory');
    const mallorysOther = await login('mallory');
    const victim = await login('victim');
    const stolenCopy = await login('victim'); // the victim's other device, or a thief's copy of it
    const res = await request(app).post('/sessions/revoke-others').set('Cookie', `${planted}; ${victim}`);
    assert.equal(res.status, 204);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', stolenCopy)), 'session_revoked');
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', mallorysOther)), 'session_revoked');
    assert.equal((await request(app).get('/me').set('Cookie', victim)).status, 200, 'the sessions sent are kept');
    assert.equal((await request(app).get('/me').set('Cookie', planted)).status, 200);
  });

  test('logout with a planted cookie sent first still ends the victim’s own session', async () => {
    const { app, login } = setup();
    const planted = await login('mallory');
    const victim = await login('victim');
    const res = await request(app).post('/logout').set('Cookie', `${planted}; ${victim}`);
    assert.equal(res.status, 204);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', victim)), 'session_revoked');
  });

  test('logoutAll with a planted cookie sent first logs the victim out everywhere too', async () => {
    const { app, login } = setup();
    const planted = await login('mallory');
    const victim = await login('victim');
    const victimLaptop = await login('victim');
    const res = await request(app).post('/logout-all').set('Cookie', `${planted}; ${victim}`);
    assert.equal(res.status, 204);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', victimLaptop)), 'logged_out_everywhere');
  });

  test('with secure cookies the default name is __Host-session (a subdomain cannot plant it)', async () => {
    const auth = createSessionAuth({ secret: testSecret(), store: new MemoryRevocationStore() });
    const res = await request(buildApp(express, auth)).post('/login').send({ sub: 'a' });
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    assert.match(
      setCookie[0] ?? '',
      /^__Host-session=[^;]+; Max-Age=3600; Expires=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const withDomain = createSessionAuth({
      secret: testSecret(),
      store: new MemoryRevocationStore(),
      cookie: { domain: 'example.com' },
    });
    const res2 = await request(buildApp(express, withDomain)).post('/login').send({ sub: 'a' });
    assert.match(([] as string[]).concat(res2.headers['set-cookie'] ?? [])[0] ?? '', /^__Secure-session=/);
  });
});

describe('bad input at sign-in gets a clear answer', () => {
  test('a sub so long that browsers would drop the cookie is refused at login, before anything is registered', async () => {
    const store = new MemoryRevocationStore();
    const auth = createSessionAuth(testOptions({ store }));
    const app = buildApp(express, auth);
    app.use(((error, _req, res, _next) => {
      res.status(400).json({ message: (error as Error).message });
    }) as express.ErrorRequestHandler);
    const res = await request(app)
      .post('/login')
      .send({ sub: 'x'.repeat(5000) });
    assert.equal(res.status, 400);
    assert.match((res.body as { message: string }).message, /would set a session cookie of \d+ bytes; browsers drop/);
    assert.equal(store.registrySize, 0, 'no device was registered');
    const ok = await request(app)
      .post('/login')
      .send({ sub: 'x'.repeat(2000) });
    assert.equal((await request(app).get('/me').set('Cookie', cookieFrom(ok.headers['set-cookie']))).status, 200);
  });
});

describe('untested corners (D12)', () => {
  test('logoutAll when the read works but the write fails: 503 and the cookie is kept', async () => {
    const store = new FlakyStore();
    const auth = createSessionAuth(testOptions({ store, storeTimeoutMs: 300 }));
    const app = buildApp(express, auth);
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'erin' })).headers['set-cookie']);
    const realRevoke = store.revokeUser.bind(store);
    store.revokeUser = () => Promise.reject(new Error('write refused (simulated)'));
    const res = await request(app).post('/logout-all').set('Cookie', cookie);
    assert.equal(res.status, 503);
    assert.equal(errorCode(res), 'revocation_unavailable');
    assert.equal(res.headers['set-cookie'], undefined);
    store.revokeUser = realRevoke;
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
    store.close();
  });

  test('a correctly signed token without exp is invalid_claims; a valid signed token over 8 kB is invalid_token', async () => {
    const secret = testSecret();
    const app = buildApp(express, createSessionAuth(testOptions({ secret })));
    const noExp = sessionPayload();
    delete noExp.exp;
    const res = await request(app)
      .get('/me')
      .set('Cookie', `session=${signRaw(noExp, secret)}`);
    assert.equal(errorCode(res), 'invalid_claims');
    const huge = signRaw(sessionPayload({ padding: 'x'.repeat(9000) }), secret);
    assert.ok(huge.length > 8192);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', `session=${huge}`)), 'invalid_token');
  });

  test('clockTolerance: a token just past exp is accepted within the tolerance and still revocable', async () => {
    const secret = testSecret();
    const auth = createSessionAuth(testOptions({ secret, clockTolerance: 30 }));
    const app = buildApp(express, auth);
    const now = Math.floor(Date.now() / 1000);
    const token = signRaw(
      sessionPayload({
        sub: 'fay',
        sid: 'tolerated-session-00001',
        iat: now - 60,
        iat_ms: (now - 60) * 1000,
        exp: now - 5,
      }),
      secret,
    );
    assert.equal((await request(app).get('/me').set('Cookie', `session=${token}`)).status, 200);
    assert.equal((await request(app).post('/logout').set('Cookie', `session=${token}`)).status, 204);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', `session=${token}`)), 'session_revoked');
  });

  test('a custom cookie name, path and domain are read, set and expired over HTTP', async () => {
    const auth = createSessionAuth(
      testOptions({ cookie: { secure: false, name: 'sid', path: '/app', domain: 'example.com' } }),
    );
    const app = buildApp(express, auth);
    const res = await request(app).post('/login').send({ sub: 'gus' });
    const line = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';
    assert.match(
      line,
      /^sid=[^;]+; Max-Age=3600; Expires=[^;]+; Path=\/app; Domain=example.com; HttpOnly; SameSite=Lax$/,
    );
    const cookie = cookieFrom(res.headers['set-cookie'], 'sid');
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
    assert.equal(
      errorCode(await request(app).get('/me').set('Cookie', cookie.replace('sid=', 'session='))),
      'credentials_required',
    );
    const out = await request(app).post('/logout').set('Cookie', cookie);
    assert.match(
      ([] as string[]).concat(out.headers['set-cookie'] ?? [])[0] ?? '',
      /^sid=; Max-Age=0; .*Path=\/app; Domain=example.com;/,
    );
  });

  test('trust proxy: the CSRF check compares the Origin with the forwarded https origin', async () => {
    const auth = createSessionAuth(testOptions());
    const app = buildApp(express, auth);
    app.set('trust proxy', true);
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'hal' })).headers['set-cookie']);
    const viaProxy = (origin: string) =>
      request(app)
        .post('/logout')
        .set('Cookie', cookie)
        .set('Host', 'app.example.com')
        .set('X-Forwarded-Proto', 'https')
        .set('Origin', origin);
    assert.equal((await viaProxy('http://app.example.com')).status, 403);
    assert.equal((await viaProxy('https://app.example.com')).status, 204);
  });
});

describe('found by an independent review', () => {
  test('a verify-only instance never renews, so a token past renewAfter is no 500', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    let clock = Date.now();
    const now = () => clock;
    const store = new MemoryRevocationStore();
    const signer = createSessionAuth(
      testOptions({ secret: undefined, privateKey: ec.privateKey, store, now, expiresIn: '1h' }),
    );
    const verifier = createSessionAuth(
      testOptions({ secret: undefined, publicKey: ec.publicKey, store, now, expiresIn: '1h' }),
    );
    const cookie = cookieFrom(
      (await request(buildApp(express, signer)).post('/login').send({ sub: 'alice' })).headers['set-cookie'],
    );
    const vApp = buildApp(express, verifier);
    assert.equal((await request(vApp).get('/me').set('Cookie', cookie)).status, 200);
    clock += 31 * 60_000; // past renewAfter (default 30m), still valid
    const res = await request(vApp).get('/me').set('Cookie', cookie);
    assert.equal(res.status, 200, `got ${res.status}`);
  });

  test('revokeSession on a short-maxAge instance holds on a long-lifetime instance (the registry gives the session end)', async () => {
    let clock = Date.now();
    const now = () => clock;
    const store = new MemoryRevocationStore({ now });
    const secret = testSecret();
    const a = createSessionAuth(
      testOptions({ secret, store, now, expiresIn: '30d', maxAge: '60d', renewAfter: false }),
    );
    const b = createSessionAuth(testOptions({ secret, store, now, expiresIn: '1h' })); // maxAge 7d
    const appA = buildApp(express, a);
    const login = await request(appA).post('/login').send({ sub: 'alice' });
    const cookie = cookieFrom(login.headers['set-cookie']);
    const sessionId = (login.body as { sessionId: string }).sessionId;
    await b.revokeSession(sessionId, { sub: 'alice' }); // e.g. the devices page served by instance B -> success
    assert.equal((await request(appA).get('/me').set('Cookie', cookie)).status, 401);
    clock += 8 * 86_400_000; // token (exp +30d) still valid on A
    const res = await request(appA).get('/me').set('Cookie', cookie);
    assert.equal(res.status, 401, `revoked session accepted again: ${res.status}`);
  });

  test("a `sat` or `pwd` far after its token's issue time counts as at most 300 s after it (the largest skew)", async () => {
    const secret = testSecret();
    let clock = Date.now();
    const now = () => clock;
    const auth = createSessionAuth(testOptions({ secret, now, store: new MemoryRevocationStore({ now }) }));
    const app = buildApp(express, auth);
    app.get('/fresh', auth.requireFreshAuth('5m'), (_req, res) => void res.sendStatus(204));
    const ahead = clock + 3 * 86_400_000; // signed by an instance whose clock was days ahead, or a buggy signer
    const cookie = `session=${signRaw(sessionPayload({ iat_ms: clock, sat: ahead, sxp: ahead + 86_400_000, pwd: ahead }), secret)}`;
    clock += 301_000 + 300_000; // past the skew allowance, and more than 5 minutes after any real password entry
    assert.equal(
      (await request(app).get('/fresh').set('Cookie', cookie)).status,
      401,
      'a pwd far ahead is not fresh for ever',
    );
    const logoutAll = await request(app).post('/logout-all').set('Cookie', cookie);
    assert.equal(logoutAll.status, 204, JSON.stringify(logoutAll.body));
    const res = await request(app).get('/me').set('Cookie', cookie);
    assert.equal(res.status, 401, `survived logoutAll: ${res.status}`);
  });

  test('logout of a token whose sxp is beyond the Date range is no 500', async () => {
    const secret = testSecret();
    const auth = createSessionAuth(testOptions({ secret }));
    const app = buildApp(express, auth);
    const token = signRaw(sessionPayload({ sxp: 9_000_000_000_000_000 }), secret);
    const res = await request(app).post('/logout').set('Cookie', `session=${token}`);
    assert.notEqual(res.status, 500, 'logout answered 500');
  });

  test('sign-ins of one account cannot fill the memory budget of revocations', async () => {
    const store = new MemoryRevocationStore({ maxEntries: 50 });
    const auth = createSessionAuth(testOptions({ store }));
    const res = { append: () => undefined, setHeader: () => undefined, headersSent: false } as never;
    const victim = await auth.login(res, { sub: 'victim' });
    for (let i = 0; i < 49; i++) await auth.login(res, { sub: 'attacker' }); // repeated sign-ins, one account
    await assert.doesNotReject(auth.revokeSession(victim.sessionId, { sub: 'victim' }), 'the victim can still log out');
  });
});
