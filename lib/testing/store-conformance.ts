// The conformance suite every RevocationStore must pass, published for store authors and used by our stores.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MAX_REVOCATION_LIFETIME_MS } from '../core/limits.js';
import type {
  Awaitable,
  FeedChange,
  FeedPage,
  LifetimeBound,
  RevocationState,
  RevocationStore,
  SessionRecord,
} from '../stores/revocation-store.js';

/** The store under test: how to make a fresh one for each test, and how to clean up after it. */
export interface ConformanceSubject<S extends RevocationStore = RevocationStore> {
  /** Shown in the suite's title, e.g. `'RedisRevocationStore'`. */
  name: string;
  /** A new store for one test. Tests use random ids, so stores may share a database. */
  createStore(): S | Promise<S>;
  /** Called after each test, once the suite has called `store.close()` (e.g. to drop collections). */
  cleanup?(store: S): void | Promise<void>;
  /**
   * Whether the store keeps a device registry (`registerSession`, `touchSession`, `listSessions`). Defaults to
   * true: its tests then run. `false` checks instead that the store has none of the three methods.
   */
  registry?: boolean;
  /**
   * Whether the store has a change feed (`readFeed`, used by `maxRevocationDelay`). Defaults to false:
   * the suite then checks that it has none; `true` runs the feed's tests.
   */
  feed?: boolean;
  /**
   * Whether the store records users' claims changes (`markClaimsChanged`, read back as `claimsChangedAt`; needed
   * by `loadClaims` and `refreshClaims`). Defaults to false: the suite then checks that it has no
   * `markClaimsChanged`; `true` runs its tests (with `feed: true`, also that changes reach the feed).
   */
  claims?: boolean;
  /**
   * Whether the store keeps the session-lifetime bound (`declareLifetime`, `settleLifetime`; it needs `feed: true`).
   * Defaults to false: the suite then checks that it has neither; `true` runs their tests. The bound is one per
   * store and its tests start from a store that holds nothing: with `lifetime: true`, each `createStore` must
   * answer a store of its own (a fresh key prefix, collection or database), sharing no state with another test's.
   */
  lifetime?: boolean;
  /**
   * Whether the server under the store applies concurrent writes to one record atomically, as the store's
   * design expects. Defaults to true. `false` only to run a store's atomic code path on a server that is not
   * (e.g. MongoRevocationStore with `atomicUpdates: true` on FerretDB): the test of concurrent `revokeUser`
   * calls then sends them one after another, in the same scrambled order.
   */
  atomicWrites?: boolean;
}

/** The test functions of your runner: node:test's, vitest's or mocha's `describe` and `it` all fit. */
export interface TestFunctions {
  /** Groups the tests (`describe`). */
  describe(name: string, body: () => void): unknown;
  /** Registers one test (`it` or `test`). */
  it(name: string, body: () => Promise<void>): unknown;
}

const HOUR = 3_600_000;
const id = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
/** A token issued a minute ago: before every revocation the tests make. */
const issued = () => Date.now() - 60_000;
const later = () => new Date(Date.now() + HOUR);
const expired = () => new Date(Date.now() - 1000);
const notRevoked = { lastLogoutAt: null, sessionRevoked: false };
/** The revocation part of a state (a store with claims refresh adds `claimsChangedAt`). */
const revocationOf = async (state: Awaitable<RevocationState>) => {
  const { lastLogoutAt, sessionRevoked } = await state;
  return { lastLogoutAt, sessionRevoked };
};

/** What each test gets: a fresh store, the subject, and a user id and a session id no other test uses. */
interface Fixture<S extends RevocationStore = RevocationStore> {
  store: S;
  subject: ConformanceSubject;
  sub: string;
  sid: string;
}

/** The watermark (ms) that a check of user `sub`'s token issued a minute ago reads. */
const watermark = async (store: RevocationStore, sub: string) =>
  (await store.getState(sub, id('sid'), issued())).lastLogoutAt?.getTime();

/** Whether a check of session `sid` of user `sub` reads it revoked (for a token issued a minute ago by default). */
const isRevoked = async (store: RevocationStore, sub: string, sid: string, issuedAt = issued()) =>
  (await store.getState(sub, sid, issuedAt)).sessionRevoked;

/**
 * Twelve writes of per-user times up to `base`, in a scrambled order: at once, or one after another on a server
 * the subject says is not atomic. Resolves to the times (ms).
 */
async function raiseConcurrently(
  subject: ConformanceSubject,
  base: number,
  write: (at: Date) => Awaitable<void>,
): Promise<number[]> {
  const stamps = Array.from({ length: 12 }, (_, i) => base - ((i * 7) % 12) * 10);
  if (subject.atomicWrites === false) for (const ms of stamps) await write(new Date(ms));
  else await Promise.all(stamps.map(async (ms) => write(new Date(ms))));
  return stamps;
}

