// Claims that follow the user, over HTTP on every store we ship: after `auth.refreshClaims(sub)`, every token of
// the user signed before it is re-issued with what `loadClaims` answers on its next request, on every instance;
// `null` ends every device (a ban); a failing or slow `loadClaims` answers 503 and never the old claims.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express5 from 'express';
import request from 'supertest';
import { z } from 'zod';
import {
  ConfigError,
  createSessionAuth,
  MemoryRevocationStore,
  type RevocationStore,
  type SessionAuthOptions,
} from '../../lib/index.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret, type ExpressFactory } from '../support/apps.js';
import { eventually } from '../support/eventually.js';
import { shippedStores, type ShippedStore } from '../support/stores.js';

const quiet = { warn: () => {} };
const BACKENDS = shippedStores('claims_refresh');
const claims = z.object({ role: z.string() });
let users = 0;
const newUser = () => `user-${Date.now()}-${users++}`;

/** The app's own user table: what `loadClaims` reads (undefined role: banned). */
function userTable() {
  const roles = new Map<string, string | undefined>();
  let loads = 0;
  let mode: 'ok' | 'throw' | 'hang' | 'invalid' = 'ok';
  const loadClaims = async (sub: string) => {
    loads++;
    if (mode === 'throw') throw new Error('users database unreachable (simulated)');
    if (mode === 'hang') return new Promise<never>(() => {});
    if (mode === 'invalid') return { role: 42 } as unknown as { role: string };
    const role = roles.get(sub);
    return role === undefined ? null : { role };
  };
  return {
    roles,
    loadClaims,
    loads: () => loads,
    setMode: (m: typeof mode) => {
      mode = m;
    },
  };
}

type Users = ReturnType<typeof userTable>;

function instance(
  store: RevocationStore,
  secret: string,
  users: Users | undefined,
  options: Partial<SessionAuthOptions<typeof claims>> = {},
  express: ExpressFactory = express5,
) {
  const auth = createSessionAuth({
    secret,
    store,
    claims,
    cookie: { secure: false },
    logger: quiet,
    storeTimeoutMs: 500,
    ...(users === undefined ? {} : { loadClaims: users.loadClaims }),
    ...options,
  });
  const app = buildApp(express, auth);
  const me = (cookie: string) => request(app).get('/me').set('Cookie', cookie);
  const login = async (sub: string, role: string) =>
    cookieFrom((await request(app).post('/login').send({ sub, role })).headers['set-cookie']);
  return { auth, app, me, login };
}

/** Two stores on the same data: the memory store is shared as it is, the others connect twice. */
function sharedPair(backend: ShippedStore): [RevocationStore, RevocationStore] {
  const first = backend.create().store;
  return [first, backend.name === 'MemoryRevocationStore' ? first : backend.create().store];
}

