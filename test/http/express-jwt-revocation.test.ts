// createRevocation with plain express-jwt and Bearer tokens minted by jsonwebtoken: the same rules as the
// cookie sessions, on the memory store and on the Mongo store.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import express, { type ErrorRequestHandler, type Request } from 'express';
import { expressjwt, type Request as JwtRequest } from 'express-jwt';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createRevocation, isSessionAuthError, MemoryRevocationStore, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { FlakyStore } from '../support/flaky-store.js';
import { createTestDb, type TestDb } from '../support/db.js';

const secret = randomBytes(32);
const quiet = { warn: () => undefined };
const sign = (claims: Record<string, unknown>) => jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: '1h' });

let testDb: TestDb | undefined;
after(async () => {
  await testDb?.cleanup();
});

const STORES: { name: string; create: () => Promise<RevocationStore> }[] = [
  { name: 'memory store', create: () => Promise.resolve(new MemoryRevocationStore()) },
  {
    name: 'Mongo store',
    create: async () => {
      testDb ??= await createTestDb('express_jwt');
      return new MongoRevocationStore({ client: testDb.client, dbName: testDb.dbName, logger: quiet });
    },
  },
];

/** The README's setup: express-jwt with isRevoked, routes that log out with revokeToken and revokeUser. */
function bearerApp(store: RevocationStore, storeTimeoutMs = 2000) {
  const revocation = createRevocation({ store, storeTimeoutMs, logger: quiet });
  const app = express();
  app.use(expressjwt({ secret, algorithms: ['HS256'], isRevoked: revocation.isRevoked }));
  app.get('/me', (req: JwtRequest, res) => {
    res.json(req.auth);
  });
  app.post('/logout', (req, res, next) => {
    revocation.revokeToken(revocation.claimsOf(req)).then(() => res.sendStatus(204), next);
  });
  app.post('/logout-all', (req, res, next) => {
    revocation.revokeUser(revocation.claimsOf(req).sub).then(() => res.sendStatus(204), next);
  });
  const onError: ErrorRequestHandler = (err: { status?: number; code?: string }, _req, res, _next) => {
    res.status(err.status ?? 500).json({ code: isSessionAuthError(err) ? err.code : err.code });
  };
  app.use(onError);
  return { app, revocation };
}

const get = (app: express.Express, token: string) => request(app).get('/me').set('Authorization', `Bearer ${token}`);
const post = (app: express.Express, path: string, token: string) =>
  request(app).post(path).set('Authorization', `Bearer ${token}`);
const codeOf = (res: request.Response) => (res.body as { code?: string }).code;

