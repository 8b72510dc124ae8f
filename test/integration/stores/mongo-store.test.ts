import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { MongoClient, ObjectId, type Document } from 'mongodb';
import request from 'supertest';
import { ConfigError, createSessionAuth, MemoryRevocationStore } from '../../../lib/index.js';
import { MongoRevocationStore } from '../../../lib/mongodb.js';
import { createTestDb, mongoUri, type TestDb } from '../../support/db.js';
import { runStoreConformance } from '../../../lib/testing.js';
import type { FeedChange } from '../../../lib/stores/revocation-store.js';
import { hasAtomicUpdates } from '../../../lib/stores/mongodb/server-kind.js';

const quiet = { warn: () => {} };
const HOUR = 3_600_000;

let shared: TestDb | undefined;
after(async () => {
  await shared?.cleanup();
});
/**
 * Each store's feed collection is its own (the session-lifetime bound's tests start from an empty store, and the
 * bound lives there), dropped after its test.
 */
const feedCollections = new WeakMap<MongoRevocationStore, string>();
const ownFeed = (store: MongoRevocationStore, feedCollection: string) => {
  feedCollections.set(store, feedCollection);
  return store;
};
const dropFeed = async (store: MongoRevocationStore) => {
  const name = feedCollections.get(store);
  if (name !== undefined)
    await shared?.db
      .collection(name)
      .drop()
      .catch(() => undefined);
};
const newFeedCollection = () => `feed_${randomBytes(4).toString('hex')}`;
runStoreConformance(
  {
    name: 'MongoRevocationStore',
    createStore: async () => {
      shared ??= await createTestDb('conformance');
      const feedCollection = newFeedCollection();
      const options = { client: shared.client, dbName: shared.dbName, feedCollection, logger: quiet };
      return ownFeed(new MongoRevocationStore(options), feedCollection);
    },
    cleanup: dropFeed,
    feed: true,
    claims: true,
    lifetime: true,
  },
  { describe, it: test },
);
// The path every real MongoDB takes (`$max` on the user's own document), whatever the test server is. On a
// server whose updates are not atomic (FerretDB) concurrent writes of one user can lose one there: the suite
// then sends them one after another.
const serverIsAtomic = await (async () => {
  const probe = await createTestDb('atomic_probe');
  try {
    return await hasAtomicUpdates(probe.db);
  } finally {
    await probe.cleanup();
  }
})();
runStoreConformance(
  {
    name: 'MongoRevocationStore (atomicUpdates: true)',
    createStore: async () => {
      shared ??= await createTestDb('conformance');
      const feedCollection = newFeedCollection();
      const store = new MongoRevocationStore({
        client: shared.client,
        dbName: shared.dbName,
        atomicUpdates: true,
        usersCollection: 'atomic_users',
        feedCollection,
        logger: quiet,
      });
      return ownFeed(store, feedCollection);
    },
    cleanup: dropFeed,
    feed: true,
    claims: true,
    lifetime: true,
    atomicWrites: serverIsAtomic,
  },
  { describe, it: test },
);