for (const backend of BACKENDS) {
  describe(`claims refresh on ${backend.name}`, () => {
    for (const { name, express } of EXPRESS_VERSIONS) {
      test(`${name}: a role change reaches every instance on its very next request, re-issued once; up-to-date tokens never load`, async () => {
        const [storeA, storeB] = sharedPair(backend);
        const secret = testSecret();
        const users = userTable();
        const a = instance(storeA, secret, users, {}, express);
        const b = instance(storeB, secret, users, {}, express);
        const sub = newUser();
        users.roles.set(sub, 'reader');
        const onA = await a.login(sub, 'reader');
        const onB = await b.login(sub, 'reader');
        const sessionIds = new Map([
          [onA, (await a.me(onA)).body.sessionId as string],
          [onB, (await b.me(onB)).body.sessionId as string],
        ]);
        assert.equal((await a.me(onA)).body.role, 'reader');
        assert.equal((await b.me(onB)).body.role, 'reader');
        assert.equal(users.loads(), 0, 'no load for tokens whose claims are up to date');

        users.roles.set(sub, 'admin');
        await a.auth.refreshClaims(sub);
        for (const [app, cookie] of [
          [a, onB],
          [b, onA],
        ] as const) {
          const res = await app.me(cookie);
          assert.equal(res.status, 200);
          assert.equal(res.body.role, 'admin', 'the new role on the very next request, on either instance');
          const fresh = cookieFrom(res.headers['set-cookie']);
          const loadsBefore = users.loads();
          const again = await a.me(fresh);
          assert.equal(again.body.role, 'admin');
          assert.equal(res.body.sessionId, sessionIds.get(cookie), 'the same session as before the reload');
          assert.equal(again.body.sessionId, res.body.sessionId, 'the same session');
          assert.equal(again.body.signedInAt, res.body.signedInAt, 'the same sign-in time');
          assert.equal(users.loads(), loadsBefore, 'the re-issued token is up to date: no second load');
        }
      });
    }

    test('a ban (loadClaims answers null) ends every device of the user on its next request, on every instance', async () => {
      const [storeA, storeB] = sharedPair(backend);
      const secret = testSecret();
      const users = userTable();
      const a = instance(storeA, secret, users);
      const b = instance(storeB, secret, users);
      const sub = newUser();
      const other = newUser();
      users.roles.set(sub, 'reader');
      users.roles.set(other, 'reader');
      const phone = await a.login(sub, 'reader');
      const laptop = await b.login(sub, 'reader');
      const bystander = await a.login(other, 'reader');
      users.roles.delete(sub);
      await b.auth.refreshClaims(sub);
      assert.equal(errorCode(await a.me(phone)), 'logged_out_everywhere', 'the device that found the ban');
      assert.equal(errorCode(await b.me(laptop)), 'logged_out_everywhere', 'every other device');
      assert.equal(errorCode(await a.me(laptop)), 'logged_out_everywhere');
      assert.equal((await b.me(bystander)).status, 200, 'other users are untouched');
    });

    test('loadClaims failing, too slow or answering claims the schema refuses: 503 claims_unavailable, the cookie kept, never the old claims', async () => {
      const store = backend.create().store;
      const users = userTable();
      const warnings: string[] = [];
      const a = instance(store, testSecret(), users, { logger: { warn: (m: string) => warnings.push(m) } });
      const sub = newUser();
      users.roles.set(sub, 'reader');
      const cookie = await a.login(sub, 'reader');
      users.roles.set(sub, 'admin');
      await a.auth.refreshClaims(sub);
      for (const mode of ['throw', 'hang', 'invalid'] as const) {
        users.setMode(mode);
        const res = await a.me(cookie);
        assert.equal(res.status, 503, mode);
        assert.equal(errorCode(res), 'claims_unavailable', mode);
        assert.equal(res.headers['set-cookie'], undefined, `${mode}: the cookie is kept for a retry`);
        assert.ok(!JSON.stringify(res.body).includes('simulated'), 'the app error stays in the log');
      }
      assert.equal(warnings.filter((w) => w.includes('`loadClaims` failed')).length, 1, 'logged once per outage');
      assert.ok(warnings[0]?.includes('simulated'), 'the log says why');
      users.setMode('ok');
      const res = await a.me(cookie);
      assert.equal(res.status, 200);
      assert.equal(res.body.role, 'admin');
      assert.ok(warnings.some((w) => w.includes('`loadClaims` succeeds again')));
    });

    test('ending sessions needs no claims: with loadClaims failing, "log out everywhere" and "log out other devices" of a stale token still work', async () => {
      const users = userTable();
      const a = instance(backend.create().store, testSecret(), users);
      a.app.post('/revoke-others', a.auth.revokeOtherSessions);
      const sub = newUser();
      users.roles.set(sub, 'reader');
      const [phone, laptop, tablet] = [
        await a.login(sub, 'reader'),
        await a.login(sub, 'reader'),
        await a.login(sub, 'reader'),
      ];
      await a.auth.refreshClaims(sub);
      users.setMode('throw');
      assert.equal(errorCode(await a.me(tablet)), 'claims_unavailable');
      const others = await request(a.app).post('/revoke-others').set('Cookie', phone);
      assert.equal(others.status, 204, 'log out other devices');
      users.setMode('ok');
      assert.equal(errorCode(await a.me(laptop)), 'session_revoked', 'the other devices ended');
      users.setMode('throw');
      const everywhere = await request(a.app).post('/logout-all').set('Cookie', phone);
      assert.equal(everywhere.status, 204, 'log out everywhere');
      users.setMode('ok');
      assert.equal(errorCode(await a.me(phone)), 'logged_out_everywhere');
    });

    test('a logout racing a reload wins: the re-issued token of that session is refused', async () => {
      const store = backend.create().store;
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let loads = 0;
      let loading: () => void = () => {};
      const waiting = new Promise<void>((resolve) => (loading = resolve));
      const a = instance(store, testSecret(), undefined, {
        // The first load waits; the logout's own pass through `authenticate` loads at once.
        loadClaims: async () => {
          if (loads++ === 0) {
            loading();
            await gate;
          }
          return { role: 'admin' };
        },
        storeTimeoutMs: 5_000,
      });
      const sub = newUser();
      const cookie = await a.login(sub, 'reader');
      await a.auth.refreshClaims(sub);
      const reloading = a.me(cookie).then((res) => res);
      await waiting; // the reload is waiting for loadClaims
      const logout = await request(a.app).post('/logout').set('Cookie', cookie);
      assert.equal(logout.status, 204);
      release();
      const res = await reloading;
      if (res.status === 200) {
        const reissued = cookieFrom(res.headers['set-cookie']);
        assert.equal(errorCode(await a.me(reissued)), 'session_revoked', 'the new token carries the ended session');
      } else assert.equal(errorCode(res), 'session_revoked');
      assert.equal(errorCode(await a.me(cookie)), 'session_revoked');
    });

    test('a change or a ban that lands while loadClaims runs is not lost: the new token counts from when the load began', async () => {
      for (const change of ['role', 'ban'] as const) {
        const users = userTable();
        let gate: Promise<void> | undefined;
        let read: () => void = () => {};
        const hasRead = new Promise<void>((resolve) => (read = resolve));
        const a = instance(backend.create().store, testSecret(), undefined, {
          loadClaims: async (sub: string) => {
            const answer = await users.loadClaims(sub); // the database read...
            if (gate !== undefined) read();
            await gate; // ...then the rest of the load (another query, the network)
            return answer;
          },
          storeTimeoutMs: 5_000,
        });
        const sub = newUser();
        users.roles.set(sub, 'admin');
        const cookie = await a.login(sub, 'admin');
        users.roles.set(sub, 'editor');
        await a.auth.refreshClaims(sub); // change 1
        let release: () => void = () => {};
        gate = new Promise<void>((resolve) => (release = resolve));
        const reloading = a.me(cookie).then((res) => res); // reads "editor", then waits
        await hasRead;
        if (change === 'role') users.roles.set(sub, 'reader');
        else users.roles.delete(sub);
        gate = undefined;
        const completed = a.auth.refreshClaims(sub); // change 2, completed before the first load answers
        await completed;
        release();
        const first = await reloading;
        assert.equal(first.body.role, 'editor', 'the load saw change 1 only');
        const next = await a.me(cookieFrom(first.headers['set-cookie']));
        if (change === 'role') assert.equal(next.body.role, 'reader', 'change 2 reaches the next request');
        else assert.equal(errorCode(next), 'logged_out_everywhere', 'the ban reaches the next request');
      }
    });

    test('a sign-in counts its claims from when the request arrived: a ban during the password check is not lost', async () => {
      const users = userTable();
      const a = instance(backend.create().store, testSecret(), users);
      let gate: Promise<void> = Promise.resolve();
      let read: () => void = () => {};
      const hasRead = new Promise<void>((resolve) => (read = resolve));
      a.app.post('/slow-login', (req, res, next) => {
        const sub = String((req.body as { sub: string }).sub);
        const role = users.roles.get(sub) ?? 'none'; // the app reads the user...
        read();
        gate // ...checks the password (slow)...
          .then(() => a.auth.login(res, { sub, role })) // ...and signs in with what it read
          .then(() => res.sendStatus(204), next);
      });
      const sub = newUser();
      users.roles.set(sub, 'admin');
      let release: () => void = () => {};
      gate = new Promise<void>((resolve) => (release = resolve));
      const signingIn = request(a.app)
        .post('/slow-login')
        .send({ sub })
        .then((res) => res);
      await hasRead;
      users.roles.delete(sub); // banned while the password is checked
      await a.auth.refreshClaims(sub);
      release();
      const cookie = cookieFrom((await signingIn).headers['set-cookie']);
      assert.equal(errorCode(await a.me(cookie)), 'logged_out_everywhere', 'the ban reaches the new session');
    });

    test('loadClaims answering claims too large for a cookie: 503 claims_unavailable, the old cookie kept', async () => {
      const a = instance(backend.create().store, testSecret(), undefined, {
        loadClaims: () => ({ role: 'x'.repeat(5_000) }),
      });
      const sub = newUser();
      const cookie = await a.login(sub, 'reader');
      await a.auth.refreshClaims(sub);
      const res = await a.me(cookie);
      assert.deepEqual([res.status, errorCode(res)], [503, 'claims_unavailable']);
      assert.equal(res.headers['set-cookie'], undefined, 'no cookie a browser would drop');
    });

    test('without loadClaims a token older than the claims change is refused with claims_stale, the cookie expired', async () => {
      const a = instance(backend.create().store, testSecret(), undefined);
      const sub = newUser();
      const cookie = await a.login(sub, 'reader');
      await a.auth.refreshClaims(sub);
      const res = await a.me(cookie);
      assert.equal(errorCode(res), 'claims_stale');
      assert.match(String(res.headers['set-cookie']), /Expires=Thu, 01 Jan 1970/);
      const fresh = await a.login(sub, 'admin');
      assert.equal((await a.me(fresh)).body.role, 'admin', 'a new sign-in carries fresh claims');
    });

    test('renewal keeps the claims time: a token renewed by an instance that has not seen the change yet still reloads once it has', async () => {
      await backend.backdateFeed(); // so that B's copy answers for a session signed in now
      const [storeA, storeB] = sharedPair(backend);
      const secret = testSecret();
      const users = userTable();
      const a = instance(storeA, secret, users);
      // B answers from a copy of the changes up to 4 s old, and renews tokens older than a second.
      const b = instance(storeB, secret, users, { renewAfter: 1, expiresIn: 60, maxRevocationDelay: 4_000 });
      await b.auth.ready;
      const sub = newUser();
      users.roles.set(sub, 'reader');
      const cookie = await b.login(sub, 'reader');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      users.roles.set(sub, 'admin');
      await a.auth.refreshClaims(sub);
      const renewed = await b.me(cookie); // B's copy does not have the change yet: a plain renewal
      assert.equal(renewed.body.role, 'reader', 'B had not seen the change');
      const renewedCookie = cookieFrom(renewed.headers['set-cookie']);
      assert.notEqual(renewedCookie, cookie, 'renewed');
      await eventually(async () => (await b.me(renewedCookie)).body.role === 'admin', 8_000);
      assert.equal((await a.me(renewedCookie)).body.role, 'admin', 'and on the instance that made the change');
    });

    test('with maxRevocationDelay, the other instance serves the new claims within the delay', async () => {
      await backend.backdateFeed(); // B's copy answers for this session (not the store)
      const [storeA, storeB] = sharedPair(backend);
      const secret = testSecret();
      const users = userTable();
      const a = instance(storeA, secret, users);
      const b = instance(storeB, secret, users, { maxRevocationDelay: 300 });
      await b.auth.ready;
      const sub = newUser();
      users.roles.set(sub, 'reader');
      const cookie = await a.login(sub, 'reader');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await b.me(cookie)).body.role, 'reader');
      users.roles.set(sub, 'admin');
      await a.auth.refreshClaims(sub);
      const started = Date.now();
      await eventually(async () => (await b.me(cookie)).body.role === 'admin', 5_000);
      assert.ok(Date.now() - started < 3_000, 'within the delay plus a loaded machine');
    });
  });
}

