// The bounded-delay mode on a store with a change feed: every revocation in memory, every check answered from
// it, brought up to date at least every maxRevocationDelay. A controlled clock, no sleeping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRevocationEngine } from '../../../lib/revocation/revocation-engine.js';
import {
  CHANGE_OVERLAP_MS,
  createFeedCopy,
  type FeedCopySettings,
  FULL_READ_AFTER_MS,
  COPY_MAX_ENTRIES,
} from '../../../lib/revocation/feed-copy.js';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';
import type { FeedPage, FeedPageRequest, RevocationStore } from '../../../lib/stores/revocation-store.js';
import { manualClock } from '../../support/clock.js';

const T0 = 1_800_000_000_000;
const DELAY = 100;
const HOUR = 3_600_000;

/** A memory store behind a feed that counts reads, remembers what each asked for, and can fail or hang. */
function feedStore(now: () => number) {
  const inner = new MemoryRevocationStore({ now });
  const store = {
    reads: 0,
    feedReads: [] as (number | null)[],
    down: false,
    feedDown: false,
    feedHangs: false,
    getState(sub: string, sid: string) {
      store.reads++;
      if (store.down) return Promise.reject(new Error('connection refused (simulated)'));
      return Promise.resolve(inner.getState(sub, sid));
    },
    revokeUser: (sub: string, at: Date, until: Date) => inner.revokeUser(sub, at, until),
    revokeSession: (sid: string, sub: string, expiresAt: Date) => inner.revokeSession(sid, sub, expiresAt),
    markClaimsChanged: (sub: string, at: Date, until: Date) => inner.markClaimsChanged(sub, at, until),
    readFeed(since: Date | null, limit: number): Promise<FeedPage> {
      store.feedReads.push(since === null ? null : since.getTime());
      if (store.feedHangs) return new Promise<FeedPage>(() => undefined);
      if (store.feedDown) return Promise.reject(new Error('feed unreachable (simulated)'));
      return Promise.resolve(inner.readFeed(since, limit));
    },
  };
  return store satisfies RevocationStore;
}

function engineOn(store: RevocationStore, now: () => number, logger = { warn: (_: string) => undefined }) {
  return createRevocationEngine({
    store,
    storeTimeoutMs: 200,
    failOpen: false,
    logger,
    issuedAtPrecision: 'milliseconds',
    now,
    maxRevocationDelayMs: DELAY,
  });
}

/** An engine on a fresh feed store, after its first read of the feed. */
async function warmEngine() {
  const clock = manualClock(T0);
  const store = feedStore(clock.now);
  const engine = engineOn(store, clock.now);
  await engine.warmUp();
  return { clock, store, engine };
}

const sid = (n: number) => `session-${String(n).padStart(16, '0')}`;
const token = (sub: string, sessionId = sid(0), issuedAtMs = T0 - 1000) => ({ sub, sessionId, issuedAtMs });
const code = async (e: ReturnType<typeof engineOn>, ref: ReturnType<typeof token>) => (await e.check(ref))?.code;

/** A copy with a bound of 3 after its first read of a feed of 4 revoked sessions (ending in an hour). */
async function overfullCopy() {
  const clock = manualClock(T0);
  const store = feedStore(clock.now);
  for (let i = 0; i < 4; i++) store.revokeSession(sid(i), `user-${i}`, new Date(T0 + HOUR));
  const warnings: string[] = [];
  const copy = copyOf((since, limit) => store.readFeed(since, limit), clock.now, { warnings, maxEntries: 3 });
  await copy.sync();
  return { clock, store, warnings, copy };
}

/** A copy on `read` with the test's delay and clock; warnings go to `warnings`. */
function copyOf(
  read: FeedCopySettings['read'],
  now: () => number,
  options: { warnings?: string[]; maxEntries?: number } = {},
) {
  return createFeedCopy({
    read,
    maxDelayMs: DELAY,
    readTimeoutMs: 200,
    now,
    logger: { warn: (m) => void options.warnings?.push(m) },
    ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
  });
}

