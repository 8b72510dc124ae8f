// Session events (`onEvent`): one event per sign-in, renewal, re-authentication, claims refresh, logout, ended
// session and replayed token, with the request's IP (as Express computes it) and User-Agent, never a token; a
// slow or throwing handler never delays or breaks a request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import { MemoryRevocationStore, type SessionEvent, type SessionAuthOptions } from '../../lib/index.js';
import { buildApp, cookieFrom, createTestAuth, errorCode } from '../support/apps.js';
import { FlakyStore } from '../support/flaky-store.js';

const UA = 'Mozilla/5.0 (events test)';
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** An app whose events are collected; `loginClaims` are signed in with every user. */
function eventApp(options: Partial<SessionAuthOptions> = {}, loginClaims: Record<string, unknown> = {}) {
  const events: SessionEvent[] = [];
  const auth = createTestAuth({
    store: new MemoryRevocationStore(),
    onEvent: (event) => {
      events.push(event);
    },
    ...options,
  });
  const app = buildApp(express, auth);
  app.set('trust proxy', true);
  app.post('/sessions/revoke-others', auth.revokeOtherSessions);
  app.post('/reauth', auth.requireAuth, (req, res, next) => {
    auth.reauthenticate(req, res).then(() => res.sendStatus(204), next);
  });
  const login = async (sub: string, ip = '203.0.113.7') => {
    const res = await request(app)
      .post('/login')
      .set('User-Agent', UA)
      .set('X-Forwarded-For', ip)
      .send({ sub, ...loginClaims });
    return { cookie: cookieFrom(res.headers['set-cookie']), sessionId: (res.body as { sessionId: string }).sessionId };
  };
  const post = (path: string, cookie: string) =>
    request(app).post(path).set('Cookie', cookie).set('User-Agent', UA).set('X-Forwarded-For', '198.51.100.9');
  return { auth, app, events, login, post };
}

describe('session events', () => {
  test('sign-in, logout, logout everywhere and a replayed token: type, user, session, time, IP from trust proxy, User-Agent', async () => {
    const { events, login, post, app } = eventApp();
    const before = Date.now();
    const first = await login('alice');
    const second = await login('alice');
    assert.equal((await post('/logout', first.cookie)).status, 204);
    const replay = await request(app).get('/me').set('Cookie', first.cookie).set('X-Forwarded-For', '192.0.2.66');
    assert.equal(errorCode(replay), 'session_revoked');
    assert.equal((await post('/logout-all', second.cookie)).status, 204);
    await settle();
    assert.deepEqual(
      events.map((e) => [e.type, e.sessionId, e.reason]),
      [
        ['sign_in', first.sessionId, undefined],
        ['sign_in', second.sessionId, undefined],
        ['logout', first.sessionId, undefined],
        ['revoked_token_presented', first.sessionId, 'session_revoked'],
        ['logout_everywhere', second.sessionId, 'logout_all'],
      ],
    );
    for (const e of events) {
      assert.equal(e.sub, 'alice');
      assert.ok(e.at instanceof Date && e.at.getTime() >= before && e.at.getTime() <= Date.now());
    }
    assert.equal(events[0]?.ip, '203.0.113.7', 'req.ip: trust proxy applies');
    assert.equal(events[0]?.userAgent, UA);
    assert.equal(events[3]?.ip, '192.0.2.66', 'the replaying client');
    assert.equal(events[3]?.userAgent, undefined, 'none sent');
    const serialized = JSON.stringify(events);
    for (const cookie of [first.cookie, second.cookie]) {
      assert.ok(!serialized.includes(cookie.split('=')[1] as string), 'never a token');
    }
  });

  test('renewal, re-authentication, claims change and refresh, devices ended by id, by "others" and by the cap', async () => {
    let role = 'reader';
    const { auth, events, login, post, app } = eventApp(
      {
        claims: z.object({ role: z.string() }),
        loadClaims: () => ({ role }),
        renewAfter: 1,
        maxSessions: 2,
      },
      { role: 'reader' },
    );
    const a = await login('bob');
    const b = await login('bob');
    const c = await login('bob'); // past the cap of 2: the oldest ends
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const renewed = await request(app).get('/me').set('Cookie', c.cookie);
    const cCookie = cookieFrom(renewed.headers['set-cookie']);
    assert.equal((await post('/reauth', cCookie)).status, 204);
    role = 'admin';
    await auth.refreshClaims('bob');
    const reloaded = await request(app).get('/me').set('Cookie', cCookie);
    assert.equal(reloaded.body.role, 'admin');
    const d = await login('bob');
    await auth.revokeSession(d.sessionId, { sub: 'bob' });
    await auth.revokeSession(d.sessionId, { sub: 'bob' }); // ended already: no second event
    const e = await login('bob');
    assert.equal((await post('/sessions/revoke-others', cookieFrom(reloaded.headers['set-cookie']))).status, 204);
    await settle();
    const seen = events.map((ev) => [ev.type, ev.sessionId ?? null, ev.reason ?? null]);
    const expected: [string, string | null, string | null][] = [
      ['session_ended', a.sessionId, 'session_cap'],
      ['renewal', c.sessionId, null],
      ['reauthentication', c.sessionId, null],
      ['claims_changed', null, null],
      ['claims_refresh', c.sessionId, null],
      ['session_ended', b.sessionId, 'session_cap'],
      ['session_ended', d.sessionId, 'by_id'],
      ['session_ended', e.sessionId, 'others'],
    ];
    for (const entry of expected)
      assert.ok(
        seen.some((s) => JSON.stringify(s) === JSON.stringify(entry)),
        JSON.stringify(entry),
      );
    assert.equal(seen.filter(([type]) => type === 'sign_in').length, 5);
    assert.equal(seen.filter(([, id]) => id === d.sessionId).length, 2, 'its sign-in and one end');
    const list = await auth.listSessions('bob');
    assert.ok(list.length > 0, 'sessions are listed');
    assert.ok(
      list.every((s) => s.ip === '203.0.113.7'),
      'the sign-in IP in listSessions',
    );
  });

  test('a throwing, rejecting or never-settling handler never breaks or delays a request; its failure is logged once', async () => {
    const warnings: string[] = [];
    let calls = 0;
    for (const handler of [
      () => {
        calls++;
        throw new Error('audit sink down');
      },
      () => {
        calls++;
        return Promise.reject(new Error('audit sink down'));
      },
      () => {
        calls++;
        return new Promise(() => {});
      },
    ]) {
      const { login, post, app } = eventApp({ onEvent: handler, logger: { warn: (m) => warnings.push(m) } });
      const { cookie } = await login('carol');
      assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
      assert.equal((await post('/logout', cookie)).status, 204);
    }
    await settle();
    assert.equal(calls, 6);
    assert.equal(warnings.filter((w) => w.includes('onEvent handler failed')).length, 2, 'once per failing instance');
    assert.ok(
      warnings.every((w) => !w.includes('eyJ')),
      'no token in the log',
    );
  });

  test('the store becoming unavailable and recovering', async () => {
    const store = new FlakyStore();
    const events: SessionEvent[] = [];
    const auth = createTestAuth({ store, onEvent: (e) => void events.push(e), storeTimeoutMs: 200 });
    const app = buildApp(express, auth);
    const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'dave' })).headers['set-cookie']);
    store.mode = 'error';
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 503);
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 503);
    store.recover();
    assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
    await settle();
    assert.deepEqual(
      events.map((e) => e.type),
      ['sign_in', 'store_unavailable', 'store_recovered'],
    );
  });
});
