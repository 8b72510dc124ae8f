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
