// createRevocation.revokeToken: an entry keyed by `sid` (a session that may have refreshed tokens) holds beyond
// the presented token's own `exp`; one keyed by `jti` (one token) until that token's `exp`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRevocation, MemoryRevocationStore } from '../../../lib/index.js';

test('revokeToken(sid) outlives a sibling token of the same session issued before the logout', async () => {
  const t0 = Math.floor(Date.now() / 1000);
  let clock = t0 * 1000;
  const store = new MemoryRevocationStore({ now: () => clock });
  const revocation = createRevocation({ store, logger: { warn: () => {} } });
  const a = { sub: 'alice', sid: 'session-1', iat: t0, exp: t0 + 900 };
  const b = { sub: 'alice', sid: 'session-1', iat: t0 + 800, exp: t0 + 1700 }; // refreshed before the logout
  await revocation.revokeToken(a); // POST /logout with token a
  assert.equal(await revocation.isRevoked({} as never, { payload: b } as never), true);
  clock = (t0 + 1300) * 1000; // b is still unexpired (exp t0+1700)
  assert.equal(await revocation.isRevoked({} as never, { payload: b } as never), true, 'session came back');
});

/**
 * Two users whose tokens carry the same `jti`: a revocation of one never answers for the other, on every path
 * of the check: the store itself, the per-user cache (a store without a feed) and the copy (a store with one).
 */
for (const mode of ['exact', 'per-user cache', 'copy of the feed'] as const) {
  test(`one jti under two users is revoked for its own user only (${mode})`, async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const memory = new MemoryRevocationStore();
    const store =
      mode === 'copy of the feed'
        ? memory
        : {
            getState: memory.getState.bind(memory),
            revokeUser: memory.revokeUser.bind(memory),
            revokeSession: memory.revokeSession.bind(memory),
          };
    const revocation = createRevocation({
      store,
      logger: { warn: () => {} },
      maxRevocationDelay: mode === 'exact' ? 0 : '1s',
    });
    await revocation.ready;
    const alice = { sub: 'alice', jti: 'shared-jti', iat: t0 - 10, exp: t0 + 900 };
    const bob = { sub: 'bob', jti: 'shared-jti', iat: t0 - 10, exp: t0 + 900 };
    const revoked = (payload: object) => revocation.isRevoked({} as never, { payload } as never);
    assert.equal(await revoked(alice), false, "alice's token is accepted (and the answer may be kept)");
    await revocation.revokeToken(bob);
    assert.equal(await revoked(bob), true, "bob's revoked token is refused");
    assert.equal(await revoked(alice), false, "alice's token is still accepted");
    assert.equal(await revoked(bob), true, "bob's token is refused again, after alice's answer");
  });
}
