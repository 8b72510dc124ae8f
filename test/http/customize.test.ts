// Custom responses (redirects for HTML apps), next(err) error handling, the typed session accessors and the
// mounting-mistake checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import cookieParser from 'cookie-parser';
import request from 'supertest';
import express5 from 'express';
import {
  ConfigError,
  createSessionAuth,
  isConfigError,
  isSessionAuthError,
  SessionAuthError,
} from '../../lib/index.js';
import { buildApp, cookieFrom, createTestAuth, EXPRESS_VERSIONS, testOptions } from '../support/apps.js';

for (const { name, express } of EXPRESS_VERSIONS) {
  describe(`customizing responses (${name})`, () => {
    test('onLogout, onLogoutAll and onError can redirect an HTML app', async () => {
      const auth = createTestAuth({
        onLogout: (_req, res) => res.redirect(303, '/login?notice=signed-out'),
        onLogoutAll: (_req, res) => res.redirect(303, '/login?notice=signed-out-everywhere'),
        onError: (err, _req, res) =>
          err.status === 401 ? res.redirect(303, '/login') : res.status(err.status).send(err.code),
      });
      const app = express();
      app.use(auth.authenticate);
      app.post('/login', (_req, res, next) => {
        auth.login(res, { sub: 'alice' }).then(() => res.end(), next);
      });
      app.get('/', auth.requireAuth, (_req, res) => {
        res.send('account');
      });
      app.post('/logout', auth.logout);
      app.post('/logout-all', auth.logoutAll);

      const anonymous = await request(app).get('/');
      assert.equal(anonymous.status, 303);
      assert.equal(anonymous.headers.location, '/login');
      const cookie = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
      const out = await request(app).post('/logout').set('Cookie', cookie);
      assert.equal(out.status, 303);
      assert.equal(out.headers.location, '/login?notice=signed-out');
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      const cookie2 = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
      const all = await request(app).post('/logout-all').set('Cookie', cookie2);
      assert.equal(all.headers.location, '/login?notice=signed-out-everywhere');
      const csrf = await request(app).post('/logout').set('Origin', 'https://evil.example');
      assert.equal(csrf.status, 403);
      assert.equal(csrf.text, 'csrf_rejected');
    });

    test('onError can hand the SessionAuthError to the app error handler with next(err)', async () => {
      const auth = createTestAuth({ onError: (err, _req, _res, next) => next(err) });
      const app = express();
      app.get('/me', auth.requireAuth, (_req, res) => {
        res.end();
      });
      let received: unknown;
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        received = err;
        const status = err instanceof SessionAuthError ? err.status : 500;
        res.status(status).json({ handled: err instanceof SessionAuthError ? err.code : null });
      });
      const res = await request(app).get('/me').set('Cookie', 'session=garbage');
      assert.ok(received instanceof SessionAuthError);
      assert.notEqual(received.cause, undefined);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { handled: 'invalid_token' });
    });

    test('an async onLogout that rejects reaches the error handler instead of hanging the request', async () => {
      const auth = createTestAuth({ onLogout: () => Promise.reject(new Error('audit log unavailable')) });
      const app = express();
      app.post('/logout', auth.logout);
      app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
        res.status(500).json({ handled: err.message });
      });
      const res = await request(app).post('/logout');
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { handled: 'audit log unavailable' });
    });

    test("the app's own cookieParser(secret), mounted after authenticate, still handles signed cookies", async () => {
      const auth = createTestAuth();
      const app = express();
      app.use(auth.authenticate);
      app.use(cookieParser('app-cookie-secret'));
      app.get('/set', (_req, res) => {
        res.cookie('prefs', 'dark', { signed: true }).end();
      });
      app.get('/read', (req, res) => {
        res.json({ prefs: (req.signedCookies as Record<string, string>).prefs ?? null });
      });
      const set = await request(app).get('/set').set('Cookie', 'session=garbage');
      assert.equal(set.status, 200);
      const signed = cookieFrom(set.headers['set-cookie'], 'prefs');
      assert.deepEqual((await request(app).get('/read').set('Cookie', signed)).body, { prefs: 'dark' });
    });

    test('requireAuth works without app.use(auth.authenticate)', async () => {
      const auth = createTestAuth();
      const app = express();
      app.post('/login', (_req, res, next) => {
        auth.login(res, { sub: 'alice' }).then(() => res.end(), next);
      });
      app.get('/me', auth.requireAuth, (req, res) => {
        res.json({ sub: auth.getAuth(req)?.sub });
      });
      const cookie = cookieFrom((await request(app).post('/login')).headers['set-cookie']);
      assert.deepEqual((await request(app).get('/me').set('Cookie', cookie)).body, { sub: 'alice' });
    });

    test('an already parsed req.cookies (cookie-parser mounted by the app) is used', async () => {
      const auth = createTestAuth();
      const app = express();
      app.use((req, _res, next) => {
        req.cookies = { session: 'replaced-by-app' };
        next();
      });
      app.get('/me', auth.requireAuth, (_req, res) => {
        res.end();
      });
      const res = await request(app).get('/me');
      assert.equal((res.body as { error: { code: string } }).error.code, 'invalid_token');
    });
  });
}

