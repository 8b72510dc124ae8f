// Two app instances sharing one database: a logout on either is seen by the other on the very next request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { buildApp, cookieFrom, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { hasAtomicUpdates } from '../../lib/stores/mongodb/server-kind.js';
import { createTestDb, mongoUri, type TestDb } from '../support/db.js';

const code = (res: request.Response) => (res.body as { error?: { code?: string } }).error?.code;

describe('two app instances, one database', () => {
  let t: TestDb;
  let otherClient: MongoClient;
  let apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];
  let auths: ReturnType<typeof createSessionAuth>[];
  const secret = testSecret();

  before(async () => {
    t = await createTestDb('shared');
    otherClient = new MongoClient(mongoUri());
    const quiet = { warn: () => {} };
    // Separate clients, stores and auth instances, as two processes would have; Express 5 and Express 4.
    auths = [
      createSessionAuth({
        secret,
        store: new MongoRevocationStore({ client: t.client, dbName: t.dbName, logger: quiet }),
        cookie: { secure: false },
        logger: quiet,
      }),
      createSessionAuth({
        secret,
        store: new MongoRevocationStore({ client: otherClient, dbName: t.dbName, logger: quiet }),
        cookie: { secure: false },
        logger: quiet,
      }),
    ];
    await Promise.all(auths.map((a) => a.ready));
    apps = [buildApp(EXPRESS_VERSIONS[0].express, auths[0]!), buildApp(EXPRESS_VERSIONS[1].express, auths[1]!)];
  });
  after(async () => {
    await otherClient.close();
    await t.cleanup();
  });

  /** The user's state where the store keeps it: the user document (MongoDB) or its own collection (FerretDB). */
  const storedState = async (sub: string) =>
    (await hasAtomicUpdates(t.db))
      ? t.db.collection('users').findOne({ _id: sub as never })
      : t.db.collection('revocation_users').findOne({ _id: `s:${sub}` as never });

  const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
    cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);

  test('a device logged out on instance B is rejected by instance A at once; other devices keep working', async () => {
    const [a, b] = apps;
    const phone = await login(a, 'alice');
    const laptop = await login(b, 'alice');
    assert.equal((await request(a).get('/me').set('Cookie', phone)).status, 200);
    assert.equal((await request(b).post('/logout').set('Cookie', phone)).status, 204);
    assert.equal(code(await request(a).get('/me').set('Cookie', phone)), 'session_revoked');
    assert.equal((await request(a).get('/me').set('Cookie', laptop)).status, 200);
  });

  test('logoutAll on A logs out devices checked by B; a login right after is accepted by both', async () => {
    const [a, b] = apps;
    const devices = [await login(a, 'bob'), await login(b, 'bob')];
    assert.equal((await request(a).post('/logout-all').set('Cookie', devices[0]!)).status, 204);
    for (const device of devices) {
      assert.equal(code(await request(b).get('/me').set('Cookie', device)), 'logged_out_everywhere');
      assert.equal(code(await request(a).get('/me').set('Cookie', device)), 'logged_out_everywhere');
    }
    const fresh = await login(a, 'bob');
    assert.equal((await request(b).get('/me').set('Cookie', fresh)).status, 200);
  });

  test('logoutAll works for a user with no document yet, and stores lastLogoutAt (on users._id = sub with MongoDB)', async () => {
    const [a] = apps;
    assert.equal(await t.db.collection('users').countDocuments({ _id: 'carol' as never }), 0);
    const cookie = await login(a, 'carol');
    assert.equal((await request(a).post('/logout-all').set('Cookie', cookie)).status, 204);
    const doc = await storedState('carol');
    assert.ok(doc?.lastLogoutAt instanceof Date);
    assert.equal(code(await request(a).get('/me').set('Cookie', cookie)), 'logged_out_everywhere');
  });

  test('concurrent logoutAlls on both instances never move lastLogoutAt backwards', async () => {
    const sub = 'dave';
    const stamps: Date[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        stamps.push(await auths[i % 2]!.revokeUser(sub));
      }),
    );
    const doc = await storedState(sub);
    assert.equal((doc?.lastLogoutAt as Date).getTime(), Math.max(...stamps.map((d) => d.getTime())));
  });

  test('the revoked session entry outlives the session by the largest clock tolerance (300 s)', async () => {
    const [a] = apps;
    const res = await request(a).post('/login').send({ sub: 'erin' });
    const { sessionId } = res.body as { sessionId: string };
    await request(a).post('/logout').set('Cookie', cookieFrom(res.headers['set-cookie']));
    const entry = await t.db.collection('revoked_sessions').findOne({ sid: sessionId });
    const payload = JSON.parse(
      Buffer.from(cookieFrom(res.headers['set-cookie']).split('.')[1] ?? '', 'base64url').toString(),
    ) as { sxp: number };
    assert.equal((entry?.expiresAt as Date).getTime(), payload.sxp + 300_000);
    assert.equal(entry?.sub, 'erin');
  });
});
