// The guarded store: deadlines and failures become revocation_unavailable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionAuthError } from '../../../lib/core/session-auth-error.js';
import { createBoundedStore } from '../../../lib/revocation/bounded-store.js';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';

describe('guarded store', () => {
  test('a store that never answers becomes revocation_unavailable after the timeout', async () => {
    const hanging = {
      getState: () => new Promise<never>(() => undefined),
      revokeUser: () => undefined,
      revokeSession: () => undefined,
    };
    const guarded = createBoundedStore(hanging, 50, { warn: () => undefined });
    const started = Date.now();
    await assert.rejects(
      guarded.getState('a', 'b', Date.now()),
      (error: unknown) =>
        error instanceof SessionAuthError && error.code === 'revocation_unavailable' && error.status === 503,
    );
    assert.ok(Date.now() - started < 1000);
  });
  test("a synchronous store's answer is passed through", async () => {
    const store = new MemoryRevocationStore();
    const guarded = createBoundedStore(store, 50, { warn: () => undefined });
    assert.deepEqual(await guarded.getState('a', 'b', Date.now()), { lastLogoutAt: null, sessionRevoked: false });
    store.close();
  });
});
