// Two app instances sharing one store, each with a client of its own (as two processes would have; Express 5
// and Express 4): a logout on either is seen by the other on the very next request. For each shared store we
// ship, from one list: MongoDB (two MongoClients) and Redis (node-redis and ioredis).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { createSessionAuth, type RevocationStore } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { hasAtomicUpdates } from '../../lib/stores/mongodb/server-kind.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { createTestDb, mongoUri, type TestDb } from '../support/db.js';
import { connectDriver, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';

const quiet = { warn: () => {} };

/** A shared store: two stores on it, and what it holds, read from the store's own data. */
interface SharedStore {
  name: string;
  open(): Promise<{ stores: [RevocationStore, RevocationStore]; close: () => Promise<void> }>;
  /** The user's watermark as stored (ms), or undefined. */
  storedWatermark(sub: string): Promise<number | undefined>;
  /** A revoked session's stored end (ms), and how long its entry has left to live (ms) where the store says. */
  storedSessionEnd(sub: string, sessionId: string): Promise<{ end: number; ttl?: number } | undefined>;
}

let db: TestDb | undefined;
let otherClient: MongoClient | undefined;
let redis: TestRedisClient[] = [];
const prefix = randomPrefix('two-instances');

const SHARED: SharedStore[] = [
  {
    name: 'MongoRevocationStore',
    async open() {
      db = await createTestDb('two_instances');
      otherClient = new MongoClient(mongoUri());
      const stores: [RevocationStore, RevocationStore] = [
        new MongoRevocationStore({ client: db.client, dbName: db.dbName, logger: quiet }),
        new MongoRevocationStore({ client: otherClient, dbName: db.dbName, logger: quiet }),
      ];
      return {
        stores,
        close: async () => {
          await otherClient?.close();
          await db?.cleanup();
        },
      };
    },
    async storedWatermark(sub) {
      // Where the store keeps it: the user document (MongoDB) or its own collection (FerretDB).
      const state = (await hasAtomicUpdates(db!.db))
        ? await db!.db.collection('users').findOne({ _id: sub as never })
        : await db!.db.collection('revocation_users').findOne({ _id: `s:${sub}` as never });
      return (state?.lastLogoutAt as Date | undefined)?.getTime();
    },
    async storedSessionEnd(sub, sessionId) {
      const entry = await db!.db.collection('revoked_sessions').findOne({ sid: sessionId, sub });
      return entry === null ? undefined : { end: (entry.expiresAt as Date).getTime() };
    },
  },
  {
    name: 'RedisRevocationStore',
    async open() {
      redis = [await connectDriver('node-redis'), await connectDriver('ioredis')];
      const store = (c: TestRedisClient) => new RedisRevocationStore({ client: c.client, prefix, logger: quiet });
      return {
        stores: [store(redis[0]!), store(redis[1]!)],
        close: async () => {
          for (const c of redis) await c.close();
        },
      };
    },
    async storedWatermark(sub) {
      const stored = (await redis[0]!.command('GET', `${prefix}{${sub}}:u`)) as string | null;
      return stored === null ? undefined : Number(stored.split(':')[0]);
    },
    async storedSessionEnd(sub, sessionId) {
      const key = `${prefix}{${sub}}:s:${sessionId}`;
      const stored = await redis[1]!.command('GET', key);
      return stored === null ? undefined : { end: Number(stored), ttl: Number(await redis[1]!.command('PTTL', key)) };
    },
  },
];

for (const shared of SHARED) {
  describe(`two app instances on one ${shared.name}`, () => {
    let close: () => Promise<void>;
    let auths: ReturnType<typeof createSessionAuth>[];
    let apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];
    const secret = testSecret();
    before(async () => {
      const opened = await shared.open();
      close = opened.close;
      auths = opened.stores.map((store) =>
        createSessionAuth({ secret, store, cookie: { secure: false }, logger: quiet }),
      );
      await Promise.all(auths.map((a) => a.ready));
      apps = [buildApp(EXPRESS_VERSIONS[0].express, auths[0]!), buildApp(EXPRESS_VERSIONS[1].express, auths[1]!)];
    });
    after(async () => {
      await close();
    });

    const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
      cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);

    test('a device logged out on instance B is rejected by instance A at once; other devices keep working', async () => {
      const [a, b] = apps;
      const phone = await login(a, 'alice');
      const laptop = await login(b, 'alice');
      assert.equal((await request(a).get('/me').set('Cookie', phone)).status, 200);
      assert.equal((await request(b).post('/logout').set('Cookie', phone)).status, 204);
      assert.equal(errorCode(await request(a).get('/me').set('Cookie', phone)), 'session_revoked');
      assert.equal((await request(a).get('/me').set('Cookie', laptop)).status, 200);
    });

    test('logoutAll on A logs out devices checked by B; a login right after is accepted by both', async () => {
      const [a, b] = apps;
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
      const [a] = apps;
      assert.equal(await shared.storedWatermark('carol'), undefined);
      const cookie = await login(a, 'carol');
      assert.equal((await request(a).post('/logout-all').set('Cookie', cookie)).status, 204);
      assert.ok((await shared.storedWatermark('carol')) !== undefined, 'stored');
      assert.equal(errorCode(await request(a).get('/me').set('Cookie', cookie)), 'logged_out_everywhere');
    });

    test('concurrent logoutAlls on both instances never move the watermark backwards', async () => {
      const stamps: Date[] = [];
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          stamps.push(await auths[i % 2]!.revokeUser('dave'));
        }),
      );
      assert.equal(await shared.storedWatermark('dave'), Math.max(...stamps.map((d) => d.getTime())));
    });

    test('the revoked session entry outlives the session by the largest clock tolerance (300 s)', async () => {
      const [a] = apps;
      const res = await request(a).post('/login').send({ sub: 'erin' });
      const { sessionId } = res.body as { sessionId: string };
      await request(a).post('/logout').set('Cookie', cookieFrom(res.headers['set-cookie']));
      const payload = JSON.parse(
        Buffer.from(cookieFrom(res.headers['set-cookie']).split('.')[1] ?? '', 'base64url').toString(),
      ) as { sxp: number };
      const stored = await shared.storedSessionEnd('erin', sessionId);
      assert.equal(stored?.end, payload.sxp + 300_000);
      if (stored?.ttl !== undefined) {
        assert.ok(Math.abs(stored.ttl - (payload.sxp + 300_000 - Date.now())) < 5000, `expires in ${stored.ttl} ms`);
      }
    });
  });
}