/** Each test: what the store promises, checked on a fresh store (and what the subject says of its server). */
const TESTS: Record<string, (t: Fixture) => Promise<void>> = {
  async 'an unknown user and session are not revoked'({ store, sub, sid }) {
    assert.deepEqual(await revocationOf(store.getState(sub, sid, issued())), notRevoked);
  },

  async 'revokeUser stores the watermark to the millisecond, creating the user record'({ store, sub, sid }) {
    const at = new Date(Date.now() - 123);
    await store.revokeUser(sub, at, later());
    const state = await store.getState(sub, sid, issued());
    assert.ok(state.lastLogoutAt instanceof Date, 'lastLogoutAt is a Date');
    assert.equal(state.lastLogoutAt.getTime(), at.getTime());
    assert.equal(state.sessionRevoked, false);
  },

  async 'revokeUser never moves the watermark backwards'({ store, sub }) {
    const first = new Date();
    await store.revokeUser(sub, first, later());
    await store.revokeUser(sub, new Date(first.getTime() - 5000), later());
    assert.equal(await watermark(store, sub), first.getTime());
  },

  async 'revokeUser moves the watermark forwards'({ store, sub }) {
    await store.revokeUser(sub, new Date(Date.now() - 5000), later());
    const second = new Date();
    await store.revokeUser(sub, second, later());
    assert.equal(await watermark(store, sub), second.getTime());
  },

  async 'concurrent revokeUser calls leave the largest watermark'({ store, subject, sub }) {
    const stamps = await raiseConcurrently(subject, Date.now(), (at) => store.revokeUser(sub, at, later()));
    assert.equal(await watermark(store, sub), Math.max(...stamps));
  },

  async 'revokeSession revokes that session of the user, not their other sessions'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, later());
    assert.deepEqual(await revocationOf(store.getState(sub, sid, issued())), {
      lastLogoutAt: null,
      sessionRevoked: true,
    });
    assert.deepEqual(await revocationOf(store.getState(sub, id('sid'), issued())), notRevoked);
  },

  async 'revokeSession does not touch other users'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, later());
    assert.deepEqual(await revocationOf(store.getState(id('other'), id('sid'), issued())), notRevoked);
  },

  async 'revokeSession is idempotent, also when concurrent'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, later());
    await store.revokeSession(sid, sub, later());
    await Promise.all([1, 2, 3].map(async () => store.revokeSession(sid, sub, later())));
    assert.equal(await isRevoked(store, sub, sid), true);
  },

  async 'a session entry past its expiresAt is ignored on read, even if not yet deleted'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, expired());
    assert.equal(await isRevoked(store, sub, sid, Date.now() - HOUR), false);
  },

  async 'revokeSession extends an entry but never shortens it'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, new Date(Date.now() + 1000));
    await store.revokeSession(sid, sub, later());
    await store.revokeSession(sid, sub, expired());
    assert.equal(await isRevoked(store, sub, sid), true);
  },

  async 'a revoked session is seen for a token of any age issued before the logout'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, later());
    for (const age of [1, 1000, 59 * 60_000]) {
      assert.equal(await isRevoked(store, sub, sid, Date.now() - age), true, `age ${age} ms`);
    }
  },

  async 'session and user revocations are both reported'({ store, sub, sid }) {
    await store.revokeSession(sid, sub, later());
    const at = new Date();
    await store.revokeUser(sub, at, later());
    assert.deepEqual(await revocationOf(store.getState(sub, sid, issued())), {
      lastLogoutAt: at,
      sessionRevoked: true,
    });
  },

  async 'one user is revoked without touching another'({ store }) {
    await store.revokeUser(id('alice'), new Date(), later());
    assert.equal((await store.getState(id('bob'), id('sid'), issued())).lastLogoutAt, null);
  },

  async "one session id under two users: revoking it for one user leaves the other's session alone"({ store, sid }) {
    const alice = id('alice');
    const bob = id('bob');
    // Bob has logged out another device too: a store that reads revoked sessions only for such users reads his.
    await store.revokeSession(id('sid'), bob, later());
    await store.revokeSession(sid, alice, later());
    assert.equal(await isRevoked(store, alice, sid), true, "alice's session is revoked");
    assert.equal(await isRevoked(store, bob, sid), false, "bob's session of that id is not");
    await store.revokeSession(sid, bob, expired());
    assert.equal(await isRevoked(store, alice, sid), true, "bob's entry leaves alice's alone");
  },

  async 'many concurrent checks each get their own answer'({ store }) {
    const users = Array.from({ length: 20 }, () => ({ sub: id('user'), sid: id('sid') }));
    await Promise.all(users.filter((_, i) => i % 2 === 0).map(async (u) => store.revokeSession(u.sid, u.sub, later())));
    const states = await Promise.all(users.map(async (u) => store.getState(u.sub, u.sid, issued())));
    assert.deepEqual(
      states.map((s) => s.sessionRevoked),
      users.map((_, i) => i % 2 === 0),
    );
  },
};

type RegistryStore = RevocationStore &
  Required<Pick<RevocationStore, 'registerSession' | 'touchSession' | 'listSessions'>>;

function record(sub: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    sessionId: id('sid'),
    sub,
    signedInAt: new Date(now - 1000),
    lastActiveAt: new Date(now - 1000),
    expiresAt: new Date(now + HOUR),
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0',
    ...overrides,
  };
}

