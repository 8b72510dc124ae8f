import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, MemoryRevocationStore } from '../../../lib/index.js';
import { runStoreConformance } from '../../../lib/testing.js';

runStoreConformance(
  {
    name: 'MemoryRevocationStore',
    createStore: () => new MemoryRevocationStore(),
    feed: true,
    claims: true,
    lifetime: true,
  },
  { describe, it: test },
);

describe('MemoryRevocationStore', () => {
  const future = () => new Date(Date.now() + 60_000);

  test('the change feed: a read from before the latest 10,000 revocations gets everything that still matters', () => {
    let t = 1_000_000;
    const store = new MemoryRevocationStore({ now: () => t });
    for (let i = 0; i <= 10_000; i++) {
      t++;
      store.revokeSession(`s-${i}`, 'u', new Date(t + 60_000));
    }
    const sessionIds = (since: number) =>
      store.readFeed(new Date(since), 100_000).changes.map((c) => (c.kind === 'session' ? c.sessionId : c.sub));
    assert.deepEqual(sessionIds(t), ['s-10000'], 'a recent read: what changed since');
    assert.equal(sessionIds(1_000_002).length, 10_000, 'from the oldest kept: the kept ones');
    assert.equal(sessionIds(1_000_001).length, 10_001, 'from before them: everything that still matters');
    store.close();
  });

  test('sweep drops expired sessions and watermarks that no longer matter', () => {
    const store = new MemoryRevocationStore();
    store.revokeSession('old-session-id-000000', 'alice', new Date(Date.now() - 1));
    store.revokeSession('live-session-id-00000', 'alice', future());
    store.revokeUser('bob', new Date(), new Date(Date.now() - 1));
    store.revokeUser('carol', new Date(), future());
    assert.equal(store.size, 4);
    store.sweep();
    assert.equal(store.size, 2);
    assert.equal(store.getState('alice', 'live-session-id-00000').sessionRevoked, true);
    assert.notEqual(store.getState('carol', 'x').lastLogoutAt, null);
    store.close();
  });

  test("sweepIntervalMs is bounded by Node's longest timer (a longer one would sweep every millisecond)", () => {
    assert.throws(
      () => new MemoryRevocationStore({ sweepIntervalMs: 2 ** 31 }),
      (e: unknown) =>
        e instanceof ConfigError && e.option === 'sweepIntervalMs' && e.message.includes('at most 2147483647'),
    );
    new MemoryRevocationStore({ sweepIntervalMs: 2 ** 31 - 1 }).close();
  });

  test('dates that would revoke nothing (Invalid Date) are refused, not kept as NaN', () => {
    const store = new MemoryRevocationStore();
    assert.throws(() => store.revokeSession('s', 'u', new Date(Number.NaN)), ConfigError);
    assert.throws(() => store.revokeUser('u', new Date(), new Date(Number.NaN)), ConfigError);
    assert.equal(store.size, 0);
    store.close();
  });

  test('memory is bounded: a revocation past maxEntries fails instead of forgetting another one', () => {
    const store = new MemoryRevocationStore({ maxEntries: 3 });
    for (let i = 0; i < 3; i++) store.revokeSession(`session-${i}-padding-xx`, 'alice', future());
    assert.throws(() => store.revokeSession('session-3-padding-xx', 'alice', future()), /full \(3 entries\)/);
    assert.equal(store.getState('alice', 'session-0-padding-xx').sessionRevoked, true);
    // Updating an entry it already holds still works when full.
    store.revokeSession('session-0-padding-xx', 'alice', future());
    store.close();
  });

  test('a full store makes room by dropping expired entries first', () => {
    const store = new MemoryRevocationStore({ maxEntries: 2 });
    store.revokeSession('expired-session-0000', 'alice', new Date(Date.now() - 1));
    store.revokeSession('live-session-1-00000', 'alice', future());
    store.revokeSession('live-session-2-00000', 'alice', future());
    assert.equal(store.size, 2);
    store.close();
  });

  test('rejects unknown options with a hint', () => {
    assert.throws(
      () => new MemoryRevocationStore({ maxEntry: 5 } as never),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /unknown option `maxEntry` \(did you mean `maxEntries`\?\)/);
        return true;
      },
    );
    assert.throws(() => new MemoryRevocationStore({ maxEntries: -1 }), /`maxEntries`/);
  });
});