describe('claims refresh across clocks', () => {
  test('an instance 5 s behind the one that made a change reloads until its clock passes it; no later change is lost', async () => {
    const users = userTable();
    const store = new MemoryRevocationStore();
    const secret = testSecret();
    const ahead = instance(store, secret, users, { now: () => Date.now() + 5_000 });
    const behind = instance(store, secret, users);
    const sub = newUser();
    users.roles.set(sub, 'admin');
    let cookie = await behind.login(sub, 'admin');
    users.roles.set(sub, 'editor');
    await ahead.auth.refreshClaims(sub); // stamped 5 s in the future of `behind`
    const first = await behind.me(cookie);
    assert.equal(first.body.role, 'editor');
    cookie = cookieFrom(first.headers['set-cookie']);
    const loads = users.loads();
    assert.equal((await behind.me(cookie)).body.role, 'editor');
    assert.equal(users.loads(), loads + 1, 'reloaded again: its clock has not passed the change yet');
    users.roles.set(sub, 'reader');
    await behind.auth.refreshClaims(sub); // stamped before the first change: the store keeps the later one
    assert.equal((await behind.me(cookie)).body.role, 'reader', 'the completed change is not lost');
  });
});

describe('claims refresh: stores and schemas that cannot take it', () => {
  /** A store written for the interface before claims refresh: no `markClaimsChanged`. */
  function olderStore(): RevocationStore {
    const inner = new MemoryRevocationStore();
    return {
      getState: (sub, sessionId) => {
        const { lastLogoutAt, sessionRevoked } = inner.getState(sub, sessionId);
        return { lastLogoutAt, sessionRevoked };
      },
      revokeUser: (sub, at, until) => inner.revokeUser(sub, at, until),
      revokeSession: (id, sub, until) => inner.revokeSession(id, sub, until),
    };
  }

  test('loadClaims with a store that cannot record claims changes is a ConfigError at startup', () => {
    assert.throws(
      () =>
        createSessionAuth({
          secret: testSecret(),
          store: olderStore(),
          claims,
          loadClaims: () => ({ role: 'x' }),
          logger: quiet,
        }),
      (e: unknown) => e instanceof ConfigError && e.option === 'loadClaims' && e.code === 'unsupported',
    );
  });

  test('such a store keeps working without the feature; refreshClaims rejects with a ConfigError', async () => {
    const a = instance(olderStore(), testSecret(), undefined);
    const sub = newUser();
    const cookie = await a.login(sub, 'reader');
    assert.equal((await a.me(cookie)).status, 200);
    await assert.rejects(
      a.auth.refreshClaims(sub),
      (e: unknown) => e instanceof ConfigError && e.code === 'unsupported',
    );
    assert.equal((await a.me(cookie)).status, 200);
  });

  test('a claims schema that defines the reserved `cla` is refused at startup, naming it', () => {
    assert.throws(
      () =>
        createSessionAuth({
          secret: testSecret(),
          store: new MemoryRevocationStore(),
          claims: z.object({ cla: z.string() }),
          logger: quiet,
        }),
      (e: unknown) => e instanceof ConfigError && e.option === 'claims' && e.message.includes('`cla`'),
    );
  });
});
