import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, MemoryRevocationStore } from '../../../lib/index.js';
import { runStoreConformance } from '../../../lib/testing.js';

runStoreConformance(
  { name: 'MemoryRevocationStore', createStore: () => new MemoryRevocationStore(), feed: true },
  { describe, it: test },
);

describe('MemoryRevocationStore', () => {
  const future = () => new Date(Date.now() + 60_000);

  test('sweep drops expired sessions and watermarks that no longer matter', () => {
    const store = new MemoryRevocationStore();
    store.revokeSession('old-session-id-000000', 'alice', new Date(Date.now() - 1));
    store.revokeSession('live-session-id-00000', 'alice', future());
    store.revokeUser('bob', new Date(), new Date(Date.now() - 1));
    store.revokeUser('carol', new Date(), future());
    assert.equal(store.size, 4);
    store.sweep();
    assert.equal(store.size, 2);
    assert.equal(store.getState('carol', 'live-session-id-00000').sessionRevoked, true);
    assert.notEqual(store.getState('carol', 'x').lastLogoutAt, null);
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