const byId = (records: SessionRecord[]) => [...records].sort((a, b) => a.sessionId.localeCompare(b.sessionId));

/** Registers each record in turn; answers them. */
async function register<R extends SessionRecord[]>(store: RegistryStore, ...records: R): Promise<R> {
  for (const r of records) await store.registerSession(r);
  return records;
}

/** The ids of the sessions listed for user `sub`, in the order listed. */
const listedIds = async (store: RegistryStore, sub: string) => (await store.listSessions(sub)).map((r) => r.sessionId);

/** The device registry: what `listSessions`, `revokeOtherSessions` and `maxSessions` rely on. */
const REGISTRY_TESTS: Record<string, (t: Fixture<RegistryStore>) => Promise<void>> = {
  async 'a registered session is listed with every field, and only for its user'({ store, sub }) {
    const a = record(sub);
    const b = record(sub);
    delete b.userAgent;
    await register(store, a, b, record(id('other')));
    assert.deepEqual(byId(await store.listSessions(sub)), byId([a, b]));
    assert.deepEqual(await store.listSessions(id('nobody')), []);
  },

  async 'touchSession raises lastActiveAt, never lowers it, and never creates a record'({ store, sub }) {
    const [a] = await register(store, record(sub));
    const later = new Date(Date.now() + 5000);
    await store.touchSession(a.sessionId, sub, later);
    await store.touchSession(a.sessionId, sub, new Date(Date.now() - 60_000));
    await store.touchSession(id('sid'), sub, later);
    const listed = await store.listSessions(sub);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.lastActiveAt.getTime(), later.getTime());
  },

  async 'a revoked session is not listed, even when touched after the revocation'({ store, sub }) {
    const [a, b] = await register(store, record(sub), record(sub));
    await store.revokeSession(a.sessionId, sub, later());
    await store.touchSession(a.sessionId, sub, new Date());
    assert.deepEqual(await listedIds(store, sub), [b.sessionId]);
  },

  async 'sessions signed in at or before the user watermark are not listed; later ones are'({ store, sub }) {
    const at = Date.now() - 500;
    const before = record(sub, { signedInAt: new Date(at - 1) });
    const same = record(sub, { signedInAt: new Date(at) });
    const after = record(sub, { signedInAt: new Date(at + 1) });
    await register(store, before, same, after);
    await store.revokeUser(sub, new Date(at), later());
    assert.deepEqual(await listedIds(store, sub), [after.sessionId]);
  },

  async 'a session past its expiresAt is not listed, even if not yet deleted'({ store, sub }) {
    await register(store, record(sub, { expiresAt: expired() }));
    assert.deepEqual(await store.listSessions(sub), []);
  },

  async 'one session id registered under two users is listed, touched and revoked for each apart'({ store, sid }) {
    const a = record(id('alice'), { sessionId: sid });
    const b = record(id('bob'), { sessionId: sid });
    await register(store, a, b);
    const touched = new Date(Date.now() + 5000);
    await store.touchSession(sid, b.sub, touched);
    assert.deepEqual(await store.listSessions(a.sub), [a]);
    assert.deepEqual(await store.listSessions(b.sub), [{ ...b, lastActiveAt: touched }]);
    await store.revokeSession(sid, a.sub, later());
    assert.deepEqual(await store.listSessions(a.sub), []);
    assert.deepEqual(await store.listSessions(b.sub), [{ ...b, lastActiveAt: touched }]);
  },

  async 'registering the same session again replaces its record'({ store, sub }) {
    const [a] = await register(store, record(sub));
    const replaced = { ...a, userAgent: 'Other/2.0', lastActiveAt: new Date(Date.now()) };
    await store.registerSession(replaced);
    assert.deepEqual(await store.listSessions(sub), [replaced]);
  },
};

type FeedStore = RevocationStore & Required<Pick<RevocationStore, 'readFeed'>>;

type Change<K extends FeedChange['kind']> = Extract<FeedChange, { kind: K }>;

/** A feed read, checking its start. */
async function feedRead(store: FeedStore, since: Date | null): Promise<FeedChange[]> {
  const log = await store.readFeed(since, 10_000);
  assert.ok(log.startedAt instanceof Date && Number.isFinite(log.startedAt.getTime()), 'startedAt is a valid Date');
  return log.changes;
}

/** The changes of one kind in a feed read that `pick` keeps, e.g. those of one user's watermark. */
async function changesOf<K extends FeedChange['kind']>(
  store: FeedStore,
  since: Date | null,
  kind: K,
  pick: (change: Change<K>) => boolean,
): Promise<Change<K>[]> {
  return (await feedRead(store, since)).filter((c): c is Change<K> => c.kind === kind).filter(pick);
}