describe('maxRevocationDelay with a change feed: every revocation in memory', () => {
  test('after the first read, checks of any user are answered without reading the store', async () => {
    const clock = manualClock(T0);
    const store = feedStore(clock.now);
    store.revokeUser('revoked-user', new Date(T0 - 500), new Date(T0 + HOUR));
    store.revokeSession(sid(7), 'device-user', new Date(T0 + HOUR));
    const engine = engineOn(store, clock.now);
    await engine.warmUp();
    for (let i = 0; i < 200; i++) assert.equal(await code(engine, token(`user-${i}`, sid(100 + i))), undefined);
    assert.equal(await code(engine, token('revoked-user')), 'logged_out_everywhere');
    assert.equal(await code(engine, token('revoked-user', sid(1), T0 - 100)), undefined, 'signed in after it');
    assert.equal(await code(engine, token('device-user', sid(7))), 'session_revoked');
    assert.equal(await code(engine, token('device-user', sid(8))), undefined);
    assert.equal(store.reads, 0, 'no per-check store read');
    assert.deepEqual(store.feedReads, [null], 'one full read of the feed');
  });

  test('own revocations are seen at once, without waiting for the feed', async () => {
    const { store, engine } = await warmEngine();
    await engine.revokeSession(sid(1), 'alice', new Date(T0 + HOUR));
    assert.equal(await code(engine, token('alice', sid(1))), 'session_revoked');
    await engine.revokeUser('bob');
    assert.equal(await code(engine, token('bob', sid(2), T0 - 1)), 'logged_out_everywhere');
    assert.equal(store.feedReads.length, 1, 'no feed read was needed');
    assert.equal(store.reads, 0);
  });

  test("another instance's revocation: seen by the next read of the feed, and never later than the bound", async () => {
    const clock = manualClock(T0);
    const store = feedStore(clock.now);
    const [a, b] = [engineOn(store, clock.now), engineOn(store, clock.now)] as const;
    await Promise.all([a.warmUp(), b.warmUp()]);
    const ref = token('carol', sid(3));
    assert.equal(await code(b, ref), undefined);
    await a.revokeSession(sid(3), 'carol', new Date(T0 + HOUR));
    assert.equal(await code(b, ref), undefined, 'b answers from its copy, read less than the delay ago');
    clock.at += DELAY / 2; // half the delay: this check starts the next read
    await code(b, ref);
    await b.copy?.sync();
    assert.equal(await code(b, ref), 'session_revoked', 'the read brought the revocation');
    assert.equal(store.reads, 0, 'all from the copy');
    assert.deepEqual(store.feedReads.slice(-1), [T0 - CHANGE_OVERLAP_MS], 'asked what changed since the last read');
  });

  test("claims changes: this instance's at once, another instance's by the next read; tokens with later claims pass", async () => {
    const clock = manualClock(T0);
    const store = feedStore(clock.now);
    const [a, b] = [engineOn(store, clock.now), engineOn(store, clock.now)] as const;
    await Promise.all([a.warmUp(), b.warmUp()]);
    const ref = token('dora', sid(4));
    assert.equal(await code(a, ref), undefined);
    const changedAt = (await a.refreshClaims('dora')).getTime();
    assert.equal(await code(a, ref), 'claims_stale', 'own change, from the copy at once');
    const verdict = await a.verdict(ref);
    assert.ok(verdict.ok && verdict.claimsChangedAtMs === changedAt, 'the verdict names the change');
    assert.equal(await code(b, ref), undefined, 'b answers from its copy, read less than the delay ago');
    clock.at += DELAY / 2;
    await code(b, ref);
    await b.copy?.sync();
    assert.equal(await code(b, ref), 'claims_stale', 'the read brought the change');
    assert.equal(await code(b, { ...ref, claimsAtMs: changedAt + 1 } as never), undefined, 'claims loaded after it');
    assert.equal(await code(b, token('erik', sid(5))), undefined, 'other users are untouched');
    assert.equal(store.reads, 0, 'all from the copies');
  });

  test('never serves a copy older than the bound: with the feed down, checks read the store; with both down, 503', async () => {
    const clock = manualClock(T0);
    const store = feedStore(clock.now);
    const warnings: string[] = [];
    const [a, b] = [engineOn(store, clock.now), engineOn(store, clock.now, { warn: (m) => void warnings.push(m) })];
    await b.warmUp();
    store.feedDown = true;
    await a.revokeUser('dave');
    const ref = token('dave', sid(4), T0 - 1);
    clock.at += DELAY; // exactly the bound: the copy may still answer
    assert.equal(await code(b, ref), undefined);
    await b.copy?.sync();
    clock.at += 1;
    assert.equal(await code(b, ref), 'logged_out_everywhere', 'past the bound: read from the store');
    assert.equal(store.reads, 1);
    assert.ok(
      warnings.some((w) => w.includes('revocation feed failed')),
      warnings.join('\n'),
    );
    store.down = true;
    clock.at += DELAY;
    assert.equal(await code(b, token('erin', sid(5))), 'revocation_unavailable', 'fails closed');
    store.down = false;
    store.feedDown = false;
    clock.at += DELAY;
    await b.copy?.sync();
    assert.equal(await code(b, ref), 'logged_out_everywhere');
    const reads = store.reads;
    assert.equal(await code(b, token('erin', sid(5))), undefined);
    assert.equal(store.reads, reads, 'answered from the copy again');
    assert.ok(
      warnings.some((w) => w.includes('answers again')),
      warnings.join('\n'),
    );
  });

  test('reads of the feed cover each other: each asks from the last success, also after failures', async () => {
    const { clock, store, engine } = await warmEngine();
    store.feedDown = true;
    for (let i = 1; i <= 3; i++) {
      clock.at += DELAY / 2;
      await engine.copy?.sync();
    }
    store.feedDown = false;
    clock.at += DELAY / 2;
    await engine.copy?.sync();
    clock.at += DELAY / 2;
    await engine.copy?.sync();
    const first = T0 - CHANGE_OVERLAP_MS;
    assert.deepEqual(store.feedReads, [null, first, first, first, first, T0 + 2 * DELAY - CHANGE_OVERLAP_MS]);
  });

  test('one read at a time, at most one per half delay; a hung read holds the next back for the store timeout only', async () => {
    const { clock, store, engine } = await warmEngine();
    store.feedHangs = true;
    clock.at += DELAY / 2;
    for (let i = 0; i < 5; i++) await code(engine, token(`u${i}`, sid(i)));
    assert.equal(store.feedReads.length, 2, 'one read for five checks');
    clock.at += 150; // past the half delay, within the 200 ms store timeout: still waiting
    await code(engine, token('u9', sid(9)));
    assert.equal(store.feedReads.length, 2);
    clock.at += 60; // past the timeout
    store.feedHangs = false;
    await code(engine, token('u9', sid(9)));
    await engine.copy?.sync();
    assert.equal(store.feedReads.length, 3);
    assert.equal(await code(engine, token('u9', sid(9))), undefined);
  });

  test('a revocation through this instance whose write failed is still refused by it (it may have gone through)', async () => {
    const { store, engine } = await warmEngine();
    store.revokeSession = () => {
      throw new Error('write lost (simulated)');
    };
    await assert.rejects(engine.revokeSession(sid(1), 'gina', new Date(T0 + HOUR)));
    assert.equal(await code(engine, token('gina', sid(1))), 'session_revoked');
    assert.equal(store.reads, 0);
  });

  test('read whole at least every 5 minutes, also when busy: a change the reads by time missed is caught then', async () => {
    const clock = manualClock(T0);
    const writerClock = { at: T0 - 15_000 }; // a writer whose clock is 15 s behind: beyond the 10 s margin
    const writer = new MemoryRevocationStore({ now: () => writerClock.at });
    const reads: (number | null)[] = [];
    const copy = copyOf((since, limit) => {
      reads.push(since === null ? null : since.getTime());
      return writer.readFeed(since, limit);
    }, clock.now);
    await copy.sync();
    writer.revokeSession(sid(1), 'hank', new Date(T0 + HOUR));
    let firstRefused: number | undefined;
    for (let step = 1; firstRefused === undefined && step <= FULL_READ_AFTER_MS / (DELAY / 2) + 2; step++) {
      clock.at += DELAY / 2;
      writerClock.at += DELAY / 2;
      await copy.sync();
      if (copy.get('hank', sid(1), T0 - 1000)?.sessionRevoked === true) firstRefused = clock.at - T0;
    }
    assert.ok(firstRefused !== undefined && firstRefused > DELAY, `missed by the reads by time: ${firstRefused}`);
    assert.ok(firstRefused <= FULL_READ_AFTER_MS + DELAY, `caught by the next whole read: ${firstRefused}`);
    assert.equal(reads.filter((r) => r === null).length, 2, 'one whole read at the start, one 5 minutes later');
  });

  test('the periodic whole read goes on beside the reads by time: the copy stays in use while it is slow', async () => {
    const clock = manualClock(T0);
    const inner = new MemoryRevocationStore({ now: clock.now });
    const reads: (number | null)[] = [];
    let release: (() => void) | undefined;
    const copy = copyOf((since, limit, page) => {
      reads.push(since === null ? null : since.getTime());
      const answer = inner.readFeed(since, limit, page);
      if (since !== null || reads.length === 1) return answer;
      return new Promise<FeedPage>((resolve) => (release = () => resolve(answer))); // a whole read of millions
    }, clock.now);
    await copy.sync();
    for (let t = 0; t <= FULL_READ_AFTER_MS; t += DELAY / 2) {
      clock.at += DELAY / 2;
      await copy.sync();
    }
    assert.equal(reads.filter((r) => r === null).length, 2, 'the second whole read was sent');
    inner.revokeSession(sid(7), 'ida', new Date(clock.at + HOUR));
    for (let i = 0; i < 4; i++) {
      clock.at += DELAY / 2;
      await Promise.race([copy.sync(), new Promise((r) => setImmediate(r))]);
      await new Promise((r) => setImmediate(r));
      assert.notEqual(copy.get('ida', sid(8), T0 - 1000), undefined, 'the copy answers while the whole read runs');
    }
    assert.equal(copy.get('ida', sid(7), T0 - 1000)?.sessionRevoked, true, 'a read by time brought the change');
    release?.();
  });

  test("the bound holds for this instance's own revocations too, also while the feed cannot be read", async () => {
    const clock = manualClock(T0);
    const warnings: string[] = [];
    const copy = copyOf(() => ({ startedAt: new Date(0), changes: [] }), clock.now, {
      warnings,
      maxEntries: 3,
    });
    await copy.sync();
    for (let i = 0; i < 3; i++) copy.applySession('u', sid(i), T0 + HOUR);
    assert.equal(copy.enabled(), true);
    copy.applySession('u', sid(9), T0 - 1); // an entry that already ended is pruned, not counted
    assert.equal(copy.enabled(), true);
    copy.applySession('u', sid(5), T0 + HOUR);
    assert.equal(copy.enabled(), false, 'four revocations that matter, bound 3');
    assert.deepEqual(copy.size(), { users: 0, sessions: 0, claims: 0 }, 'the copy is dropped');
    copy.applyUser('ivan', T0, T0 + HOUR);
    assert.deepEqual(
      copy.size(),
      { users: 1, sessions: 0, claims: 0 },
      'own revocations are kept for when it fits again',
    );
    assert.equal(copy.get('ivan', sid(1), T0 + 1), undefined, 'but checks read the store');
    assert.ok(
      warnings.some((w) => w.includes('more than 3')),
      warnings.join('\n'),
    );
  });

  test('a failing feed is asked at most once per half delay, not on every check', async () => {
    const { clock, store, engine } = await warmEngine();
    store.feedDown = true;
    clock.at += DELAY / 2;
    for (let i = 0; i < 5; i++) {
      await code(engine, token(`u${i}`, sid(i)));
      await engine.copy?.sync();
    }
    assert.equal(store.feedReads.length, 2, 'one failed read for five checks');
    clock.at += DELAY / 2;
    await code(engine, token('u9', sid(9)));
    assert.equal(store.feedReads.length, 3, 'the next one half a delay later');
  });

  test('sessions signed in before the feed started (plus the margin) are checked against the store', async () => {
    const clock = manualClock(T0);
    const reads: string[] = [];
    const copy = copyOf(() => ({ startedAt: new Date(T0 - 60_000), changes: [] }), clock.now, { warnings: reads });
    await copy.sync();
    assert.equal(copy.get('old', sid(1), T0 - 60_000 + CHANGE_OVERLAP_MS), undefined);
    assert.deepEqual(copy.get('new', sid(1), T0 - 60_000 + CHANGE_OVERLAP_MS + 1), {
      lastLogoutAt: null,
      sessionRevoked: false,
    });
  });

  test('entries count until they stop mattering: a watermark until relevantUntil, a session until its expiry', async () => {
    const clock = manualClock(T0);
    const copy = copyOf(
      () => ({
        startedAt: new Date(0),
        changes: [
          { kind: 'user', sub: 'u', lastLogoutAt: new Date(T0 - 10), relevantUntil: new Date(T0 + 30) },
          { kind: 'session', sessionId: sid(1), sub: 'u', expiresAt: new Date(T0 + 30) },
        ],
      }),
      clock.now,
    );
    await copy.sync();
    assert.deepEqual(copy.get('u', sid(1), T0 - 100), { lastLogoutAt: new Date(T0 - 10), sessionRevoked: true });
    clock.at += 30;
    assert.deepEqual(copy.get('u', sid(1), T0 - 100), { lastLogoutAt: null, sessionRevoked: false });
  });

  test('memory is bounded: past maxEntries the copy is dropped, with a warning, and checks read the store', async () => {
    assert.equal(COPY_MAX_ENTRIES, 2_000_000, 'the documented bound');
    const { warnings, copy } = await overfullCopy();
    assert.equal(copy.enabled(), false);
    assert.deepEqual(copy.size(), { users: 0, sessions: 0, claims: 0 });
    assert.equal(copy.get('user-9', sid(9), T0), undefined);
    assert.ok(
      warnings.some((w) => w.includes('more than 3')),
      warnings.join('\n'),
    );
    copy.applyUser('user-9', T0, T0 + HOUR);
    assert.equal(copy.get('user-9', sid(9), T0), undefined, 'checks read the store until a whole read fits');
  });

  test('the bound counts revocations, not feed entries: one user logged out everywhere again and again is one', async () => {
    const clock = manualClock(T0);
    // A feed as MongoDB and Redis keep it: one entry per logout-everywhere, here 11 of one user.
    const changes = Array.from({ length: 11 }, (_, i) => ({
      kind: 'user' as const,
      sub: 'mallory',
      lastLogoutAt: new Date(T0 - 20_000 + i),
      relevantUntil: new Date(T0 + HOUR),
    }));
    const copy = copyOf((_since, limit) => ({ startedAt: new Date(0), changes: changes.slice(0, limit) }), clock.now, {
      maxEntries: 3,
    });
    await copy.sync();
    assert.equal(copy.enabled(), true, '11 feed entries, 1 revocation, bound 3');
    assert.deepEqual(copy.get('mallory', sid(1), T0 - 20_000 + 5)?.lastLogoutAt, new Date(T0 - 20_000 + 10));
    // A feed longer than a whole read may return (4 entries per revocation the copy may hold) cannot be known
    // to be complete: the copy is not used.
    changes.push({ ...changes[0]!, sub: 'trudy' });
    clock.at += FULL_READ_AFTER_MS + 1;
    copy.get('x', sid(1), T0);
    await copy.sync();
    assert.equal(copy.enabled(), false, '12 feed entries, bound 3 x 4');
  });

  test('past the bound, a whole read every 5 minutes puts the copy back in use once it fits, with own revocations', async () => {
    const { clock, store, warnings, copy } = await overfullCopy();
    assert.equal(copy.enabled(), false);
    clock.at += DELAY;
    assert.equal(copy.get('user-0', sid(0), T0), undefined);
    assert.equal(store.feedReads.length, 1, 'no read before 5 minutes have passed');
    // The four sessions end; meanwhile this instance revokes one of its own.
    clock.at = T0 + HOUR + 1;
    copy.applySession('own', sid(7), T0 + 2 * HOUR);
    clock.at += FULL_READ_AFTER_MS;
    assert.equal(copy.get('own', sid(7), T0), undefined, 'still reading the store; this check starts a whole read');
    await copy.sync(); // the read just sent
    assert.deepEqual(store.feedReads, [null, null], 'two whole reads');
    assert.equal(copy.enabled(), true, 'the whole read fits');
    assert.deepEqual(copy.get('own', sid(7), T0), { lastLogoutAt: null, sessionRevoked: true });
    assert.ok(
      warnings.some((w) => w.includes('fit in memory again')),
      warnings.join('\n'),
    );
  });

  test('a whole read sent before own revocations overflowed the copy never puts it back in use, whatever the clock did', async () => {
    for (const step of [0, -1000]) {
      const clock = manualClock(T0);
      const store = feedStore(clock.now);
      let release: (() => void) | undefined;
      const held = (since: Date | null, limit: number) => {
        const page = store.readFeed(since, limit); // the feed as it is when the read reaches the store
        return new Promise<FeedPage>((resolve) => (release = () => void page.then(resolve)));
      };
      let hold = false;
      const copy = copyOf((since, limit) => (hold ? held(since, limit) : store.readFeed(since, limit)), clock.now, {
        maxEntries: 3,
      });
      await copy.sync();
      clock.at += FULL_READ_AFTER_MS + 1;
      hold = true;
      const pending = copy.sync(); // a whole read of an empty feed, sent now
      await new Promise((resolve) => setImmediate(resolve));
      // Alice logs out through this instance (in its copy), the clock steps, more own revocations overflow it.
      copy.applySession('alice', sid(1), clock.at + HOUR);
      clock.at += step;
      for (const u of ['u1', 'u2', 'u3']) copy.applySession(u, sid(2), clock.at + HOUR);
      assert.equal(copy.enabled(), false, `step ${step}: past the bound`);
      release?.();
      await pending;
      assert.equal(copy.enabled(), false, `step ${step}: the read may lack what was dropped after it was sent`);
      clock.at += 1000;
      assert.equal(
        copy.get('alice', sid(1), T0 - 1000),
        undefined,
        `step ${step}: alice's session is read from the store`,
      );
    }
  });

  test('a whole read past the bound stops merging once it holds more revocations than the bound', async () => {
    const clock = manualClock(T0);
    const changes = Array.from({ length: 11 }, (_, i) => ({
      kind: 'session' as const,
      sub: `user-${i}`,
      sessionId: sid(i),
      expiresAt: new Date(T0 + HOUR),
    }));
    let merged = 0;
    const counted = new Proxy(changes, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) merged++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const copy = copyOf(() => ({ startedAt: new Date(0), changes: counted }), clock.now, { maxEntries: 3 });
    await copy.sync();
    assert.equal(copy.enabled(), false, '11 revocations, bound 3');
    assert.deepEqual(copy.size(), { users: 0, sessions: 0, claims: 0 });
    assert.ok(merged <= 4, `read ${merged} of 11 entries; one past the bound is enough to know`);
  });

  test('a read by time near the bound: entries that already ended are not counted (they come back in reads by time)', async () => {
    const clock = manualClock(T0);
    const session = (sub: string, end: number) => ({
      kind: 'session' as const,
      sub,
      sessionId: sid(1),
      expiresAt: new Date(end),
    });
    const pages: FeedPage[] = [
      { startedAt: new Date(0), changes: [session('u1', T0 + HOUR), session('u2', T0 + HOUR), session('u3', T0 + 50)] },
      // Read by time (what was written in the last 10 s): a new logout, and one of a session that ended since.
      { startedAt: new Date(0), changes: [session('u4', T0 + HOUR), session('u5', T0 + 55)] },
    ];
    const copy = copyOf(() => pages.shift() ?? { startedAt: new Date(0), changes: [] }, clock.now, { maxEntries: 3 });
    await copy.sync();
    clock.at = T0 + 60;
    await copy.sync();
    assert.equal(copy.enabled(), true, 'three revocations still matter, bound 3');
    assert.deepEqual(copy.get('u4', sid(1), T0 - 1000), { lastLogoutAt: null, sessionRevoked: true });
  });

  test('a clock stepped backwards makes the copy unusable until it is read again, whole', async () => {
    const { clock, store, engine } = await warmEngine();
    clock.at -= 1000;
    assert.equal(await code(engine, token('frank', sid(1), T0 - 5000)), undefined);
    assert.equal(store.reads, 1, 'read from the store');
    await engine.copy?.sync();
    assert.deepEqual(store.feedReads, [null, null]);
    assert.equal(await code(engine, token('frank', sid(1), T0 - 5000)), undefined);
    assert.equal(store.reads, 1, 'from the copy again');
  });

  test('too many changes at once, or a copy idle for long, are read again whole instead of by change', async () => {
    const clock = manualClock(T0);
    const asked: (number | null)[] = [];
    let changes = 0;
    const copy = copyOf(
      (since) => {
        asked.push(since === null ? null : since.getTime());
        const list = Array.from({ length: changes }, (_, i) => ({
          kind: 'session' as const,
          sessionId: sid(i),
          sub: `user-${i}`,
          expiresAt: new Date(T0 + HOUR),
        }));
        return { startedAt: new Date(0), changes: list };
      },
      clock.now,
      { maxEntries: 5 },
    );
    await copy.sync();
    changes = 5; // a read of what changed hits the limit: nothing applied, the next read is whole
    clock.at += DELAY / 2;
    await copy.sync();
    changes = 2;
    clock.at += DELAY / 2;
    await copy.sync();
    assert.equal(copy.enabled(), true);
    assert.deepEqual(copy.size(), { users: 0, sessions: 2, claims: 0 });
    clock.at += DELAY / 2;
    await copy.sync();
    clock.at += FULL_READ_AFTER_MS + 1;
    await copy.sync();
    assert.deepEqual(asked, [null, T0 - CHANGE_OVERLAP_MS, null, T0 + DELAY - CHANGE_OVERLAP_MS, null]);
  });
});

