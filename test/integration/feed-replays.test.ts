// A logout replayed adds nothing to the change feed. `logout` ends every correctly signed cookie, also one that
// is already logged out (it may be a copy renewed elsewhere), and it needs no other credential: if each replay
// of one captured cookie added a feed entry, anyone holding one could fill the feed until the instances' copies
// stop being used (`maxRevocationDelay`), and make every instance read it all every 5 minutes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { buildApp, testSecret } from '../support/apps.js';
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