/** The change feed's tests: a revocation is in the feed before its write resolves, with its values. */
const FEED_TESTS: Record<string, (t: Fixture<FeedStore>) => Promise<void>> = {
  async 'a revokeUser is in the feed before it resolves, read from just before it and in the full read'(t) {
    const { store, sub } = t;
    const since = new Date(Date.now() - 1000);
    const at = new Date(Date.now() - 10);
    const until = later();
    await store.revokeUser(sub, at, until);
    for (const from of [since, null]) {
      const changes = await changesOf(store, from, 'user', (c) => c.sub === sub);
      assert.ok(changes.length >= 1, `revokeUser is in the feed (since ${String(from)})`);
      for (const change of changes) {
        assert.equal(change.lastLogoutAt.getTime(), at.getTime(), 'the watermark to the millisecond');
        assert.ok(change.relevantUntil.getTime() >= until.getTime(), 'relevant at least until relevantUntil');
      }
    }
  },

  async 'a raised watermark is in the feed with its new value'({ store, sub }) {
    const since = new Date(Date.now() - 1000);
    await store.revokeUser(sub, new Date(Date.now() - 5000), later());
    const second = new Date(Date.now() - 10);
    await store.revokeUser(sub, second, later());
    const changes = await changesOf(store, since, 'user', (c) => c.sub === sub);
    const highest = Math.max(...changes.map((c) => c.lastLogoutAt.getTime()));
    assert.equal(highest, second.getTime());
  },

  async 'a revokeSession is in the feed before it resolves, with its user and expiry'({ store, sub, sid }) {
    const since = new Date(Date.now() - 1000);
    const expiresAt = later();
    await store.revokeSession(sid, sub, expiresAt);
    for (const from of [since, null]) {
      const changes = await changesOf(store, from, 'session', (c) => c.sessionId === sid);
      assert.ok(changes.length >= 1, `revokeSession is in the feed (since ${String(from)})`);
      for (const change of changes) {
        assert.equal(change.sub, sub, 'the change names the user of the session');
        assert.ok(change.expiresAt.getTime() >= expiresAt.getTime(), 'the entry lasts at least until expiresAt');
      }
    }
  },

  async 'the feed starts no later than the first revocation written after init'({ store, sub, sid }) {
    const before = Date.now();
    await store.revokeSession(sid, sub, later());
    await new Promise((resolve) => setTimeout(resolve, 10)); // a start taken at read time shows as later
    const log = await store.readFeed(null, 10_000);
    assert.ok(log.startedAt.getTime() <= before, `startedAt ${log.startedAt.toISOString()} is not after the write`);
  },

  async 'a read past its limit answers at least the limit'({ store }) {
    const since = new Date(Date.now() - 1000);
    for (let i = 0; i < 3; i++) await store.revokeSession(id('sid'), id('user'), later());
    const { changes } = await store.readFeed(since, 2);
    assert.ok(changes.length >= 2, `3 revocations, limit 2: answered ${changes.length}`);
  },
};

