// maxRevocationDelay over HTTP: two app instances (same secret) on one store, with a test clock. Each instance
// sees its own logouts at once and the other's within the delay, never later.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createRevocation, MemoryRevocationStore, type RevocationStore } from '../../lib/index.js';
import { ConfigError } from '../../lib/core/config-error.js';
import { buildApp, cookieFrom, createTestAuth, errorCode, testSecret } from '../support/apps.js';

/** The memory store without its change feed: the instances then read the store on every check. */
function withoutFeed(store: MemoryRevocationStore): RevocationStore {
  return {
    getState: (sub, sessionId) => store.getState(sub, sessionId),
    revokeUser: (sub, at, until) => store.revokeUser(sub, at, until),
    revokeSession: (sessionId, sub, expiresAt) => store.revokeSession(sessionId, sub, expiresAt),
  };
}

function twoInstances(maxRevocationDelay: number | string, feed = true) {
  const clock = { at: Date.now() };
  const now = () => clock.at;
  const secret = testSecret();
  const memory = new MemoryRevocationStore({ now });
  const store = feed ? memory : withoutFeed(memory);
  const auths = [0, 1].map(() => createTestAuth({ secret, store, now, maxRevocationDelay }));
  const [a, b] = auths.map((auth) => buildApp(express, auth)) as [express.Express, express.Express];
  const login = async (sub: string) =>
    cookieFrom((await request(a).post('/login').send({ sub })).headers['set-cookie']);
  const status = async (app: express.Express, cookie: string) => {
    const res = await request(app).get('/me').set('Cookie', cookie);
    return res.status === 200 ? 200 : `${res.status} ${errorCode(res)}`;
  };
  return { clock, a, b, login, status };
}

describe('maxRevocationDelay: two instances on one store', () => {
  {
    const feed = true;
    const kind = 'every revocation in memory (a store with a change feed)';

    test(`${kind}: logout at once on the instance that did it, on the other within the delay`, async () => {
      const { clock, a, b, login, status } = twoInstances('100ms', feed);
      const phone = await login('alice');
      const laptop = await login('alice');
      clock.at += 1;
      for (const app of [a, b]) for (const c of [phone, laptop]) assert.equal(await status(app, c), 200);

      assert.equal((await request(a).post('/logout').set('Cookie', phone)).status, 204);
      assert.equal(await status(a, phone), '401 session_revoked');
      assert.equal(await status(b, phone), 200, 'b answers from what it read less than 100 ms ago');
      clock.at += 101;
      assert.equal(await status(b, phone), '401 session_revoked', 'never after the bound');
      assert.equal(await status(b, laptop), 200, 'the other device is not affected');
    });

    test(`${kind}: logoutAll on one instance, at once there, within the delay on the other`, async () => {
      const { clock, a, b, login, status } = twoInstances(100, feed);
      const phone = await login('bob');
      const laptop = await login('bob');
      clock.at += 1;
      for (const app of [a, b]) for (const c of [phone, laptop]) assert.equal(await status(app, c), 200);
      assert.equal((await request(b).post('/logout-all').set('Cookie', laptop)).status, 204);
      assert.equal(await status(b, phone), '401 logged_out_everywhere');
      assert.equal(await status(a, phone), 200);
      clock.at += 101;
      assert.equal(await status(a, phone), '401 logged_out_everywhere');
      assert.equal(await status(a, laptop), '401 logged_out_everywhere');
    });
  }

  test('a store without a change feed stays exact: the other instance sees a logout on its next request', async () => {
    const { a, b, login, status } = twoInstances('100ms', false);
    const phone = await login('erin');
    assert.equal(await status(b, phone), 200);
    assert.equal((await request(a).post('/logout').set('Cookie', phone)).status, 204);
    assert.equal(await status(b, phone), '401 session_revoked');
  });

  test('the default (0) stays exact: the other instance sees a logout on its next request', async () => {
    const { a, b, login, status } = twoInstances(0);
    const phone = await login('carol');
    assert.equal(await status(b, phone), 200);
    assert.equal((await request(a).post('/logout').set('Cookie', phone)).status, 204);
    assert.equal(await status(b, phone), '401 session_revoked');
  });

  test('bad values are refused at startup, naming the option', () => {
    for (const bad of [-1, 1.5, '2m', '61s', 'soon']) {
      assert.throws(
        () => createTestAuth({ maxRevocationDelay: bad }),
        (e: unknown) => e instanceof ConfigError && e.message.includes('maxRevocationDelay'),
        String(bad),
      );
    }
  });

  test('createRevocation takes the option too: its own revokeToken and revokeUser are seen at once', async () => {
    const store = new MemoryRevocationStore();
    const options = {
      store,
      issuedAtPrecision: 'milliseconds' as const,
      maxRevocationDelay: '1s',
      logger: { warn: () => {} },
    };
    const a = createRevocation(options);
    const b = createRevocation(options);
    const iat = Math.floor(Date.now() / 1000) - 10;
    const payload = { sub: 'dave', sid: 'sid-0123456789abcdef', iat, iat_ms: iat * 1000, exp: iat + 3600 };
    const token = { header: { alg: 'HS256' as const }, payload, signature: '' };
    const req = {} as express.Request;
    assert.equal(await a.isRevoked(req, token), false);
    assert.equal(await b.isRevoked(req, token), false);
    await a.revokeToken(payload);
    assert.equal(await a.isRevoked(req, token), true, 'at once on the instance that revoked');
    const other = { ...payload, sid: 'sid-fedcba9876543210' };
    const otherToken = { ...token, payload: other };
    assert.equal(await b.isRevoked(req, otherToken), false);
    await b.revokeUser('dave');
    assert.equal(await b.isRevoked(req, otherToken), true);
    assert.throws(
      () => createRevocation({ store, maxRevocationDelay: '2m' }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('maxRevocationDelay'),
    );
  });
});
