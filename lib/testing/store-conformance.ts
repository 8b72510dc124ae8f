// The conformance suite every RevocationStore must pass, published for store authors and used by our stores.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RevocationStore } from '../stores/revocation-store.js';

/** The store under test: how to make a fresh one for each test, and how to clean up after it. */
export interface ConformanceSubject<S extends RevocationStore = RevocationStore> {
  /** Shown in the suite's title, e.g. `'RedisRevocationStore'`. */
  name: string;
  /** A new store for one test. Tests use random ids, so stores may share a database. */
  createStore(): S | Promise<S>;
  /** Called after each test, once the suite has called `store.close()` (e.g. to drop collections). */
  cleanup?(store: S): void | Promise<void>;
}

/** The test functions of your runner: node:test's, vitest's or mocha's `describe` and `it` all fit. */
export interface TestFunctions {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

const HOUR = 3_600_000;
const id = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
/** A token issued a minute ago: before every revocation the tests make. */
const issued = () => Date.now() - 60_000;
const later = () => new Date(Date.now() + HOUR);
const notRevoked = { lastLogoutAt: null, sessionRevoked: false };

/** Each test: what the store promises, checked on a fresh store. */
const TESTS: Record<string, (store: RevocationStore) => Promise<void>> = {
  async 'an unknown user and session are not revoked'(store) {
    assert.deepEqual(await store.getState(id('user'), id('sid'), issued()), notRevoked);
  },

  async 'revokeUser stores the watermark to the millisecond, creating the user record'(store) {
    const sub = id('user');
    const at = new Date(Date.now() - 123);
    await store.revokeUser(sub, at, later());
    const state = await store.getState(sub, id('sid'), issued());
    assert.ok(state.lastLogoutAt instanceof Date, 'lastLogoutAt is a Date');
    assert.equal(state.lastLogoutAt.getTime(), at.getTime());
    assert.equal(state.sessionRevoked, false);
  },

  async 'revokeUser never moves the watermark backwards'(store) {
    const sub = id('user');
    const first = new Date();
    await store.revokeUser(sub, first, later());
    await store.revokeUser(sub, new Date(first.getTime() - 5000), later());
    assert.equal((await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime(), first.getTime());
  },

  async 'revokeUser moves the watermark forwards'(store) {
    const sub = id('user');
    const first = new Date(Date.now() - 5000);
    await store.revokeUser(sub, first, later());
    const second = new Date();
    await store.revokeUser(sub, second, later());
    assert.equal((await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime(), second.getTime());
  },

  async 'concurrent revokeUser calls leave the largest watermark'(store) {
    const sub = id('user');
    const base = Date.now();
    const stamps = Array.from({ length: 12 }, (_, i) => base - ((i * 7) % 12) * 10);
    await Promise.all(stamps.map(async (ms) => store.revokeUser(sub, new Date(ms), later())));
    assert.equal((await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime(), Math.max(...stamps));
  },

  async 'revokeSession revokes that session of the user, not their other sessions'(store) {
    const sub = id('user');
    const revoked = id('sid');
    await store.revokeSession(revoked, sub, later());
    assert.deepEqual(await store.getState(sub, revoked, issued()), { lastLogoutAt: null, sessionRevoked: true });
    assert.deepEqual(await store.getState(sub, id('sid'), issued()), notRevoked);
  },

  async 'revokeSession does not touch other users'(store) {
    const sub = id('user');
    await store.revokeSession(id('sid'), sub, later());
    assert.deepEqual(await store.getState(id('other'), id('sid'), issued()), notRevoked);
  },

  async 'revokeSession is idempotent, also when concurrent'(store) {
    const sub = id('user');
    const sid = id('sid');
    await store.revokeSession(sid, sub, later());
    await store.revokeSession(sid, sub, later());
    await Promise.all([1, 2, 3].map(async () => store.revokeSession(sid, sub, later())));
    assert.equal((await store.getState(sub, sid, issued())).sessionRevoked, true);
  },

  async 'a session entry past its expiresAt is ignored on read, even if not yet deleted'(store) {
    const sub = id('user');
    const sid = id('sid');
    await store.revokeSession(sid, sub, new Date(Date.now() - 1000));
    assert.equal((await store.getState(sub, sid, Date.now() - HOUR)).sessionRevoked, false);
  },

  async 'revokeSession extends an entry but never shortens it'(store) {
    const sub = id('user');
    const sid = id('sid');
    await store.revokeSession(sid, sub, new Date(Date.now() + 1000));
    await store.revokeSession(sid, sub, later());
    await store.revokeSession(sid, sub, new Date(Date.now() - 1000));
    assert.equal((await store.getState(sub, sid, issued())).sessionRevoked, true);
  },

  async 'a revoked session is seen for a token of any age issued before the logout'(store) {
    const sub = id('user');
    const sid = id('sid');
    await store.revokeSession(sid, sub, later());
    for (const age of [1, 1000, 59 * 60_000]) {
      assert.equal((await store.getState(sub, sid, Date.now() - age)).sessionRevoked, true, `age ${age} ms`);
    }
  },

  async 'session and user revocations are both reported'(store) {
    const sub = id('user');
    const sid = id('sid');
    await store.revokeSession(sid, sub, later());
    const at = new Date();
    await store.revokeUser(sub, at, later());
    assert.deepEqual(await store.getState(sub, sid, issued()), { lastLogoutAt: at, sessionRevoked: true });
  },

  async 'one user is revoked without touching another'(store) {
    await store.revokeUser(id('alice'), new Date(), later());
    assert.equal((await store.getState(id('bob'), id('sid'), issued())).lastLogoutAt, null);
  },

  async 'many concurrent checks each get their own answer'(store) {
    const users = Array.from({ length: 20 }, () => ({ sub: id('user'), sid: id('sid') }));
    await Promise.all(users.filter((_, i) => i % 2 === 0).map(async (u) => store.revokeSession(u.sid, u.sub, later())));
    const states = await Promise.all(users.map(async (u) => store.getState(u.sub, u.sid, issued())));
    assert.deepEqual(
      states.map((s) => s.sessionRevoked),
      users.map((_, i) => i % 2 === 0),
    );
  },
};

/** The names of the tests, in order: what a store must do, readable in your runner's report. */
export const CONFORMANCE_TESTS = Object.keys(TESTS);

/**
 * Registers the conformance suite with your test runner. Each test gets a fresh store from `createStore`,
 * calls its `init()` first and its `close()` and your `cleanup` after.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test'; // or vitest, or mocha's globals
 * import { runStoreConformance } from 'express-revocable-jwt/testing';
 *
 * runStoreConformance({ name: 'MyStore', createStore: () => new MyStore(), cleanup: (s) => s.drop() }, { describe, it });
 * ```
 */
export function runStoreConformance<S extends RevocationStore>(
  subject: ConformanceSubject<S>,
  test: TestFunctions,
): void {
  test.describe(`${subject.name} conformance`, () => {
    for (const [name, body] of Object.entries(TESTS)) {
      test.it(name, async () => {
        const store = await subject.createStore();
        try {
          await store.init?.();
          await body(store);
        } finally {
          await store.close?.();
          await subject.cleanup?.(store);
        }
      });
    }
  });
}
