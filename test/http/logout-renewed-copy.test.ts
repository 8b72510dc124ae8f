// A logged-out session stays out for every copy of its cookie, also one renewed after the logout's token:
// the entry lasts until the session's absolute end (`sxp`), not the presented token's `exp`. Found by the
// model-based test; failed while logout sized the entry from the token's `exp`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createSessionAuth, MemoryRevocationStore } from '../../lib/index.js';
import { cookieFrom, testSecret } from '../support/apps.js';

test('a logged-out session stays logged out for a renewed copy of its cookie', async () => {
  let now = (Math.ceil(Date.now() / 1000) + 60) * 1000;
  const store = new MemoryRevocationStore({ now: () => now });
  const auth = createSessionAuth({
    secret: testSecret(),
    store,
    cookie: { secure: false },
    expiresIn: '10m',
    renewAfter: '5m',
    maxAge: '7d',
    logger: { warn: () => {} },
    now: () => now,
  });
  const app = express();
  app.use(auth.authenticate);
  app.post('/login', (_req, res, next) => {
    auth.login(res, { sub: 'alice' }).then(() => res.end(), next);
  });
  app.get('/me', auth.requireAuth, (_req, res) => res.end());
  app.post('/logout', auth.logout);

  const original = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
  now += 6 * 60_000; // past renewAfter: a request with a copy of the cookie (an attacker's) renews it
  const renewed = await request(app).get('/me').set('Cookie', original);
  assert.equal(renewed.status, 200);
  const copy = cookieFrom(renewed.headers['set-cookie']);
  // The user logs out with the cookie they still hold (the original): 204.
  assert.equal((await request(app).post('/logout').set('Cookie', original)).status, 204);
  assert.equal((await request(app).get('/me').set('Cookie', copy)).status, 401, 'revoked right after logout');
  now += 4 * 60_000 + 301_000; // the original's exp + 300 s has passed; the renewed copy is still valid
  const later = await request(app).get('/me').set('Cookie', copy);
  store.close();
  assert.equal(later.status, 401, `the renewed copy of a logged-out session was accepted again (${later.status})`);
});
