// maxRevocationDelay on real databases (MongoDB-wire and Redis): two instances keep every revocation in memory
// (the store's change feed), answer checks without reading the revocation state, and see each other's
// logouts within the bound.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { createSessionAuth, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { buildApp, cookieFrom, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { createTestDb, mongoUri } from '../support/db.js';
import { connectDriver, randomPrefix } from '../support/redis-clients.js';

/** Long enough that a slow read of the feed, under the load of the other tests, cannot leave the copy too old. */
const DELAY_MS = 1000;
/** What a read of the feed and a request may add to the bound on a loaded test machine. */
const SLACK_MS = 1000;
const quiet = { warn: () => undefined };

interface Backend {
  name: string;
  /** Two stores on one database whose feed began a minute ago, and how to let go of them. */
  open(): Promise<{ stores: [RevocationStore, RevocationStore]; close(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'MongoRevocationStore',
    async open() {
      const t = await createTestDb('bounded_delay');
      // The feed began a minute ago (sessions signed in before its start would be checked per user instead).
      await t.db
        .collection<{ _id: string; startedAt: Date }>('revocation_feed')
        .insertOne({ _id: 'started', startedAt: new Date(Date.now() - 60_000) });
      const other = new MongoClient(mongoUri());
      const stores = [t.client, other].map(
        (client) => new MongoRevocationStore({ client, dbName: t.dbName, logger: quiet }),
      ) as unknown as [RevocationStore, RevocationStore];
      return {
        stores,
        close: async () => {
          await other.close();
          await t.cleanup();
        },
      };
    },
  },
  {
    name: 'RedisRevocationStore',
    async open() {
      const prefix = randomPrefix('bounded-delay');
      const clients = [await connectDriver('node-redis'), await connectDriver('ioredis')];
      await clients[0]!.command('SET', `${prefix}{feed}:start`, String(Date.now() - 60_000));
      const stores = clients.map(
        (c) => new RedisRevocationStore({ client: c.client, prefix, logger: quiet }),
      ) as unknown as [RevocationStore, RevocationStore];
      return {
        stores,
        close: async () => {
          for (const c of clients) await c.close();
        },
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`maxRevocationDelay on ${backend.name}: two instances, every revocation in memory`, () => {
    let apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];
    let close: () => Promise<void>;
    /** Calls of instance B's store `getState`: the per-check reads. */
    const readsOfB: string[] = [];
    const secret = testSecret();

    before(async () => {
      const opened = await backend.open();
      close = () => opened.close();
      const [storeA, storeB] = opened.stores;
      const getState = storeB.getState.bind(storeB);
      storeB.getState = (sub, sessionId, signedInAtMs) => {
        readsOfB.push(sub);
        return getState(sub, sessionId, signedInAtMs);
      };
      const auths = [storeA, storeB].map((store) =>
        createSessionAuth({
          secret,
          store,
          cookie: { secure: false },
          logger: quiet,
          maxRevocationDelay: DELAY_MS,
        }),
      );
      await Promise.all(auths.map((a) => a.ready));
      apps = [buildApp(EXPRESS_VERSIONS[0].express, auths[0]!), buildApp(EXPRESS_VERSIONS[1].express, auths[1]!)];
    });
    after(async () => {
      await close();
    });

    const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
      cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
    const me = async (app: ReturnType<typeof buildApp>, cookie: string) =>
      (await request(app).get('/me').set('Cookie', cookie)).status;

    /** Asks `app` with `cookie` until refused: ms from `since` to the last answer that still accepted it. */
    async function lastAcceptedAfter(app: ReturnType<typeof buildApp>, cookie: string, since: number) {
      let last = 0;
      for (;;) {
        const status = await me(app, cookie);
        const at = performance.now();
        if (status === 401) return last;
        assert.equal(status, 200);
        last = at - since;
        assert.ok(last < DELAY_MS + SLACK_MS, `still accepted ${Math.round(last)} ms after the logout`);
      }
    }

    test('instance B answers checks of many users without reading their revocation state', async () => {
      const [a, b] = apps;
      const cookies = [];
      for (let i = 0; i < 10; i++) cookies.push(await login(a, `user-${i}`));
      readsOfB.length = 0;
      for (const cookie of cookies) assert.equal(await me(b, cookie), 200);
      assert.deepEqual(readsOfB, [], 'no per-check read of the store');
    });

    test('a logout on A: refused by A at once, by B within the delay (plus a read)', async () => {
      const [a, b] = apps;
      const phone = await login(a, 'alice');
      const laptop = await login(b, 'alice');
      assert.equal(await me(b, phone), 200);
      assert.equal((await request(a).post('/logout').set('Cookie', phone)).status, 204);
      const loggedOut = performance.now();
      assert.equal(await me(a, phone), 401);
      const delay = await lastAcceptedAfter(b, phone, loggedOut);
      assert.ok(delay <= DELAY_MS + SLACK_MS, `${delay} ms`);
      assert.equal(await me(b, laptop), 200, 'the other device is not affected');
    });

    test('a logoutAll on B: refused by B at once, by A within the delay (plus a read), for every device', async () => {
      const [a, b] = apps;
      const phone = await login(a, 'bob');
      const laptop = await login(a, 'bob');
      assert.equal(await me(a, laptop), 200);
      assert.equal((await request(b).post('/logout-all').set('Cookie', phone)).status, 204);
      const loggedOut = performance.now();
      assert.equal(await me(b, laptop), 401);
      await lastAcceptedAfter(a, laptop, loggedOut);
      assert.equal(await me(a, phone), 401);
      const again = await login(a, 'bob');
      assert.equal(await me(b, again), 200, 'a sign-in after the logout is accepted by both');
      assert.equal(await me(a, again), 200);
    });
  });
}
