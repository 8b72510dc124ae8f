// The conformance suite every RevocationStore must pass: one call per store in its own test file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RevocationStore } from '../../lib/index.js';

export interface StoreUnderTest {
  store: RevocationStore;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const id = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
/** A token issued a minute ago: before every revocation the tests make. */
const issued = () => Date.now() - 60_000;

export function runStoreConformance(name: string, create: () => Promise<StoreUnderTest>): void {
  describe(`${name} conformance`, () => {
    let subject: StoreUnderTest;
    let store: RevocationStore;
    before(async () => {
      subject = await create();
      store = subject.store;
      await store.init?.();
    });
    after(async () => {
      await store.close?.();
      await subject.cleanup();
    });

    test('an unknown user and session are not revoked', async () => {
      assert.deepEqual(await store.getState(id('user'), id('sid'), issued()), {
        lastLogoutAt: null,
        sessionRevoked: false,
      });
    });

    test('revokeUser stores the watermark to the millisecond, creating the user record', async () => {
      const sub = id('user');
      const at = new Date(Date.now() - 123);
      await store.revokeUser(sub, at, new Date(Date.now() + HOUR));
      const state = await store.getState(sub, id('sid'), issued());
      assert.equal(state.lastLogoutAt?.getTime(), at.getTime());
      assert.equal(state.sessionRevoked, false);
    });

    test('revokeUser never moves the watermark backwards', async () => {
      const sub = id('user');
      const later = new Date(Date.now());
      await store.revokeUser(sub, later, new Date(Date.now() + HOUR));
      await store.revokeUser(sub, new Date(later.getTime() - 5000), new Date(Date.now() + HOUR));
      assert.equal((await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime(), later.getTime());
    });

    test('concurrent revokeUser calls leave the largest watermark', async () => {
      const sub = id('user');
      const base = Date.now();
      const stamps = Array.from({ length: 12 }, (_, i) => base - ((i * 7) % 12) * 10);
      await Promise.all(stamps.map(async (ms) => store.revokeUser(sub, new Date(ms), new Date(base + HOUR))));
      assert.equal((await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime(), Math.max(...stamps));
    });

    test('revokeSession revokes that session only', async () => {
      const sub = id('user');
      const revoked = id('sid');
      const other = id('sid');
      await store.revokeSession(revoked, sub, new Date(Date.now() + HOUR));
      assert.deepEqual(await store.getState(sub, revoked, issued()), { lastLogoutAt: null, sessionRevoked: true });
      assert.deepEqual(await store.getState(sub, other, issued()), { lastLogoutAt: null, sessionRevoked: false });
    });

    test('revokeSession is idempotent', async () => {
      const sub = id('user');
      const sid = id('sid');
      await store.revokeSession(sid, sub, new Date(Date.now() + HOUR));
      await store.revokeSession(sid, sub, new Date(Date.now() + HOUR));
      await Promise.all([1, 2, 3].map(async () => store.revokeSession(sid, sub, new Date(Date.now() + HOUR))));
      assert.equal((await store.getState(sub, sid, issued())).sessionRevoked, true);
    });

    test('an entry past its expiresAt is ignored on read, even if not yet deleted', async () => {
      const sid = id('sid');
      await store.revokeSession(sid, id('user'), new Date(Date.now() - 1000));
      assert.equal((await store.getState(id('user'), sid, issued())).sessionRevoked, false);
    });

    test('revokeSession extends an entry but never shortens it', async () => {
      const sub = id('user');
      const sid = id('sid');
      await store.revokeSession(sid, sub, new Date(Date.now() + HOUR));
      await store.revokeSession(sid, sub, new Date(Date.now() - 1000));
      assert.equal((await store.getState(sub, sid, issued())).sessionRevoked, true);
    });

    test('a revoked session is seen for a token of any age issued before the logout', async () => {
      const sub = id('user');
      const sid = id('sid');
      await store.revokeSession(sid, sub, new Date(Date.now() + HOUR));
      for (const age of [1, 1000, 59 * 60_000])
        assert.equal((await store.getState(sub, sid, Date.now() - age)).sessionRevoked, true, `age ${age}`);
    });

    test('one user is revoked without touching another', async () => {
      const alice = id('alice');
      const bob = id('bob');
      await store.revokeUser(alice, new Date(), new Date(Date.now() + HOUR));
      assert.equal((await store.getState(bob, id('sid'), issued())).lastLogoutAt, null);
    });
  });
}
