// The Mongo store at its edges: users documents it cannot match to a lookup, writes the server keeps
// refusing, and the TTL index created again after a failure.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { MongoRevocationStore } from '../../../lib/mongodb.js';
import { createTestDb, mongoUri, type TestDb } from '../../support/db.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';

const quiet = { warn: () => {} };
const HOUR = 3_600_000;

/**
 * A Db whose `name` collection compares string `_id`s case-insensitively, as a collection with a
 * `{ locale: 'en', strength: 2 }` collation does (FerretDB has no collations, so it is emulated with
 * anchored case-insensitive regexes, which both servers support in `$in` and equality).
 */
function caseInsensitive(db: Db, name: string): Db {
  const asRegex = (id: unknown) => (typeof id === 'string' ? new RegExp(`^${id}$`, 'i') : id);
  const rewrite = (filter: Document): Document => {
    const id: unknown = filter._id;
    if (typeof id === 'object' && id !== null && '$in' in id)
      return { ...filter, _id: { $in: (id as { $in: unknown[] }).$in.map(asRegex) } };
    return { ...filter, _id: typeof id === 'string' ? { $in: [asRegex(id)] } : id };
  };
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'collection') return Reflect.get(target, prop, receiver) as unknown;
      return (collectionName: string, options?: Document) => {
        const collection = target.collection(collectionName, options);
        if (collectionName !== name) return collection;
        return new Proxy(collection, {
          get(c: Collection, p, r) {
            if (p === 'find' || p === 'findOne')
              return (filter: Document, opts?: Document) => c[p](rewrite(filter), opts);
            return Reflect.get(c, p, r) as unknown;
          },
        });
      };
    },
  });
}

describe('MongoRevocationStore at the edges', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb('mongo_edges');
  });
  after(async () => {
    await t.cleanup();
  });

  test('a revocation whose feed entry cannot be written is refused and not stored (the feed comes first)', async () => {
    // A feed collection that refuses a second entry of the user (a unique index on sub).
    const log = t.db.collection('log_refusing');
    await log.createIndex({ sub: 1 }, { unique: true });
    await log.insertOne({ sub: 'feedless', exp: new Date(Date.now() + HOUR) });
    const store = new MongoRevocationStore({ db: t.db, feedCollection: 'log_refusing', logger: quiet });
    await assert.rejects(
      store.revokeUser('feedless', new Date(), new Date(Date.now() + HOUR)),
      /duplicate key|E11000/i,
    );
    await assert.rejects(store.revokeSession('feedless-session-0001', 'feedless', new Date(Date.now() + HOUR)));
    assert.deepEqual(await store.getState('feedless', 'feedless-session-0001', Date.now() - HOUR), {
      lastLogoutAt: null,
      sessionRevoked: false,
    });
  });

  test('a user document that matches no lookup of its batch (case-insensitive ids) fails no lookup', async () => {
    await t.db.collection('ci_users').insertMany([
      { _id: 'Carol' as never, lastLogoutAt: new Date(3000) },
      { _id: 'dave' as never, lastLogoutAt: new Date(4000) },
    ]);
    const store = new MongoRevocationStore({
      db: caseInsensitive(t.db, 'ci_users'),
      usersCollection: 'ci_users',
      atomicUpdates: true,
      logger: quiet,
    });
    const subs = ['carol', 'dave', 'erin', 'DAVE'];
    const results = await Promise.allSettled(subs.map((sub) => store.getState(sub, 'ci-session-000000000', 0)));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? (r.value.lastLogoutAt?.getTime() ?? null) : String(r.reason))),
      [3000, 4000, null, 4000],
    );
  });

  test('an upsert that keeps failing with a duplicate key gives up after 5 attempts, naming the cause', async () => {
    // A unique index on another field of users that the inserted document collides with on every attempt.
    const at = new Date(Date.now() - 1000);
    const users = t.db.collection('unique_users');
    await users.createIndex({ lastLogoutAt: 1 }, { unique: true });
    await users.insertOne({ _id: 'same-instant' as never, lastLogoutAt: at });
    const client = new MongoClient(mongoUri(), { monitorCommands: true });
    let updates = 0;
    client.on('commandStarted', (event) => {
      if (event.commandName === 'update') updates++;
    });
    try {
      const store = new MongoRevocationStore({
        client,
        dbName: t.dbName,
        usersCollection: 'unique_users',
        atomicUpdates: true,
        logger: quiet,
      });
      await assert.rejects(
        store.revokeUser('new-user', at, new Date(Date.now() + HOUR)),
        /duplicate key after 5 attempts/,
      );
      assert.equal(updates, 5);
      assert.equal(await users.countDocuments({ _id: 'new-user' as never }), 0);
    } finally {
      await client.close();
    }
  });

  test('the TTL index is created again on the next logout when creating it failed', async () => {
    const target = new URL(mongoUri().replace(/^mongodb:/, 'http:'));
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 27017));
    const client = new MongoClient(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, {
      serverSelectionTimeoutMS: 1000,
      monitorCommands: true,
    });
    const started: string[] = [];
    // Only the revoked-sessions collection's index counts (the device registry has indexes of its own).
    client.on('commandStarted', (event) => {
      const command = event.command as { createIndexes?: string };
      if (event.commandName !== 'createIndexes' || command.createIndexes === 'ttl_retry')
        started.push(event.commandName);
    });
    const warnings: string[] = [];
    try {
      const store = new MongoRevocationStore({
        client,
        dbName: t.dbName,
        sessionsCollection: 'ttl_retry',
        atomicUpdates: true,
        logger: { warn: (m) => warnings.push(m) },
      });
      await client.connect(); // a client whose very first connection failed would not try again
      await proxy.cut();
      await assert.rejects(store.init(), /Server selection timed out|connect|closed/i);
      await proxy.restore();
      started.length = 0;
      await store.revokeSession('ttl-retry-session-00', 'ttl-user', new Date(Date.now() + HOUR));
      await store.revokeSession('ttl-retry-session-01', 'ttl-user', new Date(Date.now() + HOUR));
      // The write does not wait for the index: give the retried createIndexes a moment to answer.
      for (let i = 0; i < 50 && !started.includes('createIndexes'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(started.filter((c) => c === 'createIndexes').length, 1, 'retried once, after the failure');
      const ttl = (await t.db.collection('ttl_retry').indexes()).find((i) => i.name === 'expiresAt_ttl');
      for (let i = 0; i < 50 && ttl === undefined && warnings.length === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      if (ttl === undefined) assert.match(warnings.join('\n'), /refuses TTL indexes/);
      else assert.equal(ttl.expireAfterSeconds, 0);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
