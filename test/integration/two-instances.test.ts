// Two app instances sharing one store, each with a client of its own (as two processes would have; Express 5
// and Express 4), for each shared store we ship, from one list: MongoDB (two MongoClients) and Redis (node-redis
// and ioredis). Exact (the default): a logout on either is seen by the other on the very next request. With
// maxRevocationDelay: each keeps every revocation in memory (the store's change feed), answers checks without
// reading the revocation state, and sees the other's logouts within the bound.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { createSessionAuth, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { hasAtomicUpdates } from '../../lib/stores/mongodb/server-kind.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { createTestDb, mongoUri } from '../support/db.js';
import { connectClusterDriver, connectDriver, randomPrefix } from '../support/redis-clients.js';

const quiet = { warn: () => {} };
/** Long enough that a slow read of the feed, under the load of the other tests, cannot leave the copy too old. */
const DELAY_MS = 1000;
/** What a read of the feed and a request may add to the bound on a loaded test machine. */
const SLACK_MS = 1000;

/** Two stores on one shared database, and what it holds, read from the store's own data. */
interface Shared {
  stores: [RevocationStore, RevocationStore];
  close(): Promise<void>;
  /** The user's watermark as stored (ms), or undefined. */
  storedWatermark(sub: string): Promise<number | undefined>;
  /** A revoked session's stored end (ms), and how long its entry has left to live (ms) where the store says. */
  storedSessionEnd(sub: string, sessionId: string): Promise<{ end: number; ttl?: number } | undefined>;
  /** Makes the change feed begin a minute ago (sessions signed in before its start are checked exactly). */
  backdateFeed(): Promise<void>;
}

const SHARED: { name: string; open(): Promise<Shared> }[] = [
  {
    name: 'MongoRevocationStore',
    async open() {
      const t = await createTestDb('two_instances');
      const other = new MongoClient(mongoUri());
      return {
        stores: [
          new MongoRevocationStore({ client: t.client, dbName: t.dbName, logger: quiet }),
          new MongoRevocationStore({ client: other, dbName: t.dbName, logger: quiet }),
        ],
        close: async () => {
          await other.close();
          await t.cleanup();
        },
        async storedWatermark(sub) {
          // Where the store keeps it: the user document (MongoDB) or its own collection (FerretDB).
          const state = (await hasAtomicUpdates(t.db))
            ? await t.db.collection('users').findOne({ _id: sub as never })
            : await t.db.collection('revocation_users').findOne({ _id: `s:${sub}` as never });
          return (state?.lastLogoutAt as Date | undefined)?.getTime();
        },
        async storedSessionEnd(sub, sessionId) {
          const entry = await t.db.collection('revoked_sessions').findOne({ sid: sessionId, sub });
          return entry === null ? undefined : { end: (entry.expiresAt as Date).getTime() };
        },
        backdateFeed: async () => {
          await t.db
            .collection<{ _id: string; startedAt: Date }>('revocation_feed')
            .insertOne({ _id: 'started', startedAt: new Date(Date.now() - 60_000) });
        },
      };
    },
  },
  ...(['one node', 'a Redis Cluster'] as const).map((where) => ({
    name: `RedisRevocationStore on ${where}`,
    async open(): Promise<Shared> {
      const prefix = randomPrefix('two-instances');
      // One instance on node-redis, the other on ioredis (their cluster clients on the cluster).
      const connect = where === 'one node' ? connectDriver : connectClusterDriver;
      const [one, two] = [await connect('node-redis'), await connect('ioredis')];
      // On the cluster the change feed is spread over four slots.
      const feedSlots = where === 'one node' ? 1 : 4;
      const store = (c: typeof one) => new RedisRevocationStore({ client: c.client, prefix, feedSlots, logger: quiet });
      return {
        stores: [store(one), store(two)],
        close: async () => {
          await one.close();
          await two.close();
        },
        async storedWatermark(sub) {
          const stored = (await one.command('GET', `${prefix}{${sub}}:u`)) as string | null;
          return stored === null ? undefined : Number(stored.split(':')[0]);
        },
        async storedSessionEnd(sub, sessionId) {
          const key = `${prefix}{${sub}}:s:${sessionId}`;
          const stored = await two.command('GET', key);
          return stored === null ? undefined : { end: Number(stored), ttl: Number(await two.command('PTTL', key)) };
        },
        backdateFeed: async () => {
          await one.command('SET', `${prefix}{feed}:start`, String(Date.now() - 60_000));
        },
      };
    },
  })),
];

const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
  cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
const me = async (app: ReturnType<typeof buildApp>, cookie: string) =>
  (await request(app).get('/me').set('Cookie', cookie)).status;