/** What tells changes apart when two reads are compared: every field, dates in ms. */
const changeKey = (change: FeedChange) =>
  JSON.stringify(
    Object.entries(change)
      .map(([field, value]) => [field, value instanceof Date ? value.getTime() : (value as unknown)])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The changes of a feed read that concern `subs` (the users a test wrote for), as keys. */
const keysOf = (changes: FeedChange[], subs: Set<string>) =>
  new Set(changes.filter((c) => subs.has(c.sub)).map(changeKey));

/**
 * Writes one change per end in `ends`, of each kind in turn (a user's watermark, a session, a claims change when the
 * store records them), each for a new user; resolves to those users.
 */
async function writeChanges(store: FeedStore, ends: Date[], subs = new Set<string>()): Promise<Set<string>> {
  for (const [i, end] of ends.entries()) {
    const sub = id('pager');
    subs.add(sub);
    const at = new Date(Date.now() - 10);
    if (i % 3 === 2 && store.markClaimsChanged !== undefined) await store.markClaimsChanged(sub, at, end);
    else if (i % 3 === 1) await store.revokeSession(id('sid'), sub, end);
    else await store.revokeUser(sub, at, end);
  }
  return subs;
}

/**
 * Every page of a paged read of `size` changes a page, until a page answers no cursor; `between(n)` runs after page
 * `n` (from 0) when more follow. Each page may hold a few more than `size`, never many.
 */
async function readPages(
  store: FeedStore,
  since: Date | null,
  size: number,
  between?: (n: number) => Promise<void>,
): Promise<FeedPage[]> {
  const pages: FeedPage[] = [];
  let cursor: string | undefined;
  for (let n = 0; ; n++) {
    assert.ok(n < 1000, 'the pages of a read end (a page answered no cursor within 1000 pages)');
    const page = await store.readFeed(since, 10_000, cursor === undefined ? { size } : { size, cursor });
    assert.ok(page.startedAt instanceof Date && Number.isFinite(page.startedAt.getTime()), 'startedAt is a valid Date');
    assert.ok(page.changes.length <= size * 2, `a page of ${size} answered ${page.changes.length} changes`);
    pages.push(page);
    if (page.cursor === undefined) return pages;
    assert.equal(typeof page.cursor, 'string', 'a cursor is a string');
    cursor = page.cursor;
    await between?.(n);
  }
}

/**
 * Whether the store pages this kind of read (whole, or by time): a first page of 3 when the feed holds more answers
 * a cursor. A store that ignores the page request is conformant; it must then answer everything (checked here).
 */
async function pages(store: FeedStore, since: Date | null, subs: Set<string>): Promise<boolean> {
  const first = await store.readFeed(since, 10_000, { size: 3 });
  if (first.cursor !== undefined) return true;
  assert.deepEqual(keysOf(first.changes, subs), keysOf(await feedRead(store, since), subs), 'no cursor: every change');
  return false;
}

/** Paged reads (`readFeed`'s `page`), for a store that pages: every change that existed throughout is in a page. */
const FEED_PAGING_TESTS: Record<string, (t: Fixture<FeedStore>) => Promise<void>> = {
  async 'paged reads (3 a page) answer, whole and by time, the changes of an unpaged read, and end with no cursor'({
    store,
  }) {
    const since = new Date(Date.now() - 1000);
    const end = Date.now() + HOUR;
    // Many of the same end (the order a whole read goes by), of every kind.
    const ends = Array.from({ length: 21 }, (_, i) => new Date(end + (i % 7 < 4 ? 0 : (i % 7) * 1000)));
    const subs = await writeChanges(store, ends);
    for (const from of [null, since]) {
      if (!(await pages(store, from, subs))) continue;
      const expected = keysOf(await feedRead(store, from), subs);
      assert.ok(expected.size >= ends.length, `the unpaged read has the ${ends.length} changes`);
      const paged = await readPages(store, from, 3);
      assert.ok(paged.length > 1, `a read of over 3 changes took one page (since ${String(from)})`);
      const got = keysOf(
        paged.flatMap((page) => page.changes),
        subs,
      );
      assert.deepEqual(
        [...expected].filter((key) => !got.has(key)),
        [],
        `changes missing from the pages (since ${String(from)})`,
      );
      assert.deepEqual(
        [...got].filter((key) => !expected.has(key)),
        [],
        'changes in the pages only',
      );
    }
    for (const from of [null, since]) {
      const whole = await store.readFeed(from, 10_000, { size: 10_000 });
      assert.equal(whole.cursor, undefined, `a page that holds every change answers no cursor (since ${String(from)})`);
      assert.ok(keysOf(whole.changes, subs).size >= ends.length, 'that page holds every change');
    }
  },

  async 'entries ending and added while a whole read pages make no other entry be skipped'({ store }) {
    const soon = Date.now() + 1500;
    const end = Date.now() + HOUR;
    // Those ending soon come first in a whole read; the others share a few ends.
    const short = await writeChanges(
      store,
      Array.from({ length: 6 }, () => new Date(soon)),
    );
    const subs = await writeChanges(
      store,
      Array.from({ length: 15 }, (_, i) => new Date(end + (i % 2) * 1000)),
    );
    if (!(await pages(store, null, new Set([...subs, ...short])))) return;
    const expected = keysOf(await feedRead(store, null), subs);
    assert.ok(expected.size >= 15);
    const paged = await readPages(store, null, 3, async (n) => {
      if (n !== 0 && n !== 2) return;
      if (n === 0) await sleep(soon + 100 - Date.now()); // the first ones end (a store may remove them now)
      await writeChanges(store, [new Date(soon + 60_000), new Date(end), new Date(end + 500)]);
    });
    const got = keysOf(
      paged.flatMap((page) => page.changes),
      subs,
    );
    assert.deepEqual(
      [...expected].filter((key) => !got.has(key)),
      [],
      'changes missing from the pages',
    );
  },

  async 'entries ending, added and written again while a read by time pages make no other entry be skipped'({ store }) {
    const since = new Date(Date.now() - 1000);
    const soon = Date.now() + 1500;
    const end = Date.now() + HOUR;
    // Written in turn: in the order of a read by time, the entries that end soon lie between the others.
    const subs = new Set<string>();
    const short = new Set<string>();
    for (let i = 0; i < 7; i++) {
      await writeChanges(store, [new Date(soon)], short);
      await writeChanges(store, [new Date(end), new Date(end + 1000)], subs);
    }
    const sid = id('sid');
    const sub = id('pager');
    await store.revokeSession(sid, sub, new Date(end));
    subs.add(sub);
    if (!(await pages(store, since, new Set([...subs, ...short])))) return;
    const expected = keysOf(await feedRead(store, since), subs);
    assert.ok(expected.size >= 15);
    const paged = await readPages(store, since, 3, async (n) => {
      if (n !== 0 && n !== 2) return;
      if (n === 0) await sleep(soon + 100 - Date.now());
      await store.revokeSession(sid, sub, new Date(end)); // the same revocation again
      await writeChanges(store, [new Date(end), new Date(end + 500), new Date(end + 2000)]);
    });
    const got = keysOf(
      paged.flatMap((page) => page.changes),
      subs,
    );
    assert.deepEqual(
      [...expected].filter((key) => !got.has(key)),
      [],
      'changes missing from the pages',
    );
  },

  async 'a malformed cursor is rejected'({ store }) {
    const subs = await writeChanges(
      store,
      Array.from({ length: 5 }, () => later()),
    );
    if (!(await pages(store, null, subs))) return;
    for (const cursor of ['not a cursor', '{}', '\u0000']) {
      await assert.rejects(
        async () => store.readFeed(null, 10_000, { size: 3, cursor }),
        Error,
        `the cursor ${JSON.stringify(cursor)} is rejected`,
      );
    }
  },
};

type ClaimsStore = RevocationStore & Required<Pick<RevocationStore, 'markClaimsChanged'>>;

/** The user's claims change (ms) as a check reads it, or undefined. */
const claimsChange = async (store: RevocationStore, sub: string) =>
  (await store.getState(sub, id('sid'), issued())).claimsChangedAt?.getTime();

/** Users' claims changes: what `refreshClaims` and `loadClaims` rely on. */
const CLAIMS_TESTS: Record<string, (t: Fixture<ClaimsStore>) => Promise<void>> = {
  async 'markClaimsChanged stores the time to the millisecond, for that user only, apart from the watermark'({
    store,
    sub,
    sid,
  }) {
    assert.equal(await claimsChange(store, sub), undefined, 'no change yet: null or left out');
    const at = new Date(Date.now() - 123);
    await store.markClaimsChanged(sub, at, later());
    const state = await store.getState(sub, sid, issued());
    assert.ok(state.claimsChangedAt instanceof Date, 'claimsChangedAt is a Date');
    assert.equal(state.claimsChangedAt.getTime(), at.getTime());
    assert.deepEqual(await revocationOf(state), notRevoked, 'a claims change revokes nothing');
    assert.equal(await claimsChange(store, id('other')), undefined, 'other users are untouched');
    await store.revokeUser(sub, new Date(), later());
    assert.equal(await claimsChange(store, sub), at.getTime(), 'a watermark leaves the claims change as it is');
  },

  async 'markClaimsChanged never moves backwards, also when concurrent, and a later one moves it forwards'({
    store,
    subject,
    sub,
  }) {
    const stamps = await raiseConcurrently(subject, Date.now() - 1000, (at) =>
      store.markClaimsChanged(sub, at, later()),
    );
    assert.equal(await claimsChange(store, sub), Math.max(...stamps));
    const next = new Date();
    await store.markClaimsChanged(sub, next, later());
    assert.equal(await claimsChange(store, sub), next.getTime());
  },
};

/** With a change feed too: a claims change reaches the other instances' copies. */
const CLAIMS_FEED_TESTS: Record<string, (t: Fixture<ClaimsStore & FeedStore>) => Promise<void>> = {
  async 'a claims change is in the feed before it resolves, with its user, time and relevance'({ store, sub }) {
    const since = new Date(Date.now() - 1000);
    const at = new Date(Date.now() - 10);
    const until = later();
    await store.markClaimsChanged(sub, at, until);
    for (const from of [since, null]) {
      const changes = await changesOf(store, from, 'claims', (c) => c.sub === sub);
      assert.ok(changes.length >= 1, `the claims change is in the feed (since ${String(from)})`);
      for (const change of changes) {
        assert.equal(change.changedAt.getTime(), at.getTime(), 'the change to the millisecond');
        assert.ok(change.relevantUntil.getTime() >= until.getTime(), 'relevant at least until relevantUntil');
      }
    }
  },
};

type LifetimeStore = FeedStore & Required<Pick<RevocationStore, 'declareLifetime' | 'settleLifetime'>>;

const MINUTE = 60_000;

/** The bound as stored, read by a raise that changes nothing (to one minute: below any the tests declare). */
const boundOf = async (store: LifetimeStore) => checkedBound(await store.declareLifetime(MINUTE, 'raise'));

/** `bound`, checked to be a bound: a positive lifetime and two valid dates. */
function checkedBound(bound: LifetimeBound): LifetimeBound {
  assert.ok(Number.isSafeInteger(bound.lifetimeMs) && bound.lifetimeMs > 0, `lifetimeMs ${bound.lifetimeMs}`);
  for (const field of ['raisedAt', 'settledAt'] as const) {
    const date = bound[field];
    assert.ok(date instanceof Date && Number.isFinite(date.getTime()), `${field} is a valid Date`);
  }
  return bound;
}

/** A store that holds one revocation (or claims change) of `kind` starts the bound at 400 days. */
const startsAtMaximum =
  (kind: 'user' | 'session' | 'claims') =>
  async ({ store, sub, sid }: Fixture<LifetimeStore>): Promise<void> => {
    if (kind === 'user') await store.revokeUser(sub, new Date(), later());
    else if (kind === 'session') await store.revokeSession(sid, sub, later());
    else await (store as LifetimeStore & ClaimsStore).markClaimsChanged(sub, new Date(), later());
    const bound = checkedBound(await store.declareLifetime(HOUR, 'raise'));
    assert.equal(bound.lifetimeMs, MAX_REVOCATION_LIFETIME_MS, 'an older version may have written it: 400 days');
    assert.equal((await boundOf(store)).lifetimeMs, MAX_REVOCATION_LIFETIME_MS, 'and it is stored');
    const set = checkedBound(await store.declareLifetime(HOUR, 'set'));
    assert.equal(set.lifetimeMs, HOUR, "'set' lowers it");
  };

/** The session-lifetime bound (`declareLifetime`, `settleLifetime`), each test on a store of its own. */
const LIFETIME_TESTS: Record<string, (t: Fixture<LifetimeStore>) => Promise<void>> = {
  async 'a store that holds no revocation starts the bound at the lifetime declared, raised now'({ store }) {
    const before = Date.now();
    const bound = checkedBound(await store.declareLifetime(2 * HOUR, 'raise'));
    assert.equal(bound.lifetimeMs, 2 * HOUR);
    // By the store's clock or the caller's: within the largest clock tolerance (300 s) of this process's.
    const raisedAt = bound.raisedAt.getTime();
    assert.ok(raisedAt >= before - 300_000 && raisedAt <= Date.now() + 300_000, 'raisedAt is now');
    assert.ok(bound.settledAt.getTime() <= raisedAt, 'a new bound is not settled after it was raised');
    assert.deepEqual(await boundOf(store), bound, 'the bound is stored as answered');
  },

  async "a store that holds no revocation starts at the lifetime 'set' declares"({ store }) {
    const bound = checkedBound(await store.declareLifetime(3 * HOUR, 'set'));
    assert.equal(bound.lifetimeMs, 3 * HOUR);
    assert.deepEqual(await boundOf(store), bound);
  },

  'a store that holds a user revocation starts the bound at 400 days': startsAtMaximum('user'),

  'a store that holds a session revocation starts the bound at 400 days': startsAtMaximum('session'),

  async "'raise' never lowers the bound, and raisedAt moves only when the bound does"({ store }) {
    const first = checkedBound(await store.declareLifetime(2 * HOUR, 'raise'));
    for (const lower of [HOUR, 2 * HOUR, MINUTE]) {
      assert.deepEqual(await store.declareLifetime(lower, 'raise'), first, `a raise to ${lower} ms changes nothing`);
    }
    await sleep(5);
    const raised = checkedBound(await store.declareLifetime(3 * HOUR, 'raise'));
    assert.equal(raised.lifetimeMs, 3 * HOUR);
    assert.ok(raised.raisedAt.getTime() > first.raisedAt.getTime(), 'a raise that changes the bound moves raisedAt');
    assert.deepEqual(await boundOf(store), raised);
  },

  async 'every change moves raisedAt later than the one before, also within one millisecond'({ store }) {
    let previous = checkedBound(await store.declareLifetime(HOUR, 'raise'));
    for (let i = 0; i < 20; i++) {
      const next = checkedBound(await store.declareLifetime(i % 2 === 0 ? 2 * HOUR : HOUR, 'set'));
      assert.ok(next.raisedAt.getTime() > previous.raisedAt.getTime(), `change ${i}: raisedAt did not move later`);
      previous = next;
    }
  },

  async "'set' lowers the bound, and moves raisedAt only when it changes it"({ store }) {
    const first = checkedBound(await store.declareLifetime(3 * HOUR, 'raise'));
    await sleep(5);
    const lowered = checkedBound(await store.declareLifetime(HOUR, 'set'));
    assert.equal(lowered.lifetimeMs, HOUR);
    assert.ok(lowered.raisedAt.getTime() > first.raisedAt.getTime(), "a 'set' that changes the bound moves raisedAt");
    await sleep(5);
    assert.deepEqual(await store.declareLifetime(HOUR, 'set'), lowered, "the same 'set' again changes nothing");
    assert.deepEqual(await store.declareLifetime(30 * MINUTE, 'raise'), lowered, 'a lower raise changes nothing');
    const raised = checkedBound(await store.declareLifetime(2 * HOUR, 'set'));
    assert.equal(raised.lifetimeMs, 2 * HOUR, "'set' raises it too");
  },

  async 'settleLifetime only raises settledAt, and changes nothing else'({ store }) {
    const bound = checkedBound(await store.declareLifetime(2 * HOUR, 'raise'));
    const raisedAt = bound.raisedAt.getTime();
    await store.settleLifetime(bound.raisedAt);
    assert.deepEqual(await boundOf(store), { ...bound, settledAt: bound.raisedAt }, 'settled at raisedAt');
    await store.settleLifetime(new Date(raisedAt - 60_000));
    assert.equal((await boundOf(store)).settledAt.getTime(), raisedAt, 'an earlier settle never lowers it');
    await store.settleLifetime(new Date(raisedAt + 1000));
    const settled = await boundOf(store);
    assert.equal(settled.settledAt.getTime(), raisedAt + 1000, 'a later one raises it');
    assert.equal(settled.lifetimeMs, 2 * HOUR);
    assert.equal(settled.raisedAt.getTime(), raisedAt);
  },

  async 'concurrent raises (20 at once, each a different lifetime) end at the largest, on a new bound and on one stored'({
    store,
    subject,
  }) {
    const declare = async (ms: number) => {
      const bound = checkedBound(await store.declareLifetime(ms, 'raise'));
      assert.ok(bound.lifetimeMs >= ms, `a raise to ${ms} ms answered ${bound.lifetimeMs}`);
    };
    for (const from of [2, 30]) {
      const lifetimes = Array.from({ length: 20 }, (_, i) => (((i * 7) % 20) + from) * HOUR);
      if (subject.atomicWrites === false) for (const ms of lifetimes) await declare(ms);
      else await Promise.all(lifetimes.map(declare));
      assert.equal((await boundOf(store)).lifetimeMs, Math.max(...lifetimes), `raises from ${from} hours`);
    }
  },
};

/** With claims changes too: a claims change counts as a revocation already written. */
const LIFETIME_CLAIMS_TESTS: Record<string, (t: Fixture<LifetimeStore>) => Promise<void>> = {
  'a store that holds a claims change starts the bound at 400 days': startsAtMaximum('claims'),
};

/**
 * Registers the conformance suite with your test runner. Each test gets a fresh store from `createStore`,
 * calls its `init()` first and its `close()` and your `cleanup` after.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test'; // or vitest, or mocha's globals
 * import { MemoryRevocationStore } from 'express-revocable-jwt';
 * import { runStoreConformance } from 'express-revocable-jwt/testing';
 *
 * // Your store in place of MemoryRevocationStore; `feed: true` when it implements readFeed.
 * runStoreConformance({ name: 'MemoryRevocationStore', createStore: () => new MemoryRevocationStore(), feed: true }, { describe, it });
 * ```
 */
export function runStoreConformance<S extends RevocationStore>(
  subject: ConformanceSubject<S>,
  test: TestFunctions,
): void {
  const run = (body: (t: Fixture<S>) => Promise<void>) => async () => {
    const store = await subject.createStore();
    try {
      await store.init?.();
      await body({ store, subject, sub: id('user'), sid: id('sid') });
    } finally {
      await store.close?.();
      await subject.cleanup?.(store);
    }
  };
  test.describe(`${subject.name} conformance`, () => {
    for (const [name, body] of Object.entries(TESTS)) test.it(name, run(body));
    registerPart(test, run, {
      declared: subject.feed === true,
      methods: ['readFeed'],
      what: 'change feed',
      whenPresent: 'a store with `readFeed` must pass `feed: true`',
      whenMissing: 'pass `feed: true` only for a store with a change feed',
      tests: { ...FEED_TESTS, ...FEED_PAGING_TESTS } as PartTests,
    });
    registerPart(test, run, {
      declared: subject.claims === true,
      methods: ['markClaimsChanged'],
      what: 'claims changes',
      whenPresent: 'a store with `markClaimsChanged` must pass `claims: true`',
      whenMissing: 'pass `claims: true` only for a store that records claims changes',
      tests: { ...CLAIMS_TESTS, ...(subject.feed === true ? CLAIMS_FEED_TESTS : {}) } as PartTests,
    });
    registerPart(test, run, {
      declared: subject.lifetime === true,
      methods: ['declareLifetime', 'settleLifetime'],
      what: 'session-lifetime bound',
      whenPresent: 'a store with `declareLifetime` must pass `lifetime: true`',
      whenMissing: 'pass `lifetime: true` only for a store that keeps the session-lifetime bound',
      tests: withFeed({ ...LIFETIME_TESTS, ...(subject.claims === true ? LIFETIME_CLAIMS_TESTS : {}) } as PartTests),
    });
    registerPart(test, run, {
      declared: subject.registry !== false,
      methods: ['registerSession', 'touchSession', 'listSessions'],
      what: 'device registry',
      whenPresent: 'a store declared with `registry: false` must not have registry methods',
      whenMissing: 'pass `registry: false` if it keeps no device registry',
      tests: REGISTRY_TESTS as PartTests,
    });
  });
}

type PartTests = Record<string, (t: Fixture) => Promise<void>>;

/** The tests, each checking first that the store has a change feed (the bound needs `readFeed`). */
function withFeed(tests: PartTests): PartTests {
  return Object.fromEntries(
    Object.entries(tests).map(([name, body]) => [
      name,
      async (t: Fixture) => {
        assert.equal(typeof t.store.readFeed, 'function', 'a store with `declareLifetime` needs `readFeed` too');
        await body(t);
      },
    ]),
  );
}

/** An optional part of the interface: its methods, and how the subject declares it. */
interface OptionalPart {
  declared: boolean;
  methods: (keyof RevocationStore)[];
  /** Prefix of its test names, e.g. `device registry`. */
  what: string;
  /** The failure message when the store has methods of a part it was declared without. */
  whenPresent: string;
  /** What to do when it lacks the methods of a part it was declared with. */
  whenMissing: string;
  tests: PartTests;
}

/** The part's tests when the subject declares it; else one test that the store has none of its methods. */
function registerPart(
  test: TestFunctions,
  run: (body: (t: Fixture) => Promise<void>) => () => Promise<void>,
  part: OptionalPart,
): void {
  if (!part.declared) {
    test.it(
      `has no ${part.what}, as declared`,
      run(async ({ store }) => {
        const present = part.methods.filter((m) => store[m] !== undefined);
        assert.deepEqual(present, [], part.whenPresent);
        await Promise.resolve();
      }),
    );
    return;
  }
  for (const [name, body] of Object.entries(part.tests)) {
    test.it(
      `${part.what}: ${name}`,
      run(async (t) => {
        for (const method of part.methods) {
          assert.equal(typeof t.store[method], 'function', `the store has no \`${method}()\` (${part.whenMissing})`);
        }
        await body(t);
      }),
    );
  }
}
