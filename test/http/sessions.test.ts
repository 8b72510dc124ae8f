// Sessions people can live with: renewal, absolute lifetime, the device list, the cap, fresh sign-in and key
// rotation, with a controlled clock; and the races where renewal elsewhere resurrects logged-out sessions.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import express, { type Express } from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  createSessionAuth,
  MemoryRevocationStore,
  type RevocationState,
  type RevocationStore,
  type SessionAuth,
  type SessionAuthOptions,
} from '../../lib/index.js';
import { buildApp, cookieFrom, errorCode, testOptions, testSecret } from '../support/apps.js';
import { manualClock } from '../support/clock.js';

const MIN = 60_000;
const setCookies = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
const payloadOf = (cookie: string) =>
  JSON.parse(Buffer.from(cookie.split('=')[1]!.split('.')[1]!, 'base64url').toString()) as Record<string, number>;

function setup(overrides: Partial<SessionAuthOptions> = {}) {
  const clock = manualClock();
  const store = new MemoryRevocationStore({ now: clock.now });
  const auth = createSessionAuth(
    testOptions({ store, now: clock.now, expiresIn: '30m', renewAfter: '10m', maxAge: '2h', ...overrides }),
  );
  const app = buildSessionApp(auth);
  const login = async (sub = 'alice', userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0') => {
    const res = await request(app).post('/login').set('User-Agent', userAgent).send({ sub });
    return cookieFrom(res.headers['set-cookie']);
  };
  const me = (cookie: string) => request(app).get('/me').set('Cookie', cookie);
  return { clock, store, auth, app, login, me };
}

function buildSessionApp(auth: SessionAuth): Express {
  const app = buildApp(express, auth);
  app.get('/sessions', auth.requireAuth, (req, res, next) => {
    auth.listSessions(auth.sessionOf(req).sub).then((sessions) => res.json(sessions), next);
  });
  app.post('/sessions/revoke-others', auth.revokeOtherSessions);
  app.get('/sensitive', auth.requireFreshAuth('5m'), (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/reauthenticate', auth.requireAuth, (req, res, next) => {
    auth.reauthenticate(req, res).then(() => res.sendStatus(204), next);
  });
  return app;
}

/** The cookie the response set, or the one sent when it set none. */
function latest(res: request.Response, sent: string): string {
  const line = setCookies(res).find((c) => c.startsWith('session=') && !c.startsWith('session=;'));
  return line === undefined ? sent : (line.split(';')[0] as string);
}

describe('renewal', () => {
  test('a token older than renewAfter is re-issued: same session and sign-in, new issue time and expiry', async () => {
    const { clock, login, me } = setup();
    const first = await login();
    clock.advance(9 * MIN);
    assert.equal(setCookies(await me(first)).length, 0, 'not renewed before renewAfter');
    clock.advance(2 * MIN);
    const res = await me(first);
    assert.equal(res.status, 200);
    const renewed = latest(res, first);
    assert.notEqual(renewed, first);
    const [a, b] = [payloadOf(first), payloadOf(renewed)];
    assert.equal(b.sid, a.sid);
    assert.equal(b.sat, a.sat);
    assert.equal(b.iat_ms, a.iat_ms! + 11 * MIN);
    assert.equal(b.exp, a.exp! + 11 * 60);
    assert.equal((res.body as { signedInAt: string }).signedInAt, new Date(a.sat!).toISOString());
    assert.match(setCookies(res)[0] ?? '', /; Max-Age=1800;/);
  });

  test('renewal keeps a used session alive past its first token, but never past maxAge', async () => {
    const { clock, login, me } = setup();
    let cookie = await login();
    for (let minutes = 0; minutes < 110; minutes += 11) {
      clock.advance(11 * MIN);
      const res = await me(cookie);
      assert.equal(res.status, 200, `after ${minutes + 11} min`);
      cookie = latest(res, cookie);
    }
    assert.ok(payloadOf(cookie).exp! * 1000 <= payloadOf(cookie).sxp!, 'exp never passes the session end');
    clock.advance(11 * MIN); // 2 h 1 min after sign-in
    assert.equal(errorCode(await me(cookie)), 'token_expired');
  });

  test('an unused session ends after expiresIn (the idle timeout)', async () => {
    const { clock, login, me } = setup();
    const cookie = await login();
    clock.advance(31 * MIN);
    assert.equal(errorCode(await me(cookie)), 'token_expired');
  });

  test('never during an outage, not even with failOpen; renewAfter: false never renews', async () => {
    const clock = manualClock();
    const inner = new MemoryRevocationStore({ now: clock.now });
    let down = false;
    const store: RevocationStore = {
      getState: (sub, sid) => (down ? Promise.reject(new Error('down')) : inner.getState(sub, sid)),
      revokeUser: (...args) => inner.revokeUser(...args),
      revokeSession: (...args) => inner.revokeSession(...args),
    };
    const auth = createSessionAuth(
      testOptions({ store, now: clock.now, expiresIn: '30m', renewAfter: '10m', failOpen: true }),
    );
    const app = buildSessionApp(auth);
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    clock.advance(11 * MIN);
    down = true;
    const res = await request(app).get('/me').set('Cookie', cookie);
    assert.equal(res.status, 200, 'failOpen accepts');
    assert.equal(setCookies(res).length, 0, 'but does not renew');
    const never = setup({ renewAfter: false });
    const c = await never.login();
    never.clock.advance(20 * MIN);
    assert.equal(setCookies(await never.me(c)).length, 0);
  });
});