describe('sessionOf and getAuth', () => {
  test('sessionOf gives the session of an authenticated request and throws credentials_required on any other', async () => {
    const auth = createTestAuth();
    const app = buildApp(express5, auth);
    app.get('/strict', (req, res) => {
      try {
        res.json({ sub: auth.sessionOf(req).sub });
      } catch (error) {
        res
          .status(418)
          .json({ code: isSessionAuthError(error) ? error.code : String(error), optional: auth.getAuth(req) ?? null });
      }
    });
    const login = await request(app).post('/login').send({ sub: 'zoe' });
    const signedIn = await request(app).get('/strict').set('Cookie', cookieFrom(login.headers['set-cookie']));
    assert.deepEqual(signedIn.body, { sub: 'zoe' });
    const anonymous = await request(app).get('/strict');
    assert.equal(anonymous.status, 418);
    assert.deepEqual(anonymous.body, { code: 'credentials_required', optional: null });
  });

  test('isConfigError tells ConfigErrors from other errors, also across package copies (by name and code)', () => {
    assert.equal(isConfigError(new ConfigError('x', 'is wrong.')), true);
    assert.equal(
      isConfigError(Object.assign(new TypeError('copy'), { name: 'ConfigError', code: 'invalid_option' })),
      true,
    );
    assert.equal(isConfigError(new TypeError('plain')), false);
    assert.equal(isConfigError(new SessionAuthError('invalid_token')), false);
  });
});

describe('mounting mistakes are caught with a hint', () => {
  test('a middleware called like a factory fails at startup', () => {
    const auth = createTestAuth();
    for (const key of ['authenticate', 'requireAuth', 'logout', 'logoutAll', 'verifyOrigin'] as const) {
      const middleware = auth[key] as unknown as (...args: unknown[]) => unknown;
      assert.throws(
        () => middleware(),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(
            error.message,
            new RegExp(`\`auth\\.${key}\` is already a middleware: mount it as \`auth\\.${key}\`, without calling it`),
          );
          return true;
        },
      );
      assert.throws(() => middleware({ redirect: '/login' }), ConfigError);
    }
  });

  test('createSessionAuth mounted without being called explains the fix', async () => {
    const app = EXPRESS_VERSIONS[0].express();
    app.use(createSessionAuth as never);
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(err.message);
    });
    const res = await request(app).get('/');
    assert.match(
      res.text,
      /`createSessionAuth` was mounted as a middleware without being called\. Call it once at startup/,
    );
  });

  test('middlewares keep their names for stack traces', () => {
    const auth = createSessionAuth(testOptions());
    assert.equal(auth.authenticate.name, 'authenticate');
    assert.equal(auth.requireAuth.name, 'requireAuth');
    assert.equal(auth.requireAuth.length, 3);
  });
});
