// The store's server going away mid-run, for each server-backed store and each way a server goes away: a cut
// connection, a stopped and restarted process (the data kept), a frozen process (SIGSTOP). Protected routes
// answer 503 within storeTimeoutMs, never let a revoked session through, public routes keep working, and
// service resumes by itself, with the revocations made before the outage still holding.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { startFerretDb, type FerretDbServer } from '../ferretdb/launcher.js';
import { createSessionAuth, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { mongoUri } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { connectDriver, DRIVERS, randomPrefix } from '../support/redis-clients.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/** A busy 2-core machine (browser tests and `npm pack` run beside this file): the point is "bounded", not "fast". */
const MARGIN_MS = 5000;
const quiet = { warn: () => {} };

/** A store on a server of its own (or behind a proxy of its own) that the test can take away and give back. */
interface Outage {
  name: string;
  /** The instance's `storeTimeoutMs`: long enough for the server's first writes, short enough to mean "no hang". */
  storeTimeoutMs: number;
  open(): Promise<{
    store: RevocationStore;
    goDown(): Promise<void>;
    comeBack(): Promise<void>;
    /** A further check while the server is away. */
    whileDown?(): Promise<void>;
    close(): Promise<void>;
  }>;
}

const mongoStore = (uri: string) => {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  const dbName = `t_outage_${randomBytes(4).toString('hex')}`;
  const store = new MongoRevocationStore({ client, dbName, logger: quiet });
  return { client, store, dropDatabase: () => client.db(dbName).dropDatabase() };
};

const OUTAGES: Outage[] = [
  {
    name: 'MongoRevocationStore, the connection cut (any server)',
    storeTimeoutMs: 1500,
    async open() {
      const target = new URL(mongoUri().replace(/^mongodb:/, 'http:'));
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 27017));
      const { client, store, dropDatabase } = mongoStore(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`);
      return {
        store,
        goDown: () => proxy.cut(),
        comeBack: () => proxy.restore(),
        close: async () => {
          await dropDatabase().catch(() => undefined);
          await client.close();
          await proxy.close();
        },
      };
    },
  },
  {
    // The database really goes away, not only the connection.
    name: 'MongoRevocationStore, its FerretDB process stopped and started again',
    storeTimeoutMs: 1500,
    async open() {
      let server: FerretDbServer = await startFerretDb();
      const { client, store } = mongoStore(server.uri);
      return {
        store,
        goDown: () => server.stop({ keepData: true }),
        comeBack: async () => {
          server = await startFerretDb({ port: server.port, dataDir: server.dataDir });
        },
        close: async () => {
          await client.close();
          await server.stop();
          await rm(server.dataDir, { recursive: true, force: true }); // the restarted server was given the folder
        },
      };
    },
  },
  ...DRIVERS.flatMap((driver): Outage[] => {
    /** A redis-server of its own with AOF (revocations must survive the restart) and the store on `driver`. */
    const openRedis = async () => {
      const server: RedisServer = await startRedisServer({ persistent: true });
      const redis = await connectDriver(driver, server.url);
      const store = new RedisRevocationStore({
        client: redis.client,
        prefix: randomPrefix('outage'),
        commandTimeoutMs: 1500,
        logger: quiet,
      });
      return { server, redis, store };
    };
    return [
      {
        name: `RedisRevocationStore (${driver}), redis-server killed and restarted`,
        storeTimeoutMs: 500,
        async open() {
          const { redis, store, ...rest } = await openRedis();
          let server = rest.server;
          return {
            store,
            goDown: () => server.stop({ keepData: true }),
            comeBack: async () => {
              server = await startRedisServer({ port: server.port, dataDir: server.dataDir, persistent: true });
            },
            close: async () => {
              await redis.close();
              await server.stop();
            },
          };
        },
      },
      {
        name: `RedisRevocationStore (${driver}), redis-server frozen (SIGSTOP) and thawed`,
        storeTimeoutMs: 500,
        async open() {
          const { server, redis, store } = await openRedis();
          return {
            store,
            goDown: () => Promise.resolve(server.pause()),
            comeBack: () => Promise.resolve(server.resume()),
            // The store's own bound, not only the instance's: a frozen server never answers.
            whileDown: async () => {
              const started = Date.now();
              await assert.rejects(store.getState('alice', 'some-session', 0), /no answer from Redis within 1500 ms/);
              assert.ok(Date.now() - started < 1500 + MARGIN_MS, 'the store itself does not hang');
            },
            close: async () => {
              server.resume();
              await redis.close();
              await server.stop();
            },
          };
        },
      },
    ];
  }),
];

for (const outage of OUTAGES) {
  describe(`outage: ${outage.name}`, () => {
    let opened: Awaited<ReturnType<Outage['open']>>;
    let app: ReturnType<typeof buildApp>;
    const warnings: string[] = [];
    before(async () => {
      opened = await outage.open();
      const { store } = opened;
      // The server's first writes (collections, indexes, scripts) happen here, outside any request's timeout:
      // the test is about the outage.
      await store.init?.();
      await store.revokeSession('warm-up-session', 'warm-up', new Date(Date.now() + 60_000));
      await store.revokeUser('warm-up', new Date(), new Date(Date.now() + 60_000));
      await store.getState('warm-up', 'warm-up-session', Date.now());
      const auth = createSessionAuth({
        secret: testSecret(),
        store,
        cookie: { secure: false },
        storeTimeoutMs: outage.storeTimeoutMs,
        logger: { warn: (m) => warnings.push(m) },
      });
      app = buildApp(EXPRESS_VERSIONS[0].express, auth);
    });
    after(async () => {
      await opened?.close();
    });

    test('503 while the server is away, public routes work, recovery by itself, revocations kept', async () => {
      const login = async () =>
        cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
      const cookie = await login();
      const revoked = await login();
      assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
      assert.equal((await request(app).post('/logout').set('Cookie', revoked)).status, 204);

      await opened.goDown();
      try {
        const started = Date.now();
        const down = await request(app).get('/me').set('Cookie', cookie);
        assert.equal(down.status, 503);
        assert.equal(errorCode(down), 'revocation_unavailable');
        const elapsed = Date.now() - started;
        assert.ok(elapsed < outage.storeTimeoutMs + MARGIN_MS, `answered in ${elapsed} ms: no hang`);
        const replay = await request(app).get('/me').set('Cookie', revoked);
        assert.equal(errorCode(replay), 'revocation_unavailable', 'a revoked session is not let through');
        assert.equal((await request(app).get('/public').set('Cookie', cookie)).status, 200);
        assert.equal((await request(app).get('/public')).status, 200);
        await opened.whileDown?.();
      } finally {
        await opened.comeBack();
      }

      // eventually() throws if the app has not recovered within 30 s.
      await eventually(async () => (await request(app).get('/me').set('Cookie', cookie)).status === 200, 30_000);
      const after = await request(app).get('/me').set('Cookie', revoked);
      assert.equal(errorCode(after), 'session_revoked', 'revocations made before the outage still hold');
      assert.ok(
        warnings.some((w) => w.includes('protected routes answer 503')),
        warnings.join('\n'),
      );
      assert.ok(
        warnings.some((w) => w.includes('service resumed')),
        warnings.join('\n'),
      );
    });
  });
}
