// The device registry's promises through createSessionAuth, on every store we ship (memory, MongoDB on the test
// server, Redis): whatever can still be accepted can be ended, an id is ended for its own user only, and a
// user's registry stays bounded and cheap to list however many sessions they open and end.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import {
  ConfigError,
  createSessionAuth,
  MemoryRevocationStore,
  type RevocationStore,
  type SessionAuthOptions,
} from '../../lib/index.js';
import { buildApp, cookieFrom, errorCode, testSecret } from '../support/apps.js';
import { shippedStores, type ShippedStore } from '../support/stores.js';

const quiet = { warn: () => {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `maxSessions` for the cap test; undefined: the default (1,000). FerretDB scans on every listing, and each
 * sign-in lists the user's sessions, so Mongo runs with a small cap: the cap is the engine's, the same for all.
 */
const CAP_UNDER_TEST: Partial<Record<ShippedStore['name'], number>> = { MongoRevocationStore: 20 };
const BACKENDS = shippedStores('device_sessions');
let users = 0;
const newUser = () => `user-${Date.now()}-${users++}`;

function appFor(store: RevocationStore, options: Partial<SessionAuthOptions> = {}) {
  const auth = createSessionAuth({
    secret: testSecret(),
    store,
    cookie: { secure: false },
    logger: quiet,
    ...options,
  });
  const app = buildApp(express, auth);
  app.post('/sessions/revoke-others', auth.revokeOtherSessions);
  const login = async (sub: string) => {
    const res = await request(app).post('/login').send({ sub });
    return { cookie: cookieFrom(res.headers['set-cookie']), sessionId: (res.body as { sessionId: string }).sessionId };
  };
  const me = (cookie: string) => request(app).get('/me').set('Cookie', cookie);
  return { auth, app, login, me };
}

for (const backend of BACKENDS) {
  describe(`device sessions on ${backend.name}`, () => {
    test('the registry keeps the sign-in IP (req.ip: trust proxy applies) beside the User-Agent, each optional', async () => {
      const { auth, app } = appFor(backend.create().store);
      app.set('trust proxy', true);
      const sub = newUser();
      const signIn = (headers: Record<string, string>) => {
        const req = request(app).post('/login');
        for (const [name, value] of Object.entries(headers)) req.set(name, value);
        return req.send({ sub });
      };
      const both = await signIn({ 'X-Forwarded-For': '2001:db8::7', 'User-Agent': 'Agent|with|bars' });
      const ipOnly = await signIn({ 'X-Forwarded-For': '203.0.113.9', 'User-Agent': '' });
      const listed = await auth.listSessions(sub);
      const byId = new Map(listed.map((s) => [s.sessionId, s]));
      const first = byId.get((both.body as { sessionId: string }).sessionId);
      const second = byId.get((ipOnly.body as { sessionId: string }).sessionId);
      assert.deepEqual([first?.ip, first?.userAgent], ['2001:db8::7', 'Agent|with|bars']);
      assert.deepEqual([second?.ip, second?.userAgent], ['203.0.113.9', undefined]);
      // With trust proxy the client writes X-Forwarded-For: anything but an address is left out, never stored.
      for (const forged of ['a|b', 'x'.repeat(12_000), '<script>']) {
        const res = await signIn({ 'X-Forwarded-For': forged, 'User-Agent': '|starts|with|a|bar' });
        assert.equal(res.status, 200, forged.slice(0, 20));
        const record = (await auth.listSessions(sub)).find(
          (s) => s.sessionId === (res.body as { sessionId: string }).sessionId,
        );
        assert.deepEqual([record?.ip, record?.userAgent], [undefined, '|starts|with|a|bar']);
      }
      // An IPv6 zone (of any length) is dropped: the address alone is kept.
      const zoned = await signIn({ 'X-Forwarded-For': `fe80::1%${'a'.repeat(15_000)}` });
      const kept = (await auth.listSessions(sub)).find(
        (s) => s.sessionId === (zoned.body as { sessionId: string }).sessionId,
      );
      assert.equal(kept?.ip, 'fe80::1');
    });

    test('sessions past their absolute end but still accepted within clockTolerance are ended by the cap and by "log out other devices"', async () => {
      // Sessions of 2 s accepted 300 s past their end: both devices outlive their end before the third signs in.
      const { app, login, me } = appFor(backend.create().store, {
        expiresIn: 1,
        maxAge: 2,
        renewAfter: false,
        clockTolerance: 300,
        maxSessions: 2,
      });
      const sub = newUser();
      const first = await login(sub);
      await sleep(5);
      const second = await login(sub);
      await sleep(2_200);
      assert.equal((await me(first.cookie)).status, 200, 'past its end, accepted within the tolerance');
      assert.equal((await me(second.cookie)).status, 200);
      const third = await login(sub); // the cap keeps 2: the least recently active is ended
      assert.equal(errorCode(await me(first.cookie)), 'session_revoked', 'the cap ended the oldest session');
      assert.equal((await me(second.cookie)).status, 200, 'within the cap');
      const res = await request(app).post('/sessions/revoke-others').set('Cookie', third.cookie);
      assert.equal(res.status, 204);
      assert.equal(errorCode(await me(second.cookie)), 'session_revoked', '"log out other devices" ended it');
      assert.equal((await me(third.cookie)).status, 200);
    });

    test("revokeSession with another user's sub is refused and changes nothing; with the right sub it ends the session, and again is fine", async () => {
      const { auth, login, me } = appFor(backend.create().store);
      const alice = newUser();
      const { cookie, sessionId } = await login(alice);
      const refused = (e: unknown) =>
        e instanceof ConfigError && e.code === 'invalid_argument' && e.message.includes('no session of that user');
      await assert.rejects(auth.revokeSession(sessionId, { sub: newUser() }), refused);
      assert.equal((await me(cookie)).status, 200, 'nothing was revoked');
      await auth.revokeSession(sessionId, { sub: alice });
      assert.equal(errorCode(await me(cookie)), 'session_revoked');
      await auth.revokeSession(sessionId, { sub: alice }); // idempotent: already revoked for that user
      await assert.rejects(auth.revokeSession('no-such-session-000000', { sub: alice }), refused);
    });

    const explicitCap = CAP_UNDER_TEST[backend.name];
    const cap = explicitCap ?? 1000;
    test(`past the cap (maxSessions ${explicitCap ?? 'left at its default, 1,000'}) a sign-in ends the least recently active session and deletes its record`, async () => {
      const { store, records } = backend.create();
      const { auth, login, me } = appFor(store, explicitCap === undefined ? {} : { maxSessions: explicitCap });
      const sub = newUser();
      const first = await login(sub);
      const res = { append: () => undefined, setHeader: () => undefined, headersSent: false } as never;
      for (let i = 1; i < cap; i++) await auth.login(res, { sub });
      assert.equal((await me(first.cookie)).status, 200, `${cap} sessions: within the cap`);
      await auth.login(res, { sub });
      assert.equal(
        errorCode(await me(first.cookie)),
        'session_revoked',
        'one more: the least recently active is ended',
      );
      assert.equal((await auth.listSessions(sub)).length, cap);
      assert.equal(await records(sub), cap, 'the ended record is deleted');
    });

    test(`sign-ins at the same moment past the cap: each is refused or stays listed, and "log out other devices" ends every one`, async () => {
      const { store } = backend.create();
      const { auth, app, me } = appFor(store, explicitCap === undefined ? {} : { maxSessions: explicitCap });
      const sub = newUser();
      const res = () => ({ append: () => undefined, setHeader: () => undefined, headersSent: false }) as never;
      const burst = await Promise.allSettled(Array.from({ length: cap + cap / 10 }, () => auth.login(res(), { sub })));
      const signedIn = burst.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      for (const r of burst) {
        if (r.status === 'rejected')
          assert.equal((r.reason as { code?: string }).code, 'revocation_unavailable', String(r.reason));
      }
      const listed = new Set((await auth.listSessions(sub)).map((s) => s.sessionId));
      for (const session of signedIn) {
        if (listed.has(session.sessionId)) continue;
        assert.equal(
          errorCode(await me(`session=${session.token}`)),
          'session_revoked',
          'not listed, so it must not work',
        );
      }
      const last = await auth.login(res(), { sub });
      const ended = await request(app).post('/sessions/revoke-others').set('Cookie', `session=${last.token}`);
      assert.equal(ended.status, 204);
      for (const session of signedIn) {
        assert.notEqual((await me(`session=${session.token}`)).status, 200, `session ${session.sessionId} still works`);
      }
    });

    test('the records of revoked and logged-out-everywhere sessions are deleted: listing reads only live ones', async () => {
      const { store, records } = backend.create();
      const { auth, login } = appFor(store);
      const sub = newUser();
      const sessions = [];
      for (let i = 0; i < 6; i++) sessions.push(await login(sub));
      for (const s of sessions.slice(0, 3)) await auth.revokeSession(s.sessionId, { sub });
      assert.equal(await records(sub), 3, 'the 3 revoked records are gone');
      assert.equal((await auth.listSessions(sub)).length, 3);
      await auth.revokeUser(sub);
      assert.equal(await records(sub), 0, 'records signed in before the watermark are gone');
      await login(sub);
      assert.equal(await records(sub), 1);
    });
  });
}

describe('maxSessions needs a device registry', () => {
  test('on a store without one it fails at startup with a ConfigError (unsupported)', () => {
    const inner = new MemoryRevocationStore();
    const store: RevocationStore = {
      getState: (sub, sessionId) => inner.getState(sub, sessionId),
      revokeUser: (...args) => inner.revokeUser(...args),
      revokeSession: (...args) => inner.revokeSession(...args),
    };
    assert.throws(
      () => createSessionAuth({ secret: testSecret(), store, maxSessions: 3 }),
      (e: unknown) => e instanceof ConfigError && e.code === 'unsupported' && e.option === 'maxSessions',
    );
    assert.doesNotThrow(() => createSessionAuth({ secret: testSecret(), store, logger: quiet }));
    inner.close();
  });
});