/** A store whose reads can be held, to run a renewal that is in flight while a logout lands. */
function holdingStore(inner: RevocationStore) {
  let gate: Promise<void> | undefined;
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const store: RevocationStore = {
    async getState(sub, sid, at): Promise<RevocationState> {
      const state = await inner.getState(sub, sid, at); // read before the logout...
      if (gate !== undefined) {
        entered();
        await gate; // ...answered after it
      }
      return state;
    },
    revokeUser: (...a) => inner.revokeUser(...a),
    revokeSession: (...a) => inner.revokeSession(...a),
  };
  return {
    store,
    hold(): Promise<void> {
      gate = new Promise((resolve) => (release = resolve));
      return new Promise((resolve) => (entered = resolve));
    },
    release(): void {
      gate = undefined;
      release();
    },
  };
}

describe('revocation stays exact across renewals', () => {
  for (const which of ['logout', 'logoutAll'] as const) {
    test(`a renewal in flight during ${which} issues a token that is rejected once ${which} answered`, async () => {
      const clock = manualClock();
      const inner = new MemoryRevocationStore({ now: clock.now });
      const holder = holdingStore(inner);
      const options = testOptions({ store: holder.store, now: clock.now, expiresIn: '30m', renewAfter: '10m' });
      const a = buildSessionApp(createSessionAuth(options));
      const b = buildSessionApp(createSessionAuth({ ...options, secret: options.secret }));
      const cookie = cookieFrom((await request(a).post('/login').send({ sub: 'racer' })).headers['set-cookie']);
      clock.advance(11 * MIN);
      const entered = holder.hold();
      const inFlight = request(a)
        .get('/me')
        .set('Cookie', cookie)
        .then((r) => r);
      await entered; // the renewing request has read "not revoked" and waits
      const logoutDone = request(b)
        .post(which === 'logout' ? '/logout' : '/logout-all')
        .set('Cookie', cookie);
      const out = await new Promise<request.Response>((resolve, reject) => {
        // The logout needs a read too (logoutAll authenticates): let reads through from now on.
        setTimeout(() => holder.release(), 20);
        logoutDone.then(resolve, reject);
      });
      assert.equal(out.status, 204);
      const renewedRes = await inFlight;
      assert.equal(renewedRes.status, 200, 'the request that was in flight still answers');
      const renewed = latest(renewedRes, cookie);
      assert.notEqual(renewed, cookie, 'it did renew');
      const code = which === 'logout' ? 'session_revoked' : 'logged_out_everywhere';
      for (const app of [a, b]) {
        assert.equal(errorCode(await request(app).get('/me').set('Cookie', renewed)), code);
        assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), code);
      }
      // Long after the renewed token's own expiry (plus every tolerance), the revocation still holds: a renewal
      // elsewhere could have carried the session up to its absolute end.
      clock.advance(100 * MIN);
      const state = inner.getState('racer', String(payloadOf(renewed).sid));
      assert.equal(which === 'logout' ? state.sessionRevoked : state.lastLogoutAt !== null, true);
    });
  }

  test('after logoutAll, a session signed in before it stays out however often it was renewed; a new sign-in works', async () => {
    const { clock, login, me, app } = setup();
    let cookie = await login('bob');
    for (let i = 0; i < 3; i++) {
      clock.advance(11 * MIN);
      cookie = latest(await me(cookie), cookie);
    }
    assert.equal((await request(app).post('/logout-all').set('Cookie', cookie)).status, 204);
    assert.equal(errorCode(await me(cookie)), 'logged_out_everywhere');
    clock.advance(1);
    assert.equal((await me(await login('bob'))).status, 200);
  });

  test('the same-millisecond rule holds for the sign-in time', async () => {
    const { clock, auth, login, me } = setup();
    const before = await login('carol');
    await auth.revokeUser('carol');
    assert.equal(errorCode(await me(before)), 'logged_out_everywhere');
    clock.advance(1);
    assert.equal((await me(await login('carol'))).status, 200);
  });
});