/** Opens `shared` in a `before` and two instances on it (Express 5 and 4); closes it in an `after`. */
function twoInstances(
  open: () => Promise<Shared>,
  options: { maxRevocationDelay?: number; watch?: (stores: Shared['stores']) => void } = {},
) {
  const { watch, ...settings } = options;
  const handle = {} as {
    shared: Shared;
    auths: ReturnType<typeof createSessionAuth>[];
    apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];
  };
  const secret = testSecret();
  before(async () => {
    handle.shared = await open();
    if (settings.maxRevocationDelay !== undefined) await handle.shared.backdateFeed();
    watch?.(handle.shared.stores);
    handle.auths = handle.shared.stores.map((store) =>
      createSessionAuth({ secret, store, cookie: { secure: false }, logger: quiet, ...settings }),
    );
    await Promise.all(handle.auths.map((a) => a.ready));
    handle.apps = [
      buildApp(EXPRESS_VERSIONS[0].express, handle.auths[0]!),
      buildApp(EXPRESS_VERSIONS[1].express, handle.auths[1]!),
    ];
  });
  after(async () => {
    await handle.shared?.close();
  });
  return handle;
}

for (const shared of SHARED) {
  describe(`two app instances on one ${shared.name}`, () => {
    const instances = twoInstances(() => shared.open());
    test('a device logged out on instance B is rejected by instance A at once; other devices keep working', async () => {
      const [a, b] = instances.apps;
      const phone = await login(a, 'alice');
      const laptop = await login(b, 'alice');
      assert.equal((await request(a).get('/me').set('Cookie', phone)).status, 200);
      assert.equal((await request(b).post('/logout').set('Cookie', phone)).status, 204);
      assert.equal(errorCode(await request(a).get('/me').set('Cookie', phone)), 'session_revoked');
      assert.equal((await request(a).get('/me').set('Cookie', laptop)).status, 200);
    });

    test('logoutAll on A logs out devices checked by B; a login right after is accepted by both', async () => {
      const [a, b] = instances.apps;
      const devices = [await login(a, 'bob'), await login(b, 'bob')];
      assert.equal((await request(a).post('/logout-all').set('Cookie', devices[0]!)).status, 204);
      for (const device of devices) {
        assert.equal(errorCode(await request(b).get('/me').set('Cookie', device)), 'logged_out_everywhere');
        assert.equal(errorCode(await request(a).get('/me').set('Cookie', device)), 'logged_out_everywhere');
      }
      const fresh = await login(a, 'bob');
      assert.equal((await request(b).get('/me').set('Cookie', fresh)).status, 200);
    });

    test('logoutAll works for a user the store has never seen, and stores the watermark', async () => {
      const [a] = instances.apps;
      assert.equal(await instances.shared.storedWatermark('carol'), undefined);
      const cookie = await login(a, 'carol');
      assert.equal((await request(a).post('/logout-all').set('Cookie', cookie)).status, 204);
      assert.ok((await instances.shared.storedWatermark('carol')) !== undefined, 'stored');
      assert.equal(errorCode(await request(a).get('/me').set('Cookie', cookie)), 'logged_out_everywhere');
    });

    test('concurrent logoutAlls on both instances never move the watermark backwards', async () => {
      const stamps: Date[] = [];
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          stamps.push(await instances.auths[i % 2]!.revokeUser('dave'));
        }),
      );
      assert.equal(await instances.shared.storedWatermark('dave'), Math.max(...stamps.map((d) => d.getTime())));
    });

    test('the revoked session entry outlives the session by the largest clock tolerance (300 s)', async () => {
      const [a] = instances.apps;
      const res = await request(a).post('/login').send({ sub: 'erin' });
      const { sessionId } = res.body as { sessionId: string };
      await request(a).post('/logout').set('Cookie', cookieFrom(res.headers['set-cookie']));
      const payload = JSON.parse(
        Buffer.from(cookieFrom(res.headers['set-cookie']).split('.')[1] ?? '', 'base64url').toString(),
      ) as { sxp: number };
      const stored = await instances.shared.storedSessionEnd('erin', sessionId);
      assert.equal(stored?.end, payload.sxp + 300_000);
      if (stored?.ttl !== undefined) {
        assert.ok(Math.abs(stored.ttl - (payload.sxp + 300_000 - Date.now())) < 5000, `expires in ${stored.ttl} ms`);
      }
    });
  });

  describe(`maxRevocationDelay on ${shared.name}: two instances, every revocation in memory`, () => {
    /** Calls of instance B's store `getState`: the per-check reads, counted from before the instance exists. */
    const readsOfB: string[] = [];
    const instances = twoInstances(() => shared.open(), {
      maxRevocationDelay: DELAY_MS,
      watch: ([, storeB]) => {
        const getState = storeB.getState.bind(storeB);
        storeB.getState = (sub, sessionId, signedInAtMs) => {
          readsOfB.push(sub);
          return getState(sub, sessionId, signedInAtMs);
        };
      },
    });

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
      const [a, b] = instances.apps;
      const cookies = [];
      for (let i = 0; i < 10; i++) cookies.push(await login(a, `user-${i}`));
      readsOfB.length = 0;
      for (const cookie of cookies) assert.equal(await me(b, cookie), 200);
      assert.deepEqual(readsOfB, [], 'no per-check read of the store');
    });

    test('a logout on A: refused by A at once, by B within the delay (plus a read)', async () => {
      const [a, b] = instances.apps;
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
      const [a, b] = instances.apps;
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
