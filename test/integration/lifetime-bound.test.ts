// How long a logout everywhere is kept, on every store: as long as the longest session an instance sharing the
// store signs (its `maxAge` plus 10 minutes), which each declares to the store before it signs; 400 days when an
// older version (or `createRevocation`) may share it. Two instances with different lifetimes on one store: no
// watermark or claims change ever ends before a session it must refuse.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRevocation, createSessionAuth, MemoryRevocationStore, type RevocationStore } from '../../lib/index.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../lib/core/limits.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { createRevocationEngine } from '../../lib/revocation/revocation-engine.js';
import type { FeedChange } from '../../lib/stores/revocation-store.js';
import { testSecret } from '../support/apps.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { connectDriver, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';

const quiet = { warn: () => {} };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** What an instance adds to its `maxAge`: 300 s of slack and the largest clock tolerance (300 s). */
const SLACK = 10 * MINUTE;

/** A fresh, empty backend per test, and two store objects on it (two processes would each have their own). */
const BACKENDS: { name: string; open(): Promise<[RevocationStore, RevocationStore]> }[] = [];
const cleanups: (() => Promise<void>)[] = [];
let redis: TestRedisClient | undefined;
before(async () => {
  redis = await connectDriver('node-redis');
});
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  await redis?.close();
});
BACKENDS.push(
  {
    name: 'MemoryRevocationStore',
    open: () => {
      const store = new MemoryRevocationStore();
      return Promise.resolve([store, store]);
    },
  },
  {
    name: 'MongoRevocationStore',
    async open() {
      const t: TestDb = await createTestDb('lifetime');
      cleanups.push(() => t.cleanup());
      return [
        new MongoRevocationStore({ db: t.db, logger: quiet }),
        new MongoRevocationStore({ db: t.db, logger: quiet }),
      ];
    },
  },
  {
    name: 'RedisRevocationStore',
    open() {
      const prefix = randomPrefix('lifetime');
      const store = () => new RedisRevocationStore({ client: redis!.client, prefix, logger: quiet });
      return Promise.resolve([store(), store()]);
    },
  },
);

/** The user's latest watermark or claims change in the store's change feed. */
async function feedEntry(store: RevocationStore, kind: 'user' | 'claims', sub: string) {
  const page = await store.readFeed!(null, 100_000);
  const entries = page.changes.filter(
    (c): c is Extract<FeedChange, { kind: 'user' | 'claims' }> => c.kind === kind && c.sub === sub,
  );
  assert.ok(entries.length > 0, `the feed has ${kind} ${sub}`);
  return entries.reduce((a, b) => (b.relevantUntil > a.relevantUntil ? b : a));
}

/** How long past its time the user's entry of `kind` is kept, in ms. */
async function keptFor(store: RevocationStore, kind: 'user' | 'claims', sub: string): Promise<number> {
  const e = await feedEntry(store, kind, sub);
  const at = e.kind === 'user' ? e.lastLogoutAt : e.changedAt;
  return e.relevantUntil.getTime() - at.getTime();
}

/** An instance without HTTP, declaring `lifetimeMs` (plus the slack), that settles changes of the bound at once. */
const engine = (store: RevocationStore, lifetimeMs: number) =>
  createRevocationEngine({
    store,
    storeTimeoutMs: 2000,
    failOpen: false,
    logger: quiet,
    issuedAtPrecision: 'milliseconds',
    declaredLifetimeMs: lifetimeMs + SLACK,
    lifetimeRefreshMs: 100,
    lifetimeSettleMs: 50,
  });

/** Resolves once the store's bound is settled (every entry written with a shorter one re-written). */
async function settled(store: RevocationStore): Promise<void> {
  await eventually(async () => {
    const bound = await store.declareLifetime!(1, 'raise');
    return bound.settledAt >= bound.raisedAt;
  }, 5000);
}

const instance = (store: RevocationStore, maxAge?: string, now?: () => number) =>
  createSessionAuth({
    secret: testSecret(),
    store,
    logger: quiet,
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(now === undefined ? {} : { now }),
  });

