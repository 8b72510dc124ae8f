// The Origin / Sec-Fetch-Site check on logout, logoutAll and auth.verifyOrigin.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { buildApp, cookieFrom, createTestAuth, EXPRESS_VERSIONS } from '../support/apps.js';

for (const { name, express } of EXPRESS_VERSIONS) {
  describe(`CSRF check on logout routes (${name})`, () => {
    const auth = createTestAuth({ trustedOrigins: ['https://app.example.com'] });
    const app = buildApp(express, auth);
    app.post('/form', auth.verifyOrigin, (_req, res) => {
      res.json({ ok: true });
    });
    const login = async () =>
      cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);

    for (const route of ['/logout', '/logout-all']) {
      test(`${route}: a cross-site Origin gets 403 csrf_rejected and the session survives`, async () => {
        const cookie = await login();
        for (const headers of [
          { Origin: 'https://evil.example' },
          { Origin: 'null' },
          { Origin: 'null', 'Sec-Fetch-Site': 'same-site' },
          { Origin: 'http://127.0.0.1.evil.example' },
          { 'Sec-Fetch-Site': 'cross-site' },
          { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'same-origin' },
        ]) {
          const res = await request(app).post(route).set('Cookie', cookie).set(headers);
          assert.equal(res.status, 403, JSON.stringify(headers));
          assert.equal((res.body as { error: { code: string } }).error.code, 'csrf_rejected');
          assert.equal(res.headers['set-cookie'], undefined, 'a rejected request must not clear the cookie');
        }
        assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
      });

      test(`${route}: same origin, a trusted origin, same-site fetch metadata and no headers at all pass`, async () => {
        const cases: Record<string, string>[] = [
          {},
          { 'Sec-Fetch-Site': 'same-origin' },
          { 'Sec-Fetch-Site': 'none' },
          { Origin: 'https://app.example.com', 'Sec-Fetch-Site': 'cross-site' },
          // Chromium's same-origin form post from a page with Referrer-Policy: no-referrer (helmet's default)
          { Origin: 'null', 'Sec-Fetch-Site': 'same-origin' },
        ];
        for (const headers of cases) {
          const res = await request(app)
            .post(route)
            .set('Cookie', await login())
            .set(headers);
          assert.equal(res.status, 204, JSON.stringify(headers));
        }
        const agent = request(app);
        const sameOrigin = await agent
          .post(route)
          .set('Cookie', await login())
          .set('Host', 'shop.example.com:8080')
          .set('Origin', 'http://shop.example.com:8080');
        assert.equal(sameOrigin.status, 204);
      });
    }

    test('verifyOrigin guards an app route the same way', async () => {
      assert.equal((await request(app).post('/form').set('Origin', 'https://evil.example')).status, 403);
      assert.equal((await request(app).post('/form').set('Sec-Fetch-Site', 'same-origin')).status, 200);
    });
  });
}
