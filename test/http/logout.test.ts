// logout, logoutAll and programmatic revocation through real Express 5 and Express 4 apps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { buildApp, cookieFrom, createTestAuth, errorCode, EXPRESS_VERSIONS } from '../support/apps.js';

const EXPIRED = /^session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/; HttpOnly; SameSite=Lax$/;

function setCookies(res: request.Response): string[] {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []);
}

for (const { name, express } of EXPRESS_VERSIONS) {
  describe(`logout and logoutAll (${name})`, () => {
    const auth = createTestAuth();
    const app = buildApp(express, auth);
    const login = async (sub = 'alice') =>
      cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
    const me = (cookie: string) => request(app).get('/me').set('Cookie', cookie);

    test('logout ends this device only: 204, cookie expired, the copied cookie is session_revoked', async () => {
      const phone = await login();
      const laptop = await login();
      const res = await request(app).post('/logout').set('Cookie', phone);
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.deepEqual(setCookies(res).length, 1);
      assert.match(setCookies(res)[0] ?? '', EXPIRED);
      const replay = await me(phone);
      assert.equal(replay.status, 401);
      assert.equal(errorCode(replay), 'session_revoked');
      assert.equal((await me(laptop)).status, 200);
    });

    test('logout is idempotent: no cookie, a garbage cookie or an already revoked one all get 204 and an expired cookie', async () => {
      const revoked = await login();
      assert.equal((await request(app).post('/logout').set('Cookie', revoked)).status, 204);
      for (const cookie of [undefined, 'session=garbage', revoked]) {
        const req = request(app).post('/logout');
        const res = cookie === undefined ? await req : await req.set('Cookie', cookie);
        assert.equal(res.status, 204);
        assert.match(setCookies(res)[0] ?? '', EXPIRED);
        assert.equal(setCookies(res).length, 1);
      }
    });

    test('logoutAll rejects every earlier token of the user with logged_out_everywhere, not other users', async () => {
      const devices = [await login(), await login(), await login()];
      const bob = await login('bob');
      const res = await request(app)
        .post('/logout-all')
        .set('Cookie', devices[0] ?? '');
      assert.equal(res.status, 204);
      assert.match(setCookies(res)[0] ?? '', EXPIRED);
      for (const device of devices) {
        const replay = await me(device);
        assert.equal(replay.status, 401);
        assert.equal(errorCode(replay), 'logged_out_everywhere');
        assert.match(setCookies(replay)[0] ?? '', EXPIRED);
      }
      assert.equal((await me(bob)).status, 200);
      assert.equal((await me(await login())).status, 200, 'a new login after logoutAll works');
    });

    test('logoutAll needs a session: 401 with the reason', async () => {
      const none = await request(app).post('/logout-all');
      assert.equal(none.status, 401);
      assert.equal(errorCode(none), 'credentials_required');
      const loggedOut = await login();
      await request(app).post('/logout').set('Cookie', loggedOut);
      const revoked = await request(app).post('/logout-all').set('Cookie', loggedOut);
      assert.equal(revoked.status, 401);
      assert.equal(errorCode(revoked), 'session_revoked');
    });

    test('a device logged out, then everywhere, still reports session_revoked', async () => {
      const first = await login('dave');
      const second = await login('dave');
      await request(app).post('/logout').set('Cookie', first);
      await request(app).post('/logout-all').set('Cookie', second);
      assert.equal(errorCode(await me(first)), 'session_revoked');
      assert.equal(errorCode(await me(second)), 'logged_out_everywhere');
    });
  });
}

describe('the same-second rule', () => {
  const auth = createTestAuth();
  const app = buildApp(EXPRESS_VERSIONS[0].express, auth);
  const login = async (sub: string) =>
    cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
  const iatOf = (cookie: string) =>
    (JSON.parse(Buffer.from(cookie.split('.')[1] ?? '', 'base64url').toString()) as { iat: number }).iat;

  async function startOfASecond(): Promise<void> {
    while (Date.now() % 1000 > 50) await new Promise((r) => setTimeout(r, 5));
  }

  test('a token issued earlier in the same second as logoutAll is rejected; a login right after it is accepted', async () => {
    // Repeat: each round must land inside one wall-clock second for the test to mean something.
    let rounds = 0;
    for (let attempt = 0; attempt < 10 && rounds < 3; attempt++) {
      await startOfASecond();
      const sub = `same-second-${attempt}`;
      const before = await login(sub);
      const other = await login(sub);
      assert.equal((await request(app).post('/logout-all').set('Cookie', other)).status, 204);
      const after = await login(sub);
      if (iatOf(before) !== iatOf(after)) continue; // crossed a second boundary; try again
      rounds++;
      const rejected = await request(app).get('/me').set('Cookie', before);
      assert.equal(rejected.status, 401);
      assert.equal(errorCode(rejected), 'logged_out_everywhere');
      assert.equal((await request(app).get('/me').set('Cookie', after)).status, 200);
    }
    assert.equal(rounds, 3, 'could not fit logins and logoutAll into one second');
  });

  test('revokeUser resolves only after the clock passed its watermark, so an immediate login is newer', async () => {
    for (let i = 0; i < 50; i++) {
      const at = await auth.revokeUser('tight-loop');
      const cookie = await login('tight-loop');
      assert.ok(Date.now() > at.getTime());
      assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200, `round ${i}`);
    }
  });
});

describe('programmatic revocation', () => {
  const auth = createTestAuth();
  const app = buildApp(EXPRESS_VERSIONS[0].express, auth);

  test('revokeUser (e.g. on password change) logs out every device', async () => {
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'erin' })).headers['set-cookie']);
    const at = await auth.revokeUser('erin');
    assert.ok(at instanceof Date);
    assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), 'logged_out_everywhere');
  });

  test('revokeSession logs out one device by its session id', async () => {
    const res = await request(app).post('/login').send({ sub: 'frank' });
    const { sessionId } = res.body as { sessionId: string };
    const other = cookieFrom((await request(app).post('/login').send({ sub: 'frank' })).headers['set-cookie']);
    await auth.revokeSession(sessionId, { sub: 'frank' });
    assert.equal(
      errorCode(await request(app).get('/me').set('Cookie', cookieFrom(res.headers['set-cookie']))),
      'session_revoked',
    );
    assert.equal((await request(app).get('/me').set('Cookie', other)).status, 200);
    await assert.rejects(auth.revokeSession(sessionId, {} as never), /needs the user id `sub`/);
    await assert.rejects(
      auth.revokeSession({ $ne: '' } as never, { sub: 'frank' }),
      /needs the session id \(`auth.sessionOf\(req\).sessionId`\) as a non-empty string \(got object\)/,
    );
  });
});