describe('the device list, ending other sessions, the cap', () => {
  test('listSessions: live sessions newest activity first, with device, times; revoked ones gone', async () => {
    const { clock, app, login, me } = setup();
    const phone = await login('dana', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148');
    clock.advance(MIN);
    const laptop = await login('dana', 'x'.repeat(1000));
    clock.advance(11 * MIN);
    latest(await me(phone), phone); // renewal: last activity moves
    const list = (await request(app).get('/sessions').set('Cookie', laptop)).body as {
      sessionId: string;
      userAgent?: string;
      signedInAt: string;
      lastActiveAt: string;
      expiresAt: string;
    }[];
    assert.deepEqual(
      list.map((s) => s.sessionId),
      [payloadOf(phone).sid, payloadOf(laptop).sid].map(String),
    );
    assert.match(list[0]!.userAgent ?? '', /iPhone/);
    assert.equal(list[1]!.userAgent?.length, 256, 'the user agent is trimmed');
    assert.equal(new Date(list[0]!.lastActiveAt).getTime(), clock.now());
    await request(app).post('/logout').set('Cookie', phone);
    const after = (await request(app).get('/sessions').set('Cookie', laptop)).body as unknown[];
    assert.equal(after.length, 1);
  });

  test('revokeOtherSessions ends every other session of the user, keeps this one, and is CSRF-checked', async () => {
    const { app, login, me } = setup();
    const [a, b, c] = [await login('erin'), await login('erin'), await login('erin')];
    const other = await login('frank');
    const cross = await request(app)
      .post('/sessions/revoke-others')
      .set('Cookie', a)
      .set('Origin', 'https://evil.example');
    assert.equal(cross.status, 403);
    assert.equal((await request(app).post('/sessions/revoke-others')).status, 401);
    assert.equal((await request(app).post('/sessions/revoke-others').set('Cookie', a)).status, 204);
    assert.equal((await me(a)).status, 200);
    for (const cookie of [b, c]) assert.equal(errorCode(await me(cookie)), 'session_revoked');
    assert.equal((await me(other)).status, 200);
  });

  test('maxSessions: a sign-in past the cap ends the least recently active sessions', async () => {
    const { clock, login, me } = setup({ maxSessions: 2 });
    const first = await login('gina');
    clock.advance(MIN);
    const second = await login('gina');
    clock.advance(11 * MIN);
    latest(await me(first), first); // first is now the most recently active
    clock.advance(MIN);
    const third = await login('gina');
    assert.equal(errorCode(await me(second)), 'session_revoked');
    assert.equal((await me(third)).status, 200);
    assert.equal((await me(first)).status, 200);
  });
});

describe('fresh sign-in', () => {
  test('requireFreshAuth: fresh after sign-in, 401 reauthentication_required later, fresh again after reauthenticate', async () => {
    const { clock, app, login } = setup();
    const cookie = await login('hal');
    assert.equal((await request(app).get('/sensitive').set('Cookie', cookie)).status, 200);
    clock.advance(6 * MIN);
    const stale = await request(app).get('/sensitive').set('Cookie', cookie);
    assert.equal(stale.status, 401);
    assert.equal(errorCode(stale), 'reauthentication_required');
    const re = await request(app).post('/reauthenticate').set('Cookie', cookie);
    assert.equal(re.status, 204);
    const fresh = latest(re, cookie);
    assert.equal(payloadOf(fresh).sid, payloadOf(cookie).sid);
    assert.equal(payloadOf(fresh).sat, payloadOf(cookie).sat, 'still the same sign-in');
    assert.equal((await request(app).get('/sensitive').set('Cookie', fresh)).status, 200);
    assert.equal(errorCode(await request(app).get('/sensitive')), 'credentials_required');
  });

  test('reauthenticate is no way around a logout that raced it', async () => {
    const { app, auth, login } = setup();
    const cookie = await login('ivy');
    app.post('/slow-reauth', auth.requireAuth, (req, res, next) => {
      // The password check takes a while; a logout from another tab lands meanwhile.
      request(app)
        .post('/logout')
        .set('Cookie', cookie)
        .then(() => auth.reauthenticate(req, res))
        .then(() => res.sendStatus(204), next);
    });
    const res = await request(app).post('/slow-reauth').set('Cookie', cookie);
    assert.equal(res.status, 401);
    assert.equal(setCookies(res).filter((c) => !c.startsWith('session=;')).length, 0, 'no fresh cookie was set');
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), 'session_revoked');
  });
});

