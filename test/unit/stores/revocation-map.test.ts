// The revocation table shared by the memory store (exact ids) and the bounded-delay copy (hashed ids): checked
// against a plain model of Maps, with hashes cut down to a few bits so that collisions, long probe runs and the
// deletions that shift entries back all happen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';
import { RevocationMap } from '../../../lib/stores/revocation-map.js';
import type { FeedChange } from '../../../lib/stores/revocation-store.js';

const T0 = 1_800_000_000_000;

/** What the table must answer: the later of each pair, entries gone at their end. */
class Model {
  users = new Map<string, { at: number; until: number }>();
  claims = new Map<string, { at: number; until: number }>();
  sessions = new Map<string, number>();
  raise(map: Map<string, { at: number; until: number }>, sub: string, at: number, until: number) {
    const e = map.get(sub);
    map.set(sub, { at: Math.max(e?.at ?? -Infinity, at), until: Math.max(e?.until ?? -Infinity, until) });
  }
  state(sub: string, sid: string, now: number) {
    const u = this.users.get(sub);
    const c = this.claims.get(sub);
    const s = this.sessions.get(JSON.stringify([sub, sid]));
    return {
      watermark: u !== undefined && u.until > now ? u.at : undefined,
      revoked: s !== undefined && s > now,
      claims: c !== undefined && c.until > now ? c.at : undefined,
    };
  }
}

/** A small deterministic generator (tests repeat exactly). */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Runs `steps` random operations on `table` and `model`, comparing after each read with `compare`. */
function run(
  table: RevocationMap,
  seed: number,
  steps: number,
  compare: (got: ReturnType<Model['state']>, want: ReturnType<Model['state']>, where: string) => void,
) {
  const model = new Model();
  const next = random(seed);
  const pick = (n: number) => Math.floor(next() * n);
  let now = T0;
  const subs = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const sids = ['a', 'b', 'c', 'd'];
  for (let step = 0; step < steps; step++) {
    const sub = subs[pick(subs.length)]!;
    const sid = sids[pick(sids.length)]!;
    const op = pick(10);
    const at = now - pick(1000);
    const until = now + 1 + pick(5000);
    if (op === 0) {
      table.raiseUser(sub, at, until);
      model.raise(model.users, sub, at, until);
    } else if (op === 1) {
      table.raiseClaims(sub, at, until);
      model.raise(model.claims, sub, at, until);
    } else if (op <= 3) {
      table.extendSession(sub, sid, until);
      const key = JSON.stringify([sub, sid]);
      model.sessions.set(key, Math.max(model.sessions.get(key) ?? -Infinity, until));
    } else if (op === 4) {
      now += pick(800);
      if (pick(3) === 0) table.prune(now);
    } else {
      const state = table.state(sub, sid, now);
      const got = {
        watermark: state.lastLogoutAt?.getTime(),
        revoked: state.sessionRevoked,
        claims: state.claimsChangedAt?.getTime() ?? undefined,
      };
      compare(got, model.state(sub, sid, now), `step ${step}: ${sub}/${sid}`);
      assert.equal(table.watermark(sub, now), got.watermark, `step ${step}: watermark of ${sub}`);
    }
  }
  return { model, now };
}

