// Ids a store cannot keep as given: a `sub`, `sid` or `jti` with a lone UTF-16 surrogate is stored by the
// MongoDB driver as U+FFFD and cannot be hashed into a Redis key. One rule everywhere: such ids are refused at
// sign-in, at verification and by every revocation call, on every store, never stored, never an outage.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { ConfigError, createRevocation, createSessionAuth } from '../../lib/index.js';
import { buildApp, errorCode, testSecret } from '../support/apps.js';
import { shippedStores } from '../support/stores.js';
import { sessionPayload, signRaw } from '../support/tokens.js';

const LONE = 'user-\uD800';

const STORES = shippedStores('ids');

for (const { name, create: createStore } of STORES) {
  const create = () => createStore().store;
  describe(`ids that cannot round-trip are refused (${name})`, () => {
    test('createSessionAuth: login, revokeUser and revokeSession refuse them; a token carrying one is invalid_claims', async () => {
      const warnings: string[] = [];
      const secret = testSecret();
      const store = create();
      const auth = createSessionAuth({
        secret,
        store,
        cookie: { secure: false },
        logger: { warn: (m) => void warnings.push(m) },
      });
      await auth.ready;
      const res = { append: () => undefined, setHeader: () => undefined, headersSent: false } as never;
      const refused = (e: unknown) => e instanceof ConfigError && e.message.includes('lone UTF-16 surrogate');
      await assert.rejects(auth.login(res, { sub: LONE }), refused);
      await assert.rejects(auth.revokeUser(LONE), refused);
      await assert.rejects(auth.revokeSession('session-0123456789abcdef', { sub: LONE }), refused);
      await assert.rejects(auth.revokeSession('session-\uDC00-0123456789', { sub: 'alice' }), refused);
      const app = buildApp(express, auth);
      for (const claims of [{ sub: LONE }, { sid: 'session-\uDFFF0123456789ab' }]) {
        const token = signRaw(sessionPayload(claims), secret);
        assert.equal(errorCode(await request(app).get('/me').set('Cookie', `session=${token}`)), 'invalid_claims');
      }
      assert.deepEqual(warnings, [], 'never logged as an outage');
    });

    test('createRevocation: a token carrying one is refused (isRevoked true, check 401), revocations refuse it', async () => {
      const warnings: string[] = [];
      const revocation = createRevocation({ store: create(), logger: { warn: (m) => void warnings.push(m) } });
      await revocation.ready;
      const now = Math.floor(Date.now() / 1000);
      for (const claims of [
        { sub: LONE, jti: 'token-1' },
        { sub: 'alice', jti: 'token-\uD800' },
      ]) {
        const payload = { ...claims, iat: now - 10, exp: now + 3600 };
        assert.equal(await revocation.isRevoked({} as never, { payload } as never), true, JSON.stringify(claims));
        await assert.rejects(revocation.revokeToken(payload), ConfigError);
        const app = express();
        app.get(
          '/me',
          (req, _res, next) => (((req as { auth?: unknown }).auth = payload), next()),
          revocation.check,
          (_req, res) => {
            res.sendStatus(204);
          },
        );
        assert.equal(errorCode(await request(app).get('/me')), 'invalid_claims');
      }
      await assert.rejects(revocation.revokeUser(LONE), ConfigError);
      assert.deepEqual(warnings, [], 'never logged as an outage');
    });
  });
}
