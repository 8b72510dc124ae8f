// createRevocation.revokeToken: an entry keyed by `sid` (a session that may have refreshed tokens) holds beyond
// the presented token's own `exp`; one keyed by `jti` (one token) until that token's `exp`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, createRevocation, MemoryRevocationStore } from '../../lib/index.js';

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
 * of the check: the store itself (also with maxRevocationDelay on a store without a feed) and the copy.
 */
for (const mode of ['exact', 'no feed', 'copy of the feed'] as const) {
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

test('a createSessionAuth token renewed during logoutAll is refused by createRevocation too: the watermark compares `sat`', async () => {
  const t0 = Date.now();
  const store = new MemoryRevocationStore();
  const revocation = createRevocation({ store, logger: { warn: () => {} }, issuedAtPrecision: 'milliseconds' });
  await revocation.revokeUser('alice');
  // Signed in before the logout-everywhere, renewed by a request in flight during it: issued after the watermark.
  const renewed = {
    sub: 'alice',
    sid: 'session-0123456789abcdef',
    iat: Math.floor(Date.now() / 1000),
    iat_ms: Date.now() + 1,
    sat: t0 - 60_000,
    sxp: t0 + 86_400_000,
    exp: Math.floor(t0 / 1000) + 3600,
  };
  assert.equal(await revocation.isRevoked({} as never, { payload: renewed } as never), true);
  const fresh = { ...renewed, sat: Date.now() + 1 };
  assert.equal(await revocation.isRevoked({} as never, { payload: fresh } as never), false, 'a later sign-in is fine');
});

test('tokens that outlive every revocation (no exp, or exp over 400 days after iat) are refused, and revokeToken says why', async () => {
  const now = Math.floor(Date.now() / 1000);
  const store = new MemoryRevocationStore();
  const revocation = createRevocation({ store, logger: { warn: () => {} } });
  const base = { sub: 'alice', jti: 'token-1', iat: now - 10 };
  const revoked = (payload: object) => revocation.isRevoked({} as never, { payload } as never);
  const future = { ...base, iat: 9e12 - 10, exp: 9e12 }; // a lifetime of 10 s, ending past any Date
  for (const payload of [base, { ...base, exp: 8_640_000_000_000 }, { ...base, exp: now + 401 * 86_400 }, future]) {
    assert.equal(await revoked(payload), true, `refused: ${JSON.stringify(payload)}`);
    await assert.rejects(
      revocation.revokeToken(payload),
      (e: unknown) => e instanceof ConfigError && /400 days|never expires/.test(e.message),
    );
  }
  assert.equal(await revoked({ ...base, exp: now + 399 * 86_400 }), false, 'a token of 399 days is fine');
  assert.equal(store.size, 0, 'nothing was written');
});

test('revokeSession with a far-future expiresAt holds: the entry is clamped to the longest lifetime, never NaN', async () => {
  let clock = Date.now();
  const store = new MemoryRevocationStore({ now: () => clock });
  const revocation = createRevocation({ store, logger: { warn: () => {} } });
  await revocation.revokeSession('far-session', { sub: 'alice', expiresAt: new Date(8.64e15) });
  const token = {
    sub: 'alice',
    sid: 'far-session',
    iat: Math.floor(clock / 1000) - 10,
    exp: Math.floor(clock / 1000) + 3600,
  };
  assert.equal(await revocation.isRevoked({} as never, { payload: token } as never), true);
  clock += 399 * 86_400_000;
  assert.equal(store.getState('alice', 'far-session').sessionRevoked, true, 'still revoked 399 days later');
});

test('a `sat` of another signer (without `iat_ms`, or in seconds) is not a sign-in time: a logout-everywhere does not refuse later tokens for it', async () => {
  const store = new MemoryRevocationStore();
  const revocation = createRevocation({ store, logger: { warn: () => {} } });
  await revocation.revokeUser('alice');
  const now = Math.floor(Date.now() / 1000) + 1;
  const later = { sub: 'alice', jti: 'after', iat: now, exp: now + 600 };
  const revoked = (payload: object) => revocation.isRevoked({} as never, { payload } as never);
  assert.equal(await revoked({ ...later, sat: now - 3600 }), false, 'sat without iat_ms');
  assert.equal(await revoked({ ...later, iat_ms: now * 1000, sat: now - 3600 }), false, 'sat in seconds');
  assert.equal(await revoked({ ...later, iat_ms: now * 1000, sat: now * 1000 - 3_600_000 }), true, 'ours: refused');
});