describe('RevocationMap', () => {
  for (const bits of [64, 3]) {
    test(`exact ids answer exactly as the model, with a ${bits}-bit hash`, () => {
      const table = new RevocationMap({ keys: 'exact', hashBits: bits });
      const { model, now } = run(table, bits, 30_000, (got, want, where) => assert.deepEqual(got, want, where));
      // The feed from the table, in pages of 7, is every entry that still matters, with its ids.
      const feed: FeedChange[] = [];
      let from: number | undefined = 0;
      while (from !== undefined) {
        const page = table.changes(now, 7, from);
        assert.ok(page.changes.length <= 7);
        feed.push(...page.changes);
        from = page.next;
      }
      const live = (m: Map<string, { until: number }>) => [...m.values()].filter((e) => e.until > now).length;
      const liveSessions = [...model.sessions.values()].filter((until) => until > now).length;
      assert.equal(feed.filter((c) => c.kind === 'user').length, live(model.users));
      assert.equal(feed.filter((c) => c.kind === 'claims').length, live(model.claims));
      assert.equal(feed.filter((c) => c.kind === 'session').length, liveSessions);
      for (const c of feed) {
        if (c.kind === 'session')
          assert.equal(c.expiresAt.getTime(), model.sessions.get(JSON.stringify([c.sub, c.sessionId])));
        else if (c.kind === 'user') assert.deepEqual(c.lastLogoutAt.getTime(), model.users.get(c.sub)?.at);
        else assert.deepEqual(c.changedAt.getTime(), model.claims.get(c.sub)?.at);
      }
    });
  }

  test('hashed ids with a 3-bit hash: a collision only ever makes a session look more revoked', () => {
    const table = new RevocationMap({ keys: 'hashed', hashBits: 3 });
    let collisions = 0;
    run(table, 7, 30_000, (got, want, where) => {
      // A later watermark, a revoked session, a later claims change: never an earlier one, never one missing.
      if (want.watermark !== undefined)
        assert.ok(got.watermark !== undefined && got.watermark >= want.watermark, where);
      if (want.revoked) assert.equal(got.revoked, true, where);
      if (want.claims !== undefined) assert.ok(got.claims !== undefined && got.claims >= want.claims, where);
      if (JSON.stringify(got) !== JSON.stringify(want)) collisions++;
    });
    assert.ok(collisions > 100, `the tiny hash made collisions happen (${collisions})`);
  });

  test('hashed ids with the full 64-bit hash answer exactly as the model', () => {
    const table = new RevocationMap({ keys: 'hashed' });
    run(table, 11, 30_000, (got, want, where) => assert.deepEqual(got, want, where));
  });

  test('a user and a session are told apart, also when ids look alike', () => {
    for (const keys of ['exact', 'hashed'] as const) {
      const table = new RevocationMap({ keys });
      table.extendSession('ab', 'c', T0 + 10);
      table.raiseUser('abc', T0, T0 + 10);
      assert.equal(table.state('a', 'bc', T0).sessionRevoked, false, keys);
      assert.equal(table.state('ab', 'c', T0).sessionRevoked, true, keys);
      assert.equal(table.state('ab', 'c', T0).lastLogoutAt, null, keys);
      assert.equal(table.hasClaims('abc'), false, keys);
      assert.equal(table.hasUser('abc'), true, keys);
    }
  });

  test('MemoryRevocationStore pages its whole feed: entries moving between pages make it start over, never skip', () => {
    let now = T0;
    const store = new MemoryRevocationStore({ now: () => now, hashBits: 5 });
    // A third of the entries end one by one while the pages are read; deleting them shifts others back.
    const end = (i: number) => new Date(i % 3 === 0 ? T0 + 1 + i : T0 + 1_000_000);
    for (let i = 0; i < 600; i++) store.revokeUser(`u${i}`, new Date(T0), end(i));
    const seen = new Set<string>();
    let page = store.readFeed(null, 100_000, { size: 5 });
    let pages = 1;
    for (; page.cursor !== undefined; pages++) {
      for (const c of page.changes) seen.add(c.sub);
      now += 3;
      store.sweep();
      if (pages === 50) for (let i = 600; i < 1200; i++) store.revokeUser(`u${i}`, new Date(T0), end(i)); // it grows
      page = store.readFeed(null, 100_000, { size: 5, cursor: page.cursor });
      assert.ok(page.changes.length <= 5);
    }
    for (const c of page.changes) seen.add(c.sub);
    const missed = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 3 !== 0 && !seen.has(`u${i}`));
    assert.deepEqual(missed, [], 'entries in no page');
    assert.throws(() => store.readFeed(null, 10, { size: 5, cursor: 'x' }), /cursor/);
  });

  test('exact ids are kept flat and their space is reused: churn does not grow the table', () => {
    const table = new RevocationMap({ keys: 'exact' });
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 500; i++) table.extendSession(`user-${round}-${i}`, `session-${round}-${i}`, T0 + 10);
      if (round === 0) assert.equal(table.state('user-0-7', 'session-0-7', T0).sessionRevoked, true);
      table.prune(T0 + 10);
    }
    assert.equal(table.size, 0);
    assert.ok(table.bytes < 200_000, `${table.bytes} bytes after 100,000 entries came and went`);
  });

  test('a million entries: flat arrays, not objects (bytes per entry of the hashed copy)', () => {
    const table = new RevocationMap({ keys: 'hashed' });
    for (let i = 0; i < 1_000_000; i++) {
      if (i % 2 === 0) table.raiseUser(`user-${i}`, T0, T0 + 1000);
      else table.extendSession(`user-${i}`, `session-${i}`, T0 + 1000);
    }
    assert.equal(table.size, 1_000_000);
    const perEntry = table.bytes / table.size;
    assert.ok(perEntry <= 60, `${perEntry} bytes per entry`);
    assert.equal(table.state('user-999998', 'x', T0).lastLogoutAt?.getTime(), T0);
    assert.equal(table.state('user-999999', 'session-999999', T0).sessionRevoked, true);
    assert.equal(table.state('user-999999', 'session-999998', T0).sessionRevoked, false);
    table.prune(T0 + 1000);
    assert.equal(table.size, 0);
  });
});