for (const backend of BACKENDS) {
  describe(`session-lifetime bound on ${backend.name}`, () => {
    test('a default-configured app keeps a logout everywhere 7 days and 10 minutes, not 400 days', async () => {
      const [store] = await backend.open();
      const auth = instance(store);
      await auth.ready;
      await auth.revokeUser('alice');
      await auth.refreshClaims('bob');
      assert.equal(await keptFor(store, 'user', 'alice'), 7 * DAY + SLACK);
      assert.equal(await keptFor(store, 'claims', 'bob'), 7 * DAY + SLACK);
      assert.equal((await store.declareLifetime!(1, 'raise')).lifetimeMs, 7 * DAY + SLACK, 'the bound in the store');
    });

    test('an instance with longer sessions that joins later raises the bound before it signs; later writes last as long', async () => {
      const [storeA, storeB] = await backend.open();
      const a = instance(storeA, '1h');
      await a.ready;
      await a.revokeUser('u1');
      assert.equal(await keptFor(storeA, 'user', 'u1'), HOUR + SLACK);
      const b = instance(storeB, '30d');
      await b.ready;
      assert.equal((await storeA.declareLifetime!(1, 'raise')).lifetimeMs, 30 * DAY + SLACK);
      // A asks the store before each write: its logouts everywhere now cover B's sessions.
      await a.revokeUser('u2');
      await a.refreshClaims('u3');
      assert.equal(await keptFor(storeA, 'user', 'u2'), 30 * DAY + SLACK);
      assert.equal(await keptFor(storeA, 'claims', 'u3'), 30 * DAY + SLACK);
      // And the shorter instance never lowers it by itself, also when it starts again.
      const a2 = instance(storeA, '1h');
      await a2.ready;
      await a2.revokeUser('u4');
      assert.equal(await keptFor(storeA, 'user', 'u4'), 30 * DAY + SLACK);
    });

    test('a write that raced the raise (declared just before it) is re-written once the raise settles', async () => {
      const [storeA, storeB] = await backend.open();
      const a = engine(storeA, HOUR);
      await a.lifetime.ready();
      // What A writes when its declaration was answered just before B's raise: the old bound.
      const b = engine(storeB, 30 * DAY);
      await b.lifetime.ready();
      const at = new Date();
      await storeA.revokeUser('raced', at, new Date(at.getTime() + HOUR + SLACK));
      await storeA.markClaimsChanged!('raced', at, new Date(at.getTime() + HOUR + SLACK));
      // B, whose lifetime is the bound, settles its raise once writes that used the old bound have landed.
      await settled(storeA);
      assert.equal(await keptFor(storeA, 'user', 'raced'), 30 * DAY + SLACK);
      assert.equal(await keptFor(storeA, 'claims', 'raced'), 30 * DAY + SLACK);
      for (const e of [a, b]) e.lifetime.stop();
    });

    test('written during a lowering, re-written when a longer instance raises the bound back', async () => {
      const [storeA, storeB] = await backend.open();
      const long = engine(storeA, 30 * DAY);
      const short = engine(storeB, DAY);
      await long.lifetime.ready();
      await short.lifetime.ready();
      await short.lifetime.lower();
      await short.revokeUser('u'); // 1 day and 10 minutes: the lowered bound
      assert.equal(await keptFor(storeB, 'user', 'u'), DAY + SLACK);
      await settled(storeB); // the lowering settles (the short instance's own bound): nothing to re-write
      // The long instance declares again (its timer): the bound goes back up, and the raise settles.
      await eventually(async () => (await storeA.declareLifetime!(1, 'raise')).lifetimeMs === 30 * DAY + SLACK, 5000);
      await settled(storeA);
      assert.equal(await keptFor(storeA, 'user', 'u'), 30 * DAY + SLACK);
      for (const e of [long, short]) e.lifetime.stop();
    });

    test('lowering is explicit, and an instance with longer sessions raises it back at its next declaration', async () => {
      const [storeA, storeB] = await backend.open();
      const a = instance(storeA, '1h');
      const b = instance(storeB, '30d');
      await Promise.all([a.ready, b.ready]);
      assert.equal(await a.lowerRevocationLifetime(), HOUR + SLACK);
      assert.equal((await storeA.declareLifetime!(1, 'raise')).lifetimeMs, HOUR + SLACK);
      await b.revokeUser('u5'); // B declares again before it writes
      assert.equal(await keptFor(storeB, 'user', 'u5'), 30 * DAY + SLACK);
      assert.equal((await storeA.declareLifetime!(1, 'raise')).lifetimeMs, 30 * DAY + SLACK);
    });

    test('a store that already holds revocations (an older version wrote them) starts at 400 days', async () => {
      const [store] = await backend.open();
      const at = new Date();
      await store.revokeUser('old', at, new Date(at.getTime() + MAX_REVOCATION_LIFETIME_MS));
      const auth = instance(store);
      await auth.ready;
      await auth.revokeUser('alice');
      assert.equal(await keptFor(store, 'user', 'alice'), MAX_REVOCATION_LIFETIME_MS);
      assert.equal(await auth.lowerRevocationLifetime(), 7 * DAY + SLACK, 'until lowered, once the fleet is upgraded');
      await auth.revokeUser('bob');
      assert.equal(await keptFor(store, 'user', 'bob'), 7 * DAY + SLACK);
    });

    test('createRevocation counts as 400 days: its tokens are not ours', async () => {
      const [storeA, storeB] = await backend.open();
      const a = instance(storeA, '1h');
      await a.ready;
      const jwt = createRevocation({ store: storeB, logger: quiet });
      await jwt.ready;
      await a.revokeUser('carol');
      assert.equal(await keptFor(storeA, 'user', 'carol'), MAX_REVOCATION_LIFETIME_MS);
    });
  });
}
