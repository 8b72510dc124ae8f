// The bounded-delay mode (`maxRevocationDelay`): the cache alone, then two engines sharing one store with a
// controlled clock (no sleeping): own revocations at once, others' within the bound, the size bound, outages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRevocationEngine } from '../../../lib/revocation/revocation-engine.js';
import { createRevocationCache, REVOCATION_CACHE_ENTRIES } from '../../../lib/revocation/revocation-cache.js';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';
import type { RevocationState, RevocationStore } from '../../../lib/stores/revocation-store.js';

const quiet = { warn: () => undefined };
const CLEAN: RevocationState = { lastLogoutAt: null, sessionRevoked: false };
const T0 = 1_800_000_000_000;

/** A clock the test moves by hand. */
function manualClock(start = T0) {
  const clock = { at: start, now: () => clock.at };
  return clock;
}

/** A memory store that counts reads and can be switched to fail. */
function countingStore(now: () => number) {
  const inner = new MemoryRevocationStore({ now });
  const store = {
    reads: 0,
    down: false,
    getState(sub: string, sid: string, signedInAtMs: number) {
      store.reads++;
      if (store.down) return Promise.reject(new Error('connection refused (simulated)'));
      void signedInAtMs; // the memory store does not need it
      return Promise.resolve(inner.getState(sub, sid));
    },
    revokeUser: (sub: string, at: Date, until: Date) => inner.revokeUser(sub, at, until),
    revokeSession: (sid: string, sub: string, expiresAt: Date) => inner.revokeSession(sid, sub, expiresAt),
  };
  return store satisfies RevocationStore;
}

function engineOn(store: RevocationStore, now: () => number, maxRevocationDelayMs: number) {
  return createRevocationEngine({
    store,
    storeTimeoutMs: 200,
    failOpen: false,
    logger: quiet,
    issuedAtPrecision: 'milliseconds',
    now,
    maxRevocationDelayMs,
  });
}

const SID = 'session-0123456789abcdef';
const token = (sub: string, sessionId = SID, issuedAtMs = T0 - 1000) => ({ sub, sessionId, issuedAtMs });
const code = async (e: ReturnType<typeof engineOn>, ref: ReturnType<typeof token>) => (await e.check(ref))?.code;

describe('createRevocationCache', () => {
  test('serves an entry until it is maxDelayMs old, never after; both the user and the session must be fresh', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 100, now: clock.now });
    assert.equal(cache.get('u', 's'), undefined);
    cache.store('u', 's', CLEAN, cache.begin());
    clock.at += 100;
    assert.deepEqual(cache.get('u', 's'), CLEAN);
    assert.equal(cache.get('u', 'other'), undefined, 'the session has no entry');
    clock.at += 1;
    assert.equal(cache.get('u', 's'), undefined, 'older than the bound');
  });

  test('the age counts from when the read was sent, not from when it answered', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 100, now: clock.now });
    const read = cache.begin();
    clock.at += 80; // a slow store
    cache.store('u', 's', CLEAN, read);
    clock.at += 21;
    assert.equal(cache.get('u', 's'), undefined);
  });

  test('a clock that steps backwards makes entries unusable instead of younger', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 100, now: clock.now });
    cache.store('u', 's', CLEAN, cache.begin());
    clock.at -= 1;
    assert.equal(cache.get('u', 's'), undefined);
  });

  test('an answer to a read sent before an own revocation finished is never kept', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 100, now: clock.now });
    const early = cache.begin();
    cache.forgetSession('u', 's');
    cache.store('u', 's', CLEAN, early);
    assert.equal(cache.get('u', 's'), undefined);
    cache.store('u', 's', CLEAN, cache.begin());
    assert.deepEqual(cache.get('u', 's'), CLEAN);
    cache.forgetUser('u');
    assert.equal(cache.get('u', 's'), undefined);
  });

  test('memory is bounded: past maxEntries the entries read longest ago go first', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 1000, now: clock.now, maxEntries: 3 });
    for (let i = 0; i < 10; i++) {
      cache.store(`u${i}`, `s${i}`, CLEAN, cache.begin());
      clock.at += 1;
    }
    assert.deepEqual(cache.size(), { users: 3, sessions: 3 });
    assert.equal(cache.get('u0', 's0'), undefined);
    assert.deepEqual(cache.get('u9', 's9'), CLEAN);
    assert.equal(REVOCATION_CACHE_ENTRIES, 10_000, 'the documented default');
  });

  test('entries that can no longer be served are dropped as new ones come in', () => {
    const clock = manualClock();
    const cache = createRevocationCache({ maxDelayMs: 10, now: clock.now });
    for (let i = 0; i < 1000; i++) {
      cache.store(`u${i}`, `s${i}`, CLEAN, cache.begin());
      clock.at += 1;
    }
    assert.ok(cache.size().users <= 12, `${cache.size().users} users kept`);
  });
});

