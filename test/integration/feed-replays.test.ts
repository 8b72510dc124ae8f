// A logout replayed adds nothing to the change feed. `logout` ends every correctly signed cookie, also one that
// is already logged out (it may be a copy renewed elsewhere), and it needs no other credential: if each replay
// of one captured cookie added a feed entry, anyone holding one could fill the feed until the instances' copies
// stop being used (`maxRevocationDelay`), and make every instance read it all every 5 minutes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { buildApp, testSecret } from '../support/apps.js';
import { createTestDb } from '../support/db.js';
import { shippedStores } from '../support/stores.js';

const HOUR = 3_600_000;

for (const { name, create } of shippedStores('feed_replays')) {
  describe(`a repeated revocation adds no feed entry (${name})`, () => {
    test('one logged-out cookie replayed to POST /logout 20 times: one feed entry, the session stays revoked', async () => {
      const { store } = create();
      const auth = createSessionAuth({
        secret: testSecret(),
        store,
        cookie: { secure: false },
        logger: { warn: () => {} },
        maxRevocationDelay: '1s',
      });
      await auth.ready;
      const app = buildApp(express, auth);
      const login = await request(app).post('/login').send({ sub: 'mallory' }).expect(200);
      const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] ?? '';
      const { sessionId } = login.body as { sessionId: string };
      for (let i = 0; i < 20; i++) await request(app).post('/logout').set('Cookie', cookie).expect(204);
      const feed = await store.readFeed!(null, 1000);
      const mine = feed.changes.filter((c) => c.sub === 'mallory');
      assert.equal(mine.length, 1, JSON.stringify(mine));
      assert.equal(mine[0]?.kind === 'session' && mine[0].sessionId, sessionId);
      assert.equal((await store.getState('mallory', sessionId, Date.now() - 1000)).sessionRevoked, true);
      await request(app).get('/me').set('Cookie', cookie).expect(401);
      await auth.close();
    });

    test('a revocation that lasts longer than the one before still reaches the feed, with its later end', async () => {
      const { store } = create();
      await store.init?.({ logger: { warn: () => {} } });
      const end = Math.ceil(Date.now() / 1000) * 1000 + HOUR;
      const trudys = async () =>
        (await store.readFeed!(null, 1000)).changes.flatMap((c) =>
          c.kind === 'session' && c.sub === 'trudy' ? [c.expiresAt.getTime()] : [],
        );
      await store.revokeSession('session-feed-replay-0001', 'trudy', new Date(end));
      await store.revokeSession('session-feed-replay-0001', 'trudy', new Date(end)); // the same again
      assert.deepEqual(await trudys(), [end]);
      await store.revokeSession('session-feed-replay-0001', 'trudy', new Date(end + HOUR)); // longer: a change
      assert.equal(Math.max(...(await trudys())), end + HOUR, 'the later end is in the feed');
    });
  });
}

describe('a repeated revocation adds no feed entry (MongoRevocationStore): decided by the feed itself', () => {
  test('a session revoked without a feed entry (an older build, another feedCollection) gets one on the next logout', async () => {
    const db = await createTestDb('feed_replays_older');
    try {
      const quiet = { logger: { warn: () => {} } };
      const elsewhere = new MongoRevocationStore({ db: db.db, feedCollection: 'another_feed', ...quiet });
      const store = new MongoRevocationStore({ db: db.db, ...quiet });
      const end = new Date(Math.ceil(Date.now() / 1000) * 1000 + HOUR);
      await elsewhere.revokeSession('session-feed-replay-0002', 'alice', end);
      assert.deepEqual((await store.readFeed(null, 1000)).changes, [], 'nothing in this feed yet');
      await store.revokeSession('session-feed-replay-0002', 'alice', end);
      assert.deepEqual((await store.readFeed(null, 1000)).changes, [
        { kind: 'session', sessionId: 'session-feed-replay-0002', sub: 'alice', expiresAt: end },
      ]);
    } finally {
      await db.cleanup();
    }
  });
});