for (const { name, create } of STORES) {
  describe(`createRevocation with express-jwt and Bearer tokens (${name})`, () => {
    test('logging out one token ends it and no other', async () => {
      const { app } = bearerApp(await create());
      const sub = randomUUID();
      const phone = sign({ sub, sid: randomUUID() });
      const laptop = sign({ sub, sid: randomUUID() });
      assert.equal((await get(app, phone)).status, 200);
      assert.equal((await post(app, '/logout', phone)).status, 204);
      const replay = await get(app, phone);
      assert.equal(replay.status, 401);
      assert.equal(codeOf(replay), 'revoked_token');
      assert.equal((await get(app, laptop)).status, 200);
    });

    test('logging out everywhere ends every token of that user issued before it, not other users', async () => {
      const { app } = bearerApp(await create());
      const sub = randomUUID();
      const a = sign({ sub, sid: randomUUID() });
      const b = sign({ sub, jti: randomUUID() });
      const c = sign({ sub });
      const other = sign({ sub: randomUUID(), sid: randomUUID() });
      assert.equal((await post(app, '/logout-all', a)).status, 204);
      for (const token of [a, b, c]) assert.equal(codeOf(await get(app, token)), 'revoked_token');
      assert.equal((await get(app, other)).status, 200);
      const fresh = sign({ sub, sid: randomUUID() });
      assert.equal((await get(app, fresh)).status, 200, 'a token signed after revokeUser returned is accepted');
    });

    test('same second: a token signed in the second of the logout, before it, is rejected', async () => {
      const { app, revocation } = bearerApp(await create());
      const sub = randomUUID();
      // Start early in a second, so the token and the logout share it (iat is whole seconds).
      while (Date.now() % 1000 > 300) await new Promise((r) => setTimeout(r, 10));
      const before = sign({ sub, sid: randomUUID() });
      const watermark = await revocation.revokeUser(sub);
      assert.equal(Math.floor(watermark.getTime() / 1000), (jwt.decode(before) as { iat: number }).iat, 'same second');
      assert.equal(codeOf(await get(app, before)), 'revoked_token');
      // revokeUser returned only in the next second: a token signed now has a later iat and is accepted.
      const afterwards = sign({ sub, sid: randomUUID() });
      assert.ok((jwt.decode(afterwards) as { iat: number }).iat * 1000 > watermark.getTime());
      assert.equal((await get(app, afterwards)).status, 200);
    });

    test('a token with only jti is revoked by revokeToken; one with neither sid nor jti is refused clearly', async () => {
      const { app, revocation } = bearerApp(await create());
      const sub = randomUUID();
      const withJti = sign({ sub, jti: randomUUID() });
      assert.equal((await post(app, '/logout', withJti)).status, 204);
      assert.equal(codeOf(await get(app, withJti)), 'revoked_token');
      const bare = { sub, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
      await assert.rejects(revocation.revokeToken(bare), /needs a token with a `sid` or `jti` claim/);
      const noSub = sign({ sid: randomUUID() });
      assert.equal(codeOf(await get(app, noSub)), 'revoked_token', 'a token without sub is rejected');
    });
  });
}

describe('createRevocation: claims changes (refreshClaims)', () => {
  for (const { name, create } of STORES) {
    test(`${name}: a token issued before the change is revoked_token through isRevoked and claims_stale through check; one issued after passes`, async () => {
      const store = await create();
      const { app, revocation } = bearerApp(store);
      const checked = express();
      checked.use(expressjwt({ secret, algorithms: ['HS256'] }));
      checked.get('/me', revocation.check, (_req: Request, res) => {
        res.json({ ok: true });
      });
      checked.use(((err: { status?: number }, _req, res, _next) => {
        res.status(err.status ?? 500).json(err);
      }) as ErrorRequestHandler);
      const sub = randomUUID();
      const other = randomUUID();
      const before = sign({ sub, sid: randomUUID() });
      const bystander = sign({ sub: other, sid: randomUUID() });
      assert.equal((await get(app, before)).status, 200);
      await revocation.refreshClaims(sub);
      const viaIsRevoked = await get(app, before);
      assert.deepEqual([viaIsRevoked.status, codeOf(viaIsRevoked)], [401, 'revoked_token']);
      const viaCheck = await get(checked, before);
      assert.deepEqual(
        [viaCheck.status, (viaCheck.body as { error: { code: string } }).error.code],
        [401, 'claims_stale'],
      );
      assert.equal((await get(app, bystander)).status, 200, 'other users are untouched');
      const after = sign({ sub, sid: randomUUID() }); // refreshClaims waited for the next whole second
      assert.equal((await get(app, after)).status, 200, 'a token issued after the change, with fresh claims');
      assert.equal((await get(checked, after)).status, 200);
      // A token that says when its claims were loaded (`cla`, beside `iat_ms`) is judged by that time.
      const reloaded = sign({ sub, sid: randomUUID(), iat_ms: Date.now(), cla: Date.now() - 60_000 });
      assert.equal(codeOf(await get(app, reloaded)), 'revoked_token', 'its claims predate the change');
    });
  }
});

describe('createRevocation: outages and the check middleware', () => {
  test('isRevoked fails closed within storeTimeoutMs: 503 revocation_unavailable reaches the error handler', async () => {
    const store = new FlakyStore();
    const { app } = bearerApp(store, 200);
    const token = sign({ sub: 'ivy', sid: randomUUID() });
    for (const mode of ['error', 'hang'] as const) {
      store.mode = mode;
      const started = Date.now();
      const res = await get(app, token);
      assert.equal(res.status, 503, mode);
      assert.equal(codeOf(res), 'revocation_unavailable');
      assert.ok(Date.now() - started < 1500, `${mode}: answered in ${Date.now() - started} ms`);
      store.recover();
    }
    assert.equal((await get(app, token)).status, 200);
    store.close();
  });

  test('revocation.check after any verifier answers with our JSON error codes', async () => {
    const store = new FlakyStore();
    const revocation = createRevocation({
      store,
      storeTimeoutMs: 200,
      logger: quiet,
      issuedAtPrecision: 'milliseconds',
    });
    const app = express();
    app.use(expressjwt({ secret, algorithms: ['HS256'], credentialsRequired: false }));
    app.get('/me', revocation.check, (_req: Request, res) => {
      res.json({ ok: true });
    });
    const sub = randomUUID();
    const sid = randomUUID();
    const token = sign({ sub, sid, iat_ms: Date.now() });
    assert.equal((await get(app, token)).status, 200);
    await revocation.revokeSession(sid, { sub });
    const revoked = await get(app, token);
    assert.deepEqual(
      [revoked.status, (revoked.body as { error: { code: string } }).error.code],
      [401, 'session_revoked'],
    );
    const other = sign({ sub, sid: randomUUID(), iat_ms: Date.now() - 10 });
    await revocation.revokeUser(sub);
    assert.equal((await get(app, other)).body.error.code, 'logged_out_everywhere');
    store.mode = 'error';
    const down = await get(app, sign({ sub: 'x', sid: randomUUID() }));
    assert.deepEqual(
      [down.status, (down.body as { error: { code: string } }).error.code],
      [503, 'revocation_unavailable'],
    );
    store.recover();
    const none = await request(app).get('/me');
    assert.deepEqual(
      [none.status, (none.body as { error: { code: string } }).error.code],
      [401, 'credentials_required'],
    );
    store.close();
  });

  test('misconfiguration fails at startup with the option named', () => {
    assert.throws(() => createRevocation({} as never), /`store` is missing/);
    assert.throws(
      () => createRevocation({ store: new MemoryRevocationStore(), storeTimeout: 5 } as never),
      /did you mean `storeTimeoutMs`/,
    );
  });
});

describe('claimsOf: the verified payload of a route behind express-jwt, without ! or ?.', () => {
  test('gives the payload; no payload is credentials_required, one without sub or exp is invalid_claims', () => {
    const revocation = createRevocation({ store: new MemoryRevocationStore(), logger: quiet });
    const now = Math.floor(Date.now() / 1000);
    const payload = { sub: 'ann', jti: 'j-1', iat: now, exp: now + 60, role: 'admin' };
    const req = (auth?: unknown) => ({ auth }) as unknown as Request;
    assert.deepEqual(revocation.claimsOf(req(payload)), payload);
    const codeOfThrow = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isSessionAuthError(error) ? error.code : String(error);
      }
      return 'no error';
    };
    assert.equal(
      codeOfThrow(() => revocation.claimsOf(req())),
      'credentials_required',
    );
    assert.equal(
      codeOfThrow(() => revocation.claimsOf(req({ iat: now, exp: now + 60 }))),
      'invalid_claims',
    );
    assert.equal(
      codeOfThrow(() => revocation.claimsOf(req({ sub: 'ann', iat: now }))),
      'invalid_claims',
    );
  });
});
