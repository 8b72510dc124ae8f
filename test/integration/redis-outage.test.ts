// Redis going away mid-run, with each driver: the server killed and restarted, then frozen (SIGSTOP) and
// thawed. Protected routes answer 503 within storeTimeoutMs, public ones keep working, service resumes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { connectDriver, DRIVERS, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

const STORE_TIMEOUT_MS = 500;
const MARGIN_MS = 2500; // a busy 2-core machine; the point is "bounded", not "fast"

for (const driver of DRIVERS) {
  describe(`Redis outage (${driver}, its own redis-server)`, () => {
    let server: RedisServer;
    let redis: TestRedisClient;
    let store: RedisRevocationStore;
    let app: ReturnType<typeof buildApp>;
    const warnings: string[] = [];
    let cookie: string;
    let revoked: string;

    before(async () => {
      server = await startRedisServer({ persistent: true });
      redis = await connectDriver(driver, server.url);
      store = new RedisRevocationStore({
        client: redis.client,
        prefix: randomPrefix('outage'),
        commandTimeoutMs: 1500,
        logger: { warn: () => {} },
      });
      const auth = createSessionAuth({
        secret: testSecret(),
        store,
        cookie: { secure: false },
        storeTimeoutMs: STORE_TIMEOUT_MS,
        logger: { warn: (m) => warnings.push(m) },
      });
      app = buildApp(EXPRESS_VERSIONS[0].express, auth);
      cookie = cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
      revoked = cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
      assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
      assert.equal((await request(app).post('/logout').set('Cookie', revoked)).status, 204);
    });
    after(async () => {
      await redis.close();
      await server.stop();
    });

    async function expectUnavailable(): Promise<void> {
      const started = Date.now();
      const down = await request(app).get('/me').set('Cookie', cookie);
      assert.equal(down.status, 503);
      assert.equal(errorCode(down), 'revocation_unavailable');
      assert.ok(Date.now() - started < STORE_TIMEOUT_MS + MARGIN_MS, `answered in ${Date.now() - started} ms`);
      assert.equal(errorCode(await request(app).get('/me').set('Cookie', revoked)), 'revocation_unavailable');
      assert.equal((await request(app).get('/public').set('Cookie', cookie)).status, 200);
    }

    async function expectRecovered(): Promise<void> {
      await eventually(async () => (await request(app).get('/me').set('Cookie', cookie)).status === 200, 30_000);
      assert.equal(errorCode(await request(app).get('/me').set('Cookie', revoked)), 'session_revoked');
    }

    test('killed and restarted: 503 while down, recovery by itself, revocations kept (AOF)', async () => {
      warnings.length = 0;
      const { port, dataDir } = server;
      await server.stop({ keepData: true });
      await expectUnavailable();
      server = await startRedisServer({ port, dataDir, persistent: true });
      await expectRecovered();
      assert.ok(warnings.some((w) => w.includes('protected routes answer 503')));
      assert.ok(warnings.some((w) => w.includes('service resumed')));
    });

    test('frozen with SIGSTOP: 503 within storeTimeoutMs, the store gives up by itself, recovery after SIGCONT', async () => {
      warnings.length = 0;
      server.pause();
      try {
        await expectUnavailable();
        const started = Date.now();
        await assert.rejects(store.getState('alice', 'some-session', 0), /no answer from Redis within 1500 ms/);
        assert.ok(Date.now() - started < 1500 + MARGIN_MS, 'the store itself does not hang');
      } finally {
        server.resume();
      }
      await expectRecovered();
      assert.ok(warnings.some((w) => w.includes('service resumed')));
    });
  });
}
