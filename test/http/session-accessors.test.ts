// `auth.sessionOf(req)` and `auth.getAuth(req)` give the session of their own instance only: never the session of
// another instance on the same app (a user area and an admin area, each with its cookie and claims), nor a
// payload express-jwt or the app put on `req.auth`. `req.auth` is still set, for plain JavaScript apps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express, { type Request } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { cookieFrom, errorCode, testOptions } from '../support/apps.js';
import { createSessionAuth, isSessionAuthError } from '../../lib/index.js';

describe('session accessors belong to their instance', () => {
  const userAuth = createSessionAuth({
    ...testOptions({ cookie: { secure: false, name: 'user' } }),
    claims: z.object({ role: z.string() }),
  });
  const adminAuth = createSessionAuth({
    ...testOptions({ cookie: { secure: false, name: 'admin' } }),
    claims: z.object({ role: z.literal('admin') }),
  });
  const app = express();
  app.use(userAuth.authenticate);
  app.post('/login', (_req, res, next) => {
    userAuth.login(res, { sub: 'mallory', role: 'user' }).then(() => res.end(), next);
  });
  app.post('/admin/login', (_req, res, next) => {
    adminAuth.login(res, { sub: 'root', role: 'admin' }).then(() => res.end(), next);
  });
  app.get('/admin/page', adminAuth.authenticate, (req, res) => {
    res.json({ admin: adminAuth.getAuth(req) ?? null, user: userAuth.getAuth(req)?.sub ?? null });
  });
  app.get('/admin/strict', adminAuth.authenticate, (req, res) => {
    try {
      res.json(adminAuth.sessionOf(req));
    } catch (err) {
      res.status(401).json({ error: { code: isSessionAuthError(err) ? err.code : 'other' } });
    }
  });
  // What express-jwt (or any code) may have put on req.auth before.
  app.get('/foreign', (req, _res, next) => {
    (req as Request & { auth?: unknown }).auth = { sub: 'forged', role: 'admin' };
    next();
  });
  app.get('/foreign', adminAuth.authenticate, (req, res) => {
    res.json({ admin: adminAuth.getAuth(req) ?? null, raw: (req as Request & { auth?: unknown }).auth });
  });

  test("a user session is not the admin instance's session, on getAuth or sessionOf", async () => {
    const cookie = cookieFrom((await request(app).post('/login')).headers['set-cookie'], 'user');
    const page = await request(app).get('/admin/page').set('Cookie', cookie).expect(200);
    assert.deepEqual(page.body, { admin: null, user: 'mallory' });
    const strict = await request(app).get('/admin/strict').set('Cookie', cookie);
    assert.equal(strict.status, 401);
    assert.equal(errorCode(strict), 'credentials_required');
  });

  test('an admin session is, and req.auth holds the session for plain JavaScript', async () => {
    const cookie = cookieFrom((await request(app).post('/admin/login')).headers['set-cookie'], 'admin');
    const strict = await request(app).get('/admin/strict').set('Cookie', cookie).expect(200);
    assert.equal((strict.body as { sub: string; role: string }).sub, 'root');
    const foreign = await request(app).get('/foreign').set('Cookie', cookie).expect(200);
    assert.equal((foreign.body as { raw: { sub: string } }).raw.sub, 'root', 'req.auth is the session');
  });

  test('a payload someone else put on req.auth is never the session', async () => {
    const foreign = await request(app).get('/foreign').expect(200);
    assert.deepEqual(foreign.body, { admin: null, raw: { sub: 'forged', role: 'admin' } });
  });
});