describe('key rotation', () => {
  const keyA = { kid: '2026-05', secret: randomBytes(32) };
  const keyB = { kid: '2026-11', secret: randomBytes(32) };

  test('the first key signs with its kid; every listed key verifies; unknown or missing kid is invalid_token', async () => {
    const store = new MemoryRevocationStore();
    const old = buildSessionApp(createSessionAuth(testOptions({ store, keys: [keyA], secret: undefined })));
    const rotated = buildSessionApp(createSessionAuth(testOptions({ store, keys: [keyB, keyA], secret: undefined })));
    const oldCookie = cookieFrom((await request(old).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    const newCookie = cookieFrom((await request(rotated).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    assert.equal(jwt.decode(newCookie.split('=')[1]!, { complete: true })?.header.kid, '2026-11');
    assert.equal((await request(rotated).get('/me').set('Cookie', oldCookie)).status, 200, 'old key still verifies');
    assert.equal(errorCode(await request(old).get('/me').set('Cookie', newCookie)), 'invalid_token', 'unknown kid');
    const payload = payloadOf(newCookie);
    const noKid = `session=${jwt.sign(payload, keyB.secret, { algorithm: 'HS256' })}`;
    assert.equal(errorCode(await request(rotated).get('/me').set('Cookie', noKid)), 'invalid_token', 'missing kid');
    const wrongKid = `session=${jwt.sign(payload, keyB.secret, { algorithm: 'HS256', keyid: keyA.kid })}`;
    assert.equal(
      errorCode(await request(rotated).get('/me').set('Cookie', wrongKid)),
      'invalid_token',
      'kid of another key',
    );
  });

  test('renewals sign with the new key, so the old kid disappears once expiresIn has passed', async () => {
    const clock = manualClock();
    const store = new MemoryRevocationStore({ now: clock.now });
    const common = { store, now: clock.now, expiresIn: '30m', renewAfter: '10m', secret: undefined };
    const old = buildSessionApp(createSessionAuth(testOptions({ ...common, keys: [keyA] })));
    const rotated = buildSessionApp(createSessionAuth(testOptions({ ...common, keys: [keyB, keyA] })));
    const cookie = cookieFrom((await request(old).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    clock.advance(11 * MIN);
    const renewed = latest(await request(rotated).get('/me').set('Cookie', cookie), cookie);
    assert.equal(jwt.decode(renewed.split('=')[1]!, { complete: true })?.header.kid, '2026-11');
    const newOnly = buildSessionApp(createSessionAuth(testOptions({ ...common, keys: [keyB] })));
    assert.equal((await request(newOnly).get('/me').set('Cookie', renewed)).status, 200);
  });

  test('moving from `secret` to `keys` signs nobody out with keyForTokensWithoutKid; a renewal then carries a kid', async () => {
    const clock = manualClock();
    const store = new MemoryRevocationStore({ now: clock.now });
    const common = { store, now: clock.now, expiresIn: '30m', renewAfter: '10m' };
    const before = buildSessionApp(createSessionAuth(testOptions({ ...common, secret: keyA.secret })));
    const cookie = cookieFrom((await request(before).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    assert.equal(jwt.decode(cookie.split('=')[1]!, { complete: true })?.header.kid, undefined, 'signed without a kid');
    const keys = [keyB, keyA];
    const strict = buildSessionApp(createSessionAuth(testOptions({ ...common, secret: undefined, keys })));
    assert.equal(errorCode(await request(strict).get('/me').set('Cookie', cookie)), 'invalid_token', 'the rule');
    const migrating = buildSessionApp(
      createSessionAuth(testOptions({ ...common, secret: undefined, keys, keyForTokensWithoutKid: keyA.kid })),
    );
    assert.equal((await request(migrating).get('/me').set('Cookie', cookie)).status, 200, 'still signed in');
    clock.advance(11 * MIN);
    const renewed = latest(await request(migrating).get('/me').set('Cookie', cookie), cookie);
    assert.equal(jwt.decode(renewed.split('=')[1]!, { complete: true })?.header.kid, keyB.kid, 'renewed with a kid');
    assert.equal((await request(strict).get('/me').set('Cookie', renewed)).status, 200);
  });

  test('rolling deploys: each documented step is accepted by the instances of the step before and after it', async () => {
    const store = new MemoryRevocationStore();
    const instance = (options: Partial<SessionAuthOptions>) =>
      buildSessionApp(createSessionAuth(testOptions({ store, renewAfter: false, secret: undefined, ...options })));
    // docs/sessions-and-devices.md: from `secret` to `keys` in two steps, then rotation in two steps.
    const steps = [
      { name: 'secret', app: instance({ secret: keyA.secret }) },
      { name: 'keys [A, B], no kid is A', app: instance({ keys: [keyA, keyB], keyForTokensWithoutKid: keyA.kid }) },
      { name: 'keys [B, A], no kid is A', app: instance({ keys: [keyB, keyA], keyForTokensWithoutKid: keyA.kid }) },
      { name: 'keys [B]', app: instance({ keys: [keyB] }) },
    ];
    // During a rollout, instances of two neighbouring steps answer the same users.
    for (let i = 0; i + 1 < steps.length; i++) {
      const [before, after] = [steps[i]!, steps[i + 1]!];
      for (const { signer, checker } of [
        { signer: before, checker: after },
        { signer: after, checker: before },
      ]) {
        const cookie = cookieFrom((await request(signer.app).post('/login').send({ sub: 'a' })).headers['set-cookie']);
        const status = (await request(checker.app).get('/me').set('Cookie', cookie)).status;
        assert.equal(status, 200, `signed by "${signer.name}", checked by "${checker.name}"`);
      }
    }
    // Why two steps: an instance still on `secret` refuses what `[B, A]` signs; `[B]` refuses what `[A, B]` signs
    // (so it comes once those tokens expired, `expiresIn` after the step `[B, A]` is everywhere).
    const fromA = cookieFrom((await request(steps[1]!.app).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    assert.equal(errorCode(await request(steps[3]!.app).get('/me').set('Cookie', fromA)), 'invalid_token');
    const cookie = cookieFrom((await request(steps[2]!.app).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    assert.equal(errorCode(await request(steps[0]!.app).get('/me').set('Cookie', cookie)), 'invalid_token');
  });

  test('misconfigured keys fail at startup, naming the key', () => {
    const store = new MemoryRevocationStore();
    assert.throws(
      () => createSessionAuth({ store, keys: [{ kid: 'a', secret: 'short' }] }),
      /`keys\[0\]\.secret` is 5 bytes long/,
    );
    assert.throws(
      () => createSessionAuth({ store, keys: [keyA, { ...keyB, kid: keyA.kid }] }),
      /`keys\[1\]\.kid` repeats/,
    );
    assert.throws(() => createSessionAuth({ store, keys: [keyA], secret: testSecret() }), /`keys` and `secret`/);
    assert.throws(() => createSessionAuth({ store, keys: [] }), /`keys`/);
  });
});

describe('lifetime options', () => {
  test('maxAge shorter than expiresIn, or renewAfter not shorter than expiresIn, fail at startup', () => {
    const store = new MemoryRevocationStore();
    assert.throws(
      () => createSessionAuth(testOptions({ store, expiresIn: '1h', maxAge: '30m' })),
      /`maxAge` \(1800 s\) must be at least `expiresIn`/,
    );
    assert.throws(
      () => createSessionAuth(testOptions({ store, expiresIn: '1h', renewAfter: '1h' })),
      /`renewAfter` \(3600 s\) must be shorter/,
    );
  });

  test('a session older than this instance allows (a shorter maxAge) is over', async () => {
    const clock = manualClock();
    const store = new MemoryRevocationStore({ now: clock.now });
    const secret = testSecret();
    const long = buildSessionApp(createSessionAuth(testOptions({ store, secret, now: clock.now, maxAge: '30d' })));
    const short = buildSessionApp(createSessionAuth(testOptions({ store, secret, now: clock.now, maxAge: '1d' })));
    const cookie = cookieFrom((await request(long).post('/login').send({ sub: 'a' })).headers['set-cookie']);
    assert.equal(errorCode(await request(short).get('/me').set('Cookie', cookie)), 'token_expired');
  });
});