describe('two engines on one store, maxRevocationDelay 100 ms', () => {
  test('exact mode (0) reads the store on every check', async () => {
    const clock = manualClock();
    const store = countingStore(clock.now);
    const exact = engineOn(store, clock.now, 0);
    for (let i = 0; i < 3; i++) assert.equal(await code(exact, token('alice')), undefined);
    assert.equal(store.reads, 3);
  });

  test('repeated checks within the bound read the store once', async () => {
    const clock = manualClock();
    const store = countingStore(clock.now);
    const a = engineOn(store, clock.now, 100);
    for (let i = 0; i < 5; i++) {
      assert.equal(await code(a, token('alice')), undefined);
      clock.at += 20;
    }
    assert.equal(store.reads, 1);
    clock.at += 1; // 101 ms after the read
    assert.equal(await code(a, token('alice')), undefined);
    assert.equal(store.reads, 2);
  });

  test("own revocations are seen at once; the other instance's within the bound, never later", async () => {
    const clock = manualClock();
    const store = countingStore(clock.now);
    const a = engineOn(store, clock.now, 100);
    const b = engineOn(store, clock.now, 100);
    const phone = token('alice', 'phone-0123456789abcdef');
    const laptop = token('alice', 'laptop-0123456789abcdef');
    for (const e of [a, b]) for (const t of [phone, laptop]) assert.equal(await code(e, t), undefined);

    await a.revokeSession(phone.sessionId, 'alice');
    assert.equal(await code(a, phone), 'session_revoked', 'own logout: at once');
    assert.equal(await code(b, phone), undefined, 'the other instance may still answer from its read');
    clock.at += 100;
    assert.equal(await code(b, phone), undefined, 'still within the bound');
    clock.at += 1;
    assert.equal(await code(b, phone), 'session_revoked', 'past the bound: read again');

    assert.equal(await code(a, laptop), undefined, 'a reads alice again');
    await b.revokeUser('alice');
    assert.equal(await code(b, laptop), 'logged_out_everywhere', 'own logout-everywhere: at once');
    assert.equal(await code(a, laptop), undefined, 'a read at most 100 ms ago');
    clock.at += 101;
    assert.equal(await code(a, laptop), 'logged_out_everywhere');
  });

  test('an outage: a cached answer younger than the bound may be served; older, the check fails closed', async () => {
    const clock = manualClock();
    const store = countingStore(clock.now);
    const a = engineOn(store, clock.now, 100);
    assert.equal(await code(a, token('alice')), undefined);
    store.down = true;
    clock.at += 50;
    assert.equal(await code(a, token('alice')), undefined, 'read 50 ms ago: served from memory');
    assert.equal(await code(a, token('bob')), 'revocation_unavailable', 'nothing cached: fails closed');
    clock.at += 51;
    assert.equal(await code(a, token('alice')), 'revocation_unavailable', 'older than the bound: never used');
    store.down = false;
    assert.equal(await code(a, token('alice')), undefined);
  });

  test('a failed own revocation still drops the cached state (the write may have gone through)', async () => {
    const clock = manualClock();
    const store = countingStore(clock.now);
    const a = engineOn(store, clock.now, 100);
    assert.equal(await code(a, token('alice')), undefined);
    const reads = store.reads;
    const failing: RevocationStore = {
      getState: (sub, sid, at) => store.getState(sub, sid, at),
      revokeUser: () => Promise.reject(new Error('write refused')),
      revokeSession: () => Promise.reject(new Error('write refused')),
    };
    const b = engineOn(failing, clock.now, 100);
    assert.equal(await code(b, token('alice')), undefined);
    await assert.rejects(b.revokeSession(SID, 'alice'));
    assert.equal(await code(b, token('alice')), undefined);
    assert.equal(store.reads, reads + 2, 'read again after the failed write');
  });
});
