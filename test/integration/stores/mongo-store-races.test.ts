// Concurrent writes must never undo a logout, also on servers whose updates are not atomic (FerretDB v1 reads,
// changes and replaces a whole document with no lock between).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoRevocationStore } from '../../../lib/mongodb.js';
import { hasAtomicUpdates } from '../../../lib/stores/mongodb/server-kind.js';
import { LOCK_TTL_MS } from '../../../lib/stores/mongodb/write-lock.js';
import { createTestDb, type TestDb } from '../../support/db.js';

const quiet = { warn: () => {} };
const HOUR = 3_600_000;

describe('MongoRevocationStore under concurrent writes', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb('mongo_races');
  });
  after(async () => {
    await t.cleanup();
  });

  test('finds out from buildInfo whether updates are atomic, and keeps the state where they cannot undo it', async () => {
    const info = await t.db.command({ buildInfo: 1 });
    const ferret = Object.keys(info).some((k) => k.startsWith('ferretdb'));
    assert.equal(await hasAtomicUpdates(t.db), !ferret);
    const store = new MongoRevocationStore({ db: t.db, usersCollection: 'detect_users', logger: quiet });
    await store.init();
    await store.revokeUser('detected', new Date(7000), new Date(Date.now() + HOUR));
    const onUser = await t.db.collection('detect_users').findOne({ _id: 'detected' as never });
    const own = await t.db.collection('revocation_users').findOne({ _id: 's:detected' as never });
    if (ferret) {
      assert.equal(onUser, null, 'nothing written into the app users on FerretDB');
      assert.equal((own?.lastLogoutAt as Date).getTime(), 7000);
      assert.equal(own?.user, 'detected');
    } else {
      assert.equal((onUser?.lastLogoutAt as Date).getTime(), 7000);
      assert.equal(own, null);
    }
  });

  // On any server whose updates are not atomic, and with this deployment's default (detected) settings.
  test('logouts racing writes of the app to the same user document are never undone', async () => {
    const store = new MongoRevocationStore({ db: t.db, logger: quiet });
    const users = t.db.collection<{ _id: string }>('users');
    const lost: string[] = [];
    for (let round = 0; round < 20; round++) {
      const sub = `racer-${round}`;
      const sid = `race-session-${round}-00000`;
      await users.insertOne({ _id: sub, name: 'x' } as never);
      const at = new Date(Date.now() - 1000);
      const exp = new Date(Date.now() + HOUR);
      await Promise.all([
        store.revokeUser(sub, at, exp),
        store.revokeSession(sid, sub, exp),
        ...Array.from({ length: 6 }, (_, i) => users.updateOne({ _id: sub }, { $set: { seen: i } })),
      ]);
      await Promise.all(Array.from({ length: 4 }, (_, i) => users.updateOne({ _id: sub }, { $set: { later: i } })));
      const state = await store.getState(sub, sid, at.getTime() - 1);
      if (state.lastLogoutAt?.getTime() !== at.getTime() || !state.sessionRevoked)
        lost.push(`${sub}: ${JSON.stringify(state)}`);
    }
    assert.deepEqual(lost, []);
  });

  test('where updates are not atomic, an old copy of the user document written back cannot undo a logout', async () => {
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: false, logger: quiet });
    const users = t.db.collection<{ _id: string }>('users');
    await users.insertOne({ _id: 'overwritten', name: 'Olga' } as never);
    const before = await users.findOne({ _id: 'overwritten' });
    const at = new Date(Date.now() - 1000);
    await store.revokeUser('overwritten', at, new Date(Date.now() + HOUR));
    await store.revokeSession('overwritten-session-0', 'overwritten', new Date(Date.now() + HOUR));
    // What FerretDB v1 does with an update of the app that read the document before the logout.
    await users.replaceOne({ _id: 'overwritten' }, before!);
    const state = await store.getState('overwritten', 'overwritten-session-0', at.getTime() - 1);
    assert.equal(state.lastLogoutAt?.getTime(), at.getTime());
    assert.equal(state.sessionRevoked, true);
  });

  test("where updates are not atomic, the store's own concurrent writes of one user never lose one", async () => {
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: false, logger: quiet });
    for (let round = 0; round < 5; round++) {
      const sub = `own-writes-${round}`;
      const exp = new Date(Date.now() + HOUR);
      const stamps = Array.from({ length: 6 }, (_, i) => new Date(Date.now() - 10_000 + ((i * 7919) % 6) * 1000));
      await Promise.all([
        ...stamps.map((at) => store.revokeUser(sub, at, exp)),
        store.revokeSession(`own-writes-${round}-a`, sub, exp),
        store.revokeSession(`own-writes-${round}-b`, sub, new Date(exp.getTime() - 1000)),
      ]);
      const doc = await t.db.collection('revocation_users').findOne({ _id: `s:${sub}` as never });
      assert.equal((doc?.lastLogoutAt as Date).getTime(), Math.max(...stamps.map((d) => d.getTime())), sub);
      assert.equal((doc?.lastDeviceLogoutAt as Date).getTime(), exp.getTime(), sub);
      assert.equal(
        await t.db.collection('revocation_users').countDocuments({ _id: `lock:s:${sub}` as never }),
        0,
        'every lock released',
      );
    }
  });

  test('a lock left by a writer that died is taken over once it expired, not before', async () => {
    const store = new MongoRevocationStore({ db: t.db, atomicUpdates: false, logger: quiet });
    const state = t.db.collection<{ _id: string; expiresAt: Date }>('revocation_users');
    await state.insertOne({ _id: 'lock:s:orphaned', expiresAt: new Date(Date.now() - 1) });
    await store.revokeUser('orphaned', new Date(1000), new Date(Date.now() + HOUR));
    assert.equal((await store.getState('orphaned', 'orphan-session-00000', 0)).lastLogoutAt?.getTime(), 1000);
    assert.equal(await state.countDocuments({ _id: 'lock:s:orphaned' }), 0);

    await state.insertOne({ _id: 'lock:s:busy', expiresAt: new Date(Date.now() + LOCK_TTL_MS) });
    const started = Date.now();
    await assert.rejects(
      store.revokeUser('busy', new Date(1000), new Date(Date.now() + HOUR)),
      /held its lock for 5000 ms/,
    );
    assert.ok(Date.now() - started >= 5000);
    assert.equal((await store.getState('busy', 'busy-session-0000000', 0)).lastLogoutAt, null);
  });
});