describe('MongoRevocationStore', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb('mongo_store');
  });
  after(async () => {
    await t.cleanup();
  });

  // `atomicUpdates: true` forces what the store does on MongoDB, so the layout is tested on any server.
  test('with atomic updates, keeps lastLogoutAt as a Date on the user document, leaving its other fields alone', async () => {
    await t.db.collection('users').insertOne({ _id: 'alice' as never, name: 'Alice', passwordHash: 'x' });
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: true, logger: quiet });
    const at = new Date();
    await store.revokeUser('alice', at, new Date(Date.now() + HOUR));
    const doc = await t.db.collection('users').findOne({ _id: 'alice' as never });
    assert.ok(doc?.lastLogoutAt instanceof Date);
    assert.equal(doc.lastLogoutAt.getTime(), at.getTime());
    assert.equal(doc.name, 'Alice');
    assert.equal(doc.passwordHash, 'x');
  });

  test('a claims change: claimsChangedAt beside lastLogoutAt on the user document; its feed entry is one older versions never read', async () => {
    await t.db.collection('users').insertOne({ _id: 'carla' as never, name: 'Carla' });
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: true, logger: quiet });
    const at = new Date();
    await store.markClaimsChanged('carla', at, new Date(Date.now() + HOUR));
    const doc = await t.db.collection('users').findOne({ _id: 'carla' as never });
    assert.ok(doc?.claimsChangedAt instanceof Date);
    assert.equal(doc.claimsChangedAt.getTime(), at.getTime());
    assert.equal(doc.lastLogoutAt, undefined, 'no watermark');
    assert.equal(doc.name, 'Carla');
    assert.equal((await store.getState('carla', 'sid-c', 0)).claimsChangedAt?.getTime(), at.getTime());
    // The two reads of the feed versions before claims refresh send: neither may see the change (they would read
    // a document without `logoutAt` as a logout-everywhere for its whole `exp`).
    const feed = t.db.collection('revocation_feed');
    const old = [
      await feed.find({ exp: { $gt: new Date() } }).toArray(),
      await feed.find({ at: { $gte: new Date(Date.now() - HOUR) } }).toArray(),
    ];
    assert.ok(
      old.flat().every((d) => d.sub !== 'carla'),
      'older feed readers never see it',
    );
    const page = await store.readFeed(new Date(Date.now() - HOUR), 100);
    assert.ok(
      page.changes.some((c) => c.kind === 'claims' && c.sub === 'carla' && c.changedAt.getTime() === at.getTime()),
    );
  });

  test('revoked sessions live in their own collection, keyed by user and session id, with expiresAt', async () => {
    const store = new MongoRevocationStore({ db: t.db, logger: quiet });
    const expiresAt = new Date(Date.now() + HOUR);
    await store.revokeSession('sid-in-its-own-collection', 'alice', expiresAt);
    const doc = await t.db
      .collection('revoked_sessions')
      .findOne({ _id: '5:alice:sid-in-its-own-collection' as never });
    assert.equal(doc?.sub, 'alice');
    assert.equal(doc?.sid, 'sid-in-its-own-collection');
    assert.equal((doc?.expiresAt as Date).getTime(), expiresAt.getTime());
  });

  test('collection, field and the sub-to-_id mapping are options (ObjectId ids)', async () => {
    const _id = new ObjectId();
    await t.db.collection('accounts').insertOne({ _id, email: 'a@example.com' });
    const store = new MongoRevocationStore({
      db: t.db,
      atomicUpdates: true,
      usersCollection: 'accounts',
      lastLogoutAtField: 'sessionsValidAfter',
      userId: (sub) => new ObjectId(sub),
      sessionsCollection: 'ended_sessions',
      logger: quiet,
    });
    const at = new Date();
    await store.revokeUser(_id.toHexString(), at, new Date(Date.now() + HOUR));
    const doc = await t.db.collection('accounts').findOne({ _id });
    assert.equal((doc?.sessionsValidAfter as Date).getTime(), at.getTime());
    assert.equal(
      (await store.getState(_id.toHexString(), 'some-session-id-0000', Date.now())).lastLogoutAt?.getTime(),
      at.getTime(),
    );
    await store.revokeSession('ended-session-id-0000', _id.toHexString(), new Date(Date.now() + HOUR));
    assert.equal(await t.db.collection('ended_sessions').countDocuments({ sid: 'ended-session-id-0000' }), 1);
  });

  test('creates a TTL index on expiresAt, or warns and goes on where the server refuses it', async () => {
    const warnings: string[] = [];
    const store = new MongoRevocationStore({
      db: t.db,
      sessionsCollection: 'ttl_check',
      logger: { warn: (m) => warnings.push(m) },
    });
    await store.init();
    await store.init(); // once only
    const indexes = await t.db
      .collection('ttl_check')
      .indexes()
      .catch(() => []);
    const ttl = indexes.find((i) => i.name === 'expiresAt_ttl');
    if (ttl === undefined) {
      assert.equal(warnings.length, 1, 'no TTL index and no warning');
      assert.match(warnings[0] ?? '', /refuses TTL indexes/);
    } else {
      assert.equal(ttl.expireAfterSeconds, 0);
      assert.deepEqual(warnings, []);
    }
  });

  test('a watermark it cannot read fails closed (throws) instead of reading as "never logged out"', async () => {
    await t.db.collection('users').insertOne({ _id: 'mallory' as never, lastLogoutAt: 'yesterday' });
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: true, logger: quiet });
    await assert.rejects(
      Promise.resolve(store.getState('mallory', 'any-session-id-000000', Date.now())),
      /holds a string, not a Date/,
    );
  });

  test('with `uri` it opens and closes its own client', async () => {
    const store = new MongoRevocationStore({ uri: mongoUri(), dbName: t.dbName, logger: quiet });
    await store.revokeUser('uri-user', new Date(), new Date(Date.now() + HOUR));
    assert.notEqual((await store.getState('uri-user', 'session-id-000000000', Date.now())).lastLogoutAt, null);
    await store.close();
    await assert.rejects(Promise.resolve(store.getState('uri-user', 'session-id-000000000', Date.now())));
  });

  test('writes ask for majority write concern, even on a client whose default is w: 1', async () => {
    const client = new MongoClient(mongoUri(), { monitorCommands: true, writeConcern: { w: 1 } });
    const commands: Record<string, unknown>[] = [];
    client.on('commandStarted', (event) => {
      // update: the state itself; insert and delete: the write lock where updates are not atomic.
      if (['update', 'insert', 'delete'].includes(event.commandName)) commands.push(event.command);
    });
    try {
      const store = new MongoRevocationStore({ client, dbName: t.dbName, logger: quiet });
      await store.revokeUser('wc-user', new Date(), new Date(Date.now() + HOUR));
      await store.revokeSession('wc-session-id-0000000', 'wc-user', new Date(Date.now() + HOUR));
      assert.equal(
        commands.filter((c) => 'update' in c).length,
        3,
        'revokeUser, then the revoked session and the device-logout hint',
      );
      for (const command of commands) assert.deepEqual(command.writeConcern, { w: 'majority' });
    } finally {
      await client.close();
    }
  });

  for (const [atomicUpdates, users] of [
    [true, 'users'],
    [false, 'revocation_users'],
  ] as const)
    test(`one read of ${users} per check, unless a device of the user was logged out after the token was issued`, async () => {
      const client = new MongoClient(mongoUri(), { monitorCommands: true });
      const finds: string[] = [];
      client.on('commandStarted', (event) => {
        if (event.commandName === 'find') finds.push(String((event.command as { find: string }).find));
      });
      try {
        const store = new MongoRevocationStore({ client, dbName: t.dbName, atomicUpdates, logger: quiet });
        const count = async (sid: string, issuedAtMs: number) => {
          finds.length = 0;
          const state = await store.getState(`reads-user-${users}`, sid, issuedAtMs);
          return { reads: [...finds], revoked: state.sessionRevoked };
        };
        assert.deepEqual(await count(`phone-session-${users}`, Date.now() - 1000), { reads: [users], revoked: false });
        await store.revokeSession(`phone-session-${users}`, `reads-user-${users}`, new Date(Date.now() + HOUR));
        const doc = await t.db
          .collection(users)
          .findOne({ _id: (atomicUpdates ? `reads-user-${users}` : `s:reads-user-${users}`) as never });
        assert.ok(doc?.lastDeviceLogoutAt instanceof Date);
        // Tokens issued before that logout: both reads, and the logged-out one is found.
        assert.deepEqual(await count(`phone-session-${users}`, Date.now() - 1000), {
          reads: [users, 'revoked_sessions'],
          revoked: true,
        });
        assert.deepEqual(await count('laptop-session-id-000', Date.now() - 1000), {
          reads: [users, 'revoked_sessions'],
          revoked: false,
        });
        // A token issued after the hint (the revoked session's expiry): one read again.
        assert.deepEqual(await count('tablet-session-id-000', Date.now() + 2 * HOUR), {
          reads: [users],
          revoked: false,
        });
      } finally {
        await client.close();
      }
    });

  test('concurrent checks are answered together, each with its own user and session', async () => {
    const client = new MongoClient(mongoUri(), { monitorCommands: true });
    let finds = 0;
    client.on('commandStarted', (event) => {
      if (event.commandName === 'find') finds++;
    });
    try {
      const store = new MongoRevocationStore({ client, dbName: t.dbName, logger: quiet });
      const issuedAtMs = Date.now() - 1000;
      await store.revokeUser('batch-u1', new Date(), new Date(Date.now() + HOUR));
      await store.revokeSession('batch-s2-revoked-0000', 'batch-u2', new Date(Date.now() + HOUR));
      finds = 0;
      const lookups = Array.from({ length: 30 }, (_, i) => ({
        sub: `batch-u${i % 4}`,
        sid: i === 2 ? 'batch-s2-revoked-0000' : `batch-s${i}-other-0000000`,
      }));
      const states = await Promise.all(lookups.map((l) => store.getState(l.sub, l.sid, issuedAtMs)));
      states.forEach((state, i) => {
        assert.equal(state.lastLogoutAt !== null, lookups[i]?.sub === 'batch-u1', `lookup ${i}: lastLogoutAt`);
        assert.equal(state.sessionRevoked, i === 2, `lookup ${i}: sessionRevoked`);
      });
      assert.ok(finds <= 4, `30 concurrent checks took ${finds} finds`);
    } finally {
      await client.close();
    }
  });

  test('batching never serves a read older than the check: a revocation is seen by every later check', async () => {
    const store = new MongoRevocationStore({ client: t.client, dbName: t.dbName, logger: quiet });
    const issuedAtMs = Date.now() - 1000;
    let stop = false;
    const background = (async () => {
      // Keep batches under way the whole time, as a loaded server would.
      while (!stop)
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.getState(`busy-${i}`, `busy-session-${i}-00000`, issuedAtMs)),
        );
    })();
    for (let round = 0; round < 5; round++) {
      const sub = `immediate-${round}`;
      assert.equal((await store.getState(sub, 'immediate-session-0000', issuedAtMs)).lastLogoutAt, null);
      await store.revokeUser(sub, new Date(), new Date(Date.now() + HOUR));
      assert.notEqual(
        (await store.getState(sub, 'immediate-session-0000', issuedAtMs)).lastLogoutAt,
        null,
        `round ${round}`,
      );
    }
    stop = true;
    await background;
  });

  test("one user's unreadable data or unmappable id fails that check only, not the others in its batch", async () => {
    await t.db.collection('users').insertOne({ _id: 'poisoned' as never, lastLogoutAt: 'yesterday' });
    const store = new MongoRevocationStore({
      db: t.db,
      atomicUpdates: true,
      userId: (sub) => {
        if (sub === 'unmappable') throw new Error('not an id');
        return sub;
      },
      logger: quiet,
    });
    const results = await Promise.allSettled(
      ['poisoned', 'healthy-1', 'unmappable', 'healthy-2'].map((sub) =>
        store.getState(sub, 'isolation-session-0000', 0),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[0] as PromiseRejectedResult).reason), /holds a string, not a Date/);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /not an id/);
  });

  test('ids mapped to BSON number types (Long, Int32, Double) are matched, alone and in a batch', async () => {
    const { Long, Int32, Double } = await import('mongodb');
    for (const [name, map] of [
      ['Long', (sub: string) => Long.fromString(sub)],
      ['Int32', (sub: string) => new Int32(Number(sub))],
      ['Double', (sub: string) => new Double(Number(sub))],
    ] as const) {
      const store = new MongoRevocationStore({
        db: t.db,
        usersCollection: `numeric_${name}`,
        userId: map,
        logger: quiet,
      });
      await store.revokeUser('42', new Date(5000), new Date(Date.now() + HOUR));
      assert.equal(
        (await store.getState('42', 'numeric-session-00000', 0)).lastLogoutAt?.getTime(),
        5000,
        `${name} alone`,
      );
      const [a, b] = await Promise.all([
        store.getState('42', 'numeric-session-00000', 0),
        store.getState('43', 'numeric-session-00001', 0),
      ]);
      assert.equal(a.lastLogoutAt?.getTime(), 5000, `${name} in a batch`);
      assert.equal(b.lastLogoutAt, null);
    }
  });

  test('ObjectId and string ids in one batch are matched to the right users', async () => {
    const oid = new ObjectId();
    const store = new MongoRevocationStore({
      db: t.db,
      usersCollection: 'mixed_ids',
      userId: (sub) => (sub.length === 24 ? new ObjectId(sub) : sub),
      logger: quiet,
    });
    await store.revokeUser(oid.toHexString(), new Date(1000), new Date(Date.now() + HOUR));
    const [byOid, byString] = await Promise.all([
      store.getState(oid.toHexString(), 'mixed-session-000000', 0),
      store.getState('plain-user', 'mixed-session-000001', 0),
    ]);
    assert.equal(byOid.lastLogoutAt?.getTime(), 1000);
    assert.equal(byString.lastLogoutAt, null);
  });

  test('an async userId mapping is refused with a ConfigError and writes nothing, through the API too', async () => {
    const usersCollection = 'async_ids';
    const store = new MongoRevocationStore({
      db: t.db,
      usersCollection,
      stateCollection: 'async_ids_state',
      userId: (sub) => Promise.resolve(sub),
      logger: quiet,
    });
    await assert.rejects(
      store.revokeUser('alice', new Date(), new Date()),
      /`userId` must return the user's `_id` synchronously \(got a Promise\)/,
    );
    const auth = createSessionAuth({ secret: 'x'.repeat(32), store, logger: quiet });
    await assert.rejects(auth.revokeUser('alice'), (e: unknown) => e instanceof ConfigError && e.option === 'userId');
    assert.equal(await t.db.collection(usersCollection).countDocuments(), 0);
    assert.equal(await t.db.collection('async_ids_state').countDocuments(), 0);
    await auth.close();
  });

  test('a userId mapping that throws is the app data: a ConfigError naming `userId`, a 401 on checks, no outage', async () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => void warnings.push(m) };
    const store = new MongoRevocationStore({
      db: t.db,
      usersCollection: 'hex_ids',
      stateCollection: 'hex_ids_state',
      feedCollection: 'hex_ids_log',
      userId: (sub) => new ObjectId(sub),
      logger,
    });
    const secret = 'x'.repeat(32);
    const auth = createSessionAuth({ secret, store, logger, cookie: { secure: false } });
    await auth.ready;
    const refused = (e: unknown) =>
      e instanceof ConfigError && e.option === 'userId' && e.code === 'invalid_argument' && e.message.includes('threw');
    await assert.rejects(auth.revokeUser('not-hex'), refused);
    await assert.rejects(auth.revokeSession('some-session-id-0000', { sub: 'not-hex' }), refused);
    // A token for that id, signed by an instance of the same app on another store.
    const signer = createSessionAuth({ secret, store: new MemoryRevocationStore(), cookie: { secure: false } });
    const app = express();
    app.post('/login', (_req, res, next) => {
      signer.login(res, { sub: 'not-hex' }).then(() => res.end(), next);
    });
    app.get('/me', auth.requireAuth, (req, res) => res.json(auth.sessionOf(req)));
    const login = await request(app).post('/login');
    const me = await request(app).get('/me').set('Cookie', String(login.headers['set-cookie']).split(';')[0]!);
    assert.equal(me.status, 401);
    assert.equal((me.body as { error: { code: string } }).error.code, 'invalid_claims');
    app.post('/logout', auth.logout);
    const logout = await request(app).post('/logout').set('Cookie', String(login.headers['set-cookie']).split(';')[0]!);
    assert.equal(logout.status, 204, 'logout of a token accepted nowhere is a success, never a 500');
    assert.deepEqual(
      warnings.filter((w) => /failed|503/.test(w)),
      [],
      'nothing is logged as an outage',
    );
    assert.equal(await t.db.collection('hex_ids_log').countDocuments({ sub: 'not-hex' }), 0, 'nothing written');
    await auth.close();
  });

  test("the session-lifetime bound: a document { _id: 'lifetime' } of the feed collection that no feed read matches; 400 days over a feed that holds a revocation", async () => {
    for (const atomicUpdates of [true, false]) {
      const feedCollection = `lifetime_${String(atomicUpdates)}`;
      const feed = t.db.collection<Document>(feedCollection);
      const store = new MongoRevocationStore({ db: t.db, feedCollection, atomicUpdates, logger: quiet });
      await store.init();
      const bound = await store.declareLifetime(HOUR, 'raise');
      assert.equal(bound.lifetimeMs, HOUR, 'an empty feed: the lifetime declared');
      await store.settleLifetime(bound.raisedAt);
      assert.deepEqual(await feed.findOne({ _id: 'lifetime' as never }), {
        _id: 'lifetime',
        lifetimeMs: HOUR,
        raisedAt: bound.raisedAt,
        settledAt: bound.raisedAt,
      });
      assert.equal(await feed.countDocuments({ _id: 'lock:lifetime' as never }), 0, 'no lock left behind');
      const page = await store.readFeed(null, 1000);
      const paged = await store.readFeed(new Date(0), 1000, { size: 10 });
      assert.deepEqual([page.changes, paged.changes, paged.cursor], [[], [], undefined], 'the bound is no change');
      // A feed that holds only a claims change, with no bound yet: 400 days.
      await feed.deleteOne({ _id: 'lifetime' as never });
      await store.markClaimsChanged('bound-user', new Date(), new Date(Date.now() + HOUR));
      assert.equal((await store.declareLifetime(HOUR, 'raise')).lifetimeMs, (400 * 86_400 + 300) * 1000);
      await feed.updateOne({ _id: 'lifetime' as never }, { $set: { raisedAt: 'now' } });
      await assert.rejects(store.declareLifetime(HOUR, 'raise'), /session-lifetime bound is unreadable/);
      await assert.rejects(
        store.declareLifetime(1.5, 'raise'),
        (e) => e instanceof ConfigError && e.option === 'lifetimeMs',
      );
    }
  });

  test('paged feed reads go by (date, _id): documents deleted before the position, at its very date, move nothing past it; a cursor of another read is refused', async () => {
    const feedCollection = 'paged_feed';
    const feed = t.db.collection<Document>(feedCollection);
    const store = new MongoRevocationStore({ db: t.db, feedCollection, logger: quiet });
    await store.init();
    const since = new Date(Date.now() - 1000);
    const end = new Date(Date.now() + HOUR);
    for (let i = 0; i < 20; i++) await store.revokeSession(`sid-${i}`, `pager-${i}`, end); // one `exp` for all
    const key = (c: FeedChange) => JSON.stringify(c);
    const all = new Set((await store.readFeed(null, 1000)).changes.map(key));
    assert.equal(all.size, 20);
    for (const [from, field] of [
      [null, 'exp'],
      [since, 'at'],
    ] as const) {
      const first = await store.readFeed(from, 1000, { size: 4 });
      assert.equal(first.changes.length, 2, 'two kinds (revocations, claims changes), 2 each');
      assert.ok(first.cursor !== undefined);
      // The two taken and three more go.
      const order = await feed.find({ [field]: { $gte: from ?? since } }, { sort: { [field]: 1, _id: 1 } }).toArray();
      const gone = order.slice(0, 5);
      await feed.deleteMany({ _id: { $in: gone.map((d) => d._id as unknown) } } as never);
      const got = new Set(first.changes.map(key));
      for (let cursor: string | undefined = first.cursor; cursor !== undefined;) {
        const page = await store.readFeed(from, 1000, { size: 4, cursor });
        assert.ok(page.changes.length <= 4);
        for (const change of page.changes) got.add(key(change));
        cursor = page.cursor;
      }
      const goneSids = new Set(gone.map((d) => d.sid as string));
      const missing = [...all].filter(
        (c) => !got.has(c) && !goneSids.has((JSON.parse(c) as { sessionId: string }).sessionId),
      );
      assert.deepEqual(missing, [], `nothing skipped (${from === null ? 'whole' : 'by time'})`);
      await feed.insertMany(gone);
    }
    await assert.rejects(
      store.readFeed(since, 1000, { size: 4, cursor: (await store.readFeed(null, 1000, { size: 4 })).cursor! }),
      (e) => e instanceof ConfigError && e.option === 'page.cursor' && e.message.includes('another `since`'),
    );
  });

  test('close() leaves a client passed in open', async () => {
    const store = new MongoRevocationStore({ client: t.client, dbName: t.dbName, logger: quiet });
    await store.close();
    assert.deepEqual(await t.db.command({ ping: 1 }), { ok: 1 });
  });

  describe('configuration errors name the option and the fix', () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/');
    const cases: [string, unknown, RegExp][] = [
      ['no connection', {}, /`client` is missing: pass exactly one of `client` \(with `dbName`\), `db`, or `uri`/],
      ['two connections', { client, uri: 'mongodb://127.0.0.1/', dbName: 'a' }, /`client` conflicts with `uri`/],
      ['client without dbName', { client }, /`dbName` is required with `client`/],
      [
        'bad uri',
        { uri: 'http://db:27017', dbName: 'a' },
        /`uri` must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string\./,
      ],
      [
        'typo',
        { client, dbName: 'a', usersColection: 'x' },
        /unknown option `usersColection` \(did you mean `usersCollection`\?\)/,
      ],
      [
        'dotted field',
        { client, dbName: 'a', lastLogoutAtField: 'a.b' },
        /`lastLogoutAtField` must be a top-level field name/,
      ],
      [
        'same field twice',
        { client, dbName: 'a', lastDeviceLogoutAtField: 'lastLogoutAt' },
        /`lastDeviceLogoutAtField` must differ from `lastLogoutAtField`/,
      ],
      ['client not a MongoClient', { client: {}, dbName: 'a' }, /`client` must be a MongoClient/],
    ];
    for (const [name, options, message] of cases) {
      test(name, () => {
        assert.throws(
          () => new MongoRevocationStore(options as never),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError, String(error));
            assert.match(error.message, message);
            assert.match(error.message, /^express-revocable-jwt: /);
            return true;
          },
        );
      });
    }
    test('a uri with a password is never echoed', () => {
      assert.throws(
        () => new MongoRevocationStore({ uri: 'postgres://user:hunter2@db/app', dbName: 'a' }),
        (error: unknown) => error instanceof Error && !error.message.includes('hunter2'),
      );
    });
  });
});