describe('the copy at scale: paged whole reads, hashed ids', () => {
  /** A memory store of `n` revoked sessions, read in pages of `size` through a feed that counts its pages. */
  function pagedFeed(n: number, size: number, clock: { now: () => number }) {
    const inner = new MemoryRevocationStore({ now: clock.now });
    for (let i = 0; i < n; i++) inner.revokeSession(sid(i), `user-${i}`, new Date(T0 + HOUR));
    const feed = {
      pages: [] as { since: number | null; size: number | undefined; cursor: string | undefined }[],
      hangOnPage: -1,
      read: (since: Date | null, limit: number, page?: FeedPageRequest): Promise<FeedPage> => {
        feed.pages.push({ since: since?.getTime() ?? null, size: page?.size, cursor: page?.cursor });
        if (feed.pages.length - 1 === feed.hangOnPage) return new Promise<FeedPage>(() => undefined);
        return Promise.resolve(inner.readFeed(since, limit, page && { ...page, size: Math.min(page.size, size) }));
      },
    };
    return feed;
  }

  test('a whole read comes in pages, each a request of its own; checks read the store until the last page is in', async () => {
    const clock = manualClock(T0);
    const feed = pagedFeed(95, 10, clock);
    const copy = createFeedCopy({
      read: feed.read,
      maxDelayMs: DELAY,
      readTimeoutMs: 200,
      now: clock.now,
      logger: { warn: () => undefined },
      pageSize: 10,
    });
    const first = copy.sync();
    assert.equal(copy.get('user-3', sid(3), T0), undefined, 'during the first read: the store answers');
    await first;
    assert.equal(feed.pages.length, 10, 'ten pages of at most 10');
    assert.ok(feed.pages.every((p) => p.since === null && p.size === 10));
    assert.equal(feed.pages[0]?.cursor, undefined);
    assert.ok(feed.pages.slice(1).every((p) => typeof p.cursor === 'string'));
    assert.deepEqual(copy.size(), { users: 0, sessions: 95, claims: 0 });
    assert.deepEqual(copy.get('user-94', sid(94), T0), { lastLogoutAt: null, sessionRevoked: true });
  });

  test('each page has the read timeout: a hung page fails the read (the store answers), and the next read starts over', async () => {
    const clock = manualClock(T0);
    const feed = pagedFeed(50, 10, clock);
    const warnings: string[] = [];
    const copy = createFeedCopy({
      read: feed.read,
      maxDelayMs: DELAY,
      readTimeoutMs: 30,
      now: clock.now,
      logger: { warn: (m) => void warnings.push(m) },
      pageSize: 10,
    });
    feed.hangOnPage = 2;
    await copy.sync();
    assert.equal(feed.pages.length, 3);
    assert.equal(copy.get('user-1', sid(1), T0), undefined, 'not in use: the read did not finish');
    assert.ok(
      warnings.some((w) => w.includes('within 30 ms')),
      warnings.join('\n'),
    );
    clock.at += DELAY;
    await copy.sync();
    assert.equal(feed.pages[3]?.cursor, undefined, 'the next whole read starts from the first page');
    assert.deepEqual(copy.get('user-49', sid(49), T0 + DELAY), { lastLogoutAt: null, sessionRevoked: true });
  });

  test('a feed that always says more follow is cut at the bound: the copy is not used', async () => {
    const clock = manualClock(T0);
    const warnings: string[] = [];
    const copy = createFeedCopy({
      read: () => ({ startedAt: new Date(0), changes: [], cursor: 'again' }),
      maxDelayMs: DELAY,
      readTimeoutMs: 200,
      now: clock.now,
      logger: { warn: (m) => void warnings.push(m) },
      maxEntries: 5,
    });
    await copy.sync();
    assert.equal(copy.enabled(), false);
    assert.ok(
      warnings.some((w) => w.includes('more than 20 feed entries')),
      warnings.join('\n'),
    );
  });

  test('with a 2-bit hash every id collides: a session revoked in the copy revokes its look-alikes, never the reverse', async () => {
    const clock = manualClock(T0);
    const inner = new MemoryRevocationStore({ now: clock.now });
    inner.revokeSession('revoked', 'alice', new Date(T0 + HOUR));
    inner.revokeUser('bob', new Date(T0 - 50), new Date(T0 + HOUR));
    const copy = createFeedCopy({
      read: (since, limit, page) => inner.readFeed(since, limit, page),
      maxDelayMs: DELAY,
      readTimeoutMs: 200,
      now: clock.now,
      logger: { warn: () => undefined },
      hashBits: 2,
    });
    await copy.sync();
    // (alice and bob may share their watermark entry too: never an earlier one.)
    assert.equal(copy.get('alice', 'revoked', T0 - 100)?.sessionRevoked, true);
    assert.ok((copy.get('bob', 'any', T0 - 100)?.lastLogoutAt?.getTime() ?? 0) >= T0 - 50);
    // Collisions: other ids may share an entry (and look revoked); none that is revoked looks otherwise.
    let sharing = 0;
    for (let i = 0; i < 64; i++) {
      const s = copy.get(`user-${i}`, `s-${i}`, T0 - 100);
      if (s === undefined) assert.fail('the copy answers');
      if (s.sessionRevoked || s.lastLogoutAt !== null) sharing++;
    }
    assert.ok(sharing > 0, 'a 2-bit hash makes look-alikes');
  });
});

describe('maxRevocationDelay on a store without a change feed', () => {
  test('warns at startup and stays exact: every check reads the store, every revocation is seen at once', async () => {
    const clock = manualClock(T0);
    const inner = new MemoryRevocationStore({ now: clock.now });
    let reads = 0;
    const store: RevocationStore = {
      getState: (sub, sid) => (reads++, inner.getState(sub, sid)),
      revokeUser: (...args) => inner.revokeUser(...args),
      revokeSession: (...args) => inner.revokeSession(...args),
    };
    const warnings: string[] = [];
    const a = engineOn(store, clock.now, { warn: (m) => void warnings.push(m) });
    const b = engineOn(store, clock.now);
    assert.match(warnings.join('\n'), /`maxRevocationDelay` needs a store with a change feed \(`readFeed`\)/);
    assert.equal(a.copy, undefined);
    for (let i = 0; i < 3; i++) assert.equal(await code(a, token('alice')), undefined);
    assert.equal(reads, 3, 'each check read the store');
    await b.revokeUser('alice');
    assert.equal(await code(a, token('alice')), 'logged_out_everywhere', 'the other instance: at once');
  });
});
