// The published conformance suite itself: it passes a correct store and catches broken ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryRevocationStore, type RevocationState, type RevocationStore } from '../../../lib/index.js';
import type { FeedChange, FeedPage, FeedPageRequest, SessionRecord } from '../../../lib/stores/revocation-store.js';
import { runStoreConformance, type ConformanceSubject } from '../../../lib/testing.js';

interface Outcome {
  suites: string[];
  tests: string[];
  /** Test name to the error it failed with. */
  failures: Map<string, unknown>;
}

/** Registers the suite with collecting `describe`/`it`, then runs each test one after the other. */
async function runCollected<S extends RevocationStore>(subject: ConformanceSubject<S>): Promise<Outcome> {
  const suites: string[] = [];
  const registered: { name: string; body: () => Promise<void> }[] = [];
  runStoreConformance(subject, {
    describe(name, body) {
      suites.push(name);
      body();
    },
    it(name, body) {
      registered.push({ name, body });
    },
  });
  const failures = new Map<string, unknown>();
  for (const { name, body } of registered) {
    try {
      await body();
    } catch (error) {
      failures.set(name, error);
    }
  }
  return { suites, tests: registered.map((t) => t.name), failures };
}

/** A correct Map-based store; the broken stores below each get one thing wrong. */
class MapStore implements RevocationStore {
  protected readonly users = new Map<string, number>();
  /** Revoked sessions by user and session id (JSON of the pair). */
  protected readonly sessions = new Map<string, { sub: string; expiresAt: number }>();

  protected key(sub: string, sessionId: string): string {
    return JSON.stringify([sub, sessionId]);
  }

  getState(sub: string, sessionId: string): RevocationState {
    const at = this.users.get(sub);
    const session = this.sessions.get(this.key(sub, sessionId));
    return {
      lastLogoutAt: at === undefined ? null : new Date(at),
      sessionRevoked: session !== undefined && this.isLive(session.expiresAt),
    };
  }

  protected isLive(expiresAt: number): boolean {
    return expiresAt > Date.now();
  }

  revokeUser(sub: string, at: Date): void {
    this.users.set(sub, Math.max(this.users.get(sub) ?? -Infinity, at.getTime()));
  }

  revokeSession(sessionId: string, sub: string, expiresAt: Date): void {
    const key = this.key(sub, sessionId);
    const previous = this.sessions.get(key)?.expiresAt ?? -Infinity;
    this.sessions.set(key, { sub, expiresAt: Math.max(previous, expiresAt.getTime()) });
  }
}

/** Each broken store, and a conformance test that must catch it. */
const BROKEN: Record<string, { create: () => RevocationStore; caughtBy: string }> = {
  'revokeSession is a no-op': {
    create: () =>
      new (class extends MapStore {
        override revokeSession(): void {
          // forgets the logout
        }
      })(),
    caughtBy: 'revokeSession revokes that session of the user, not their other sessions',
  },
  'revokeUser is a no-op': {
    create: () =>
      new (class extends MapStore {
        override revokeUser(): void {
          // forgets the logout everywhere
        }
      })(),
    caughtBy: 'revokeUser stores the watermark to the millisecond, creating the user record',
  },
  'revokeUser overwrites the watermark with a lower date': {
    create: () =>
      new (class extends MapStore {
        override revokeUser(sub: string, at: Date): void {
          this.users.set(sub, at.getTime());
        }
      })(),
    caughtBy: 'revokeUser never moves the watermark backwards',
  },
  "getState ignores the session's expiry": {
    create: () =>
      new (class extends MapStore {
        protected override isLive(): boolean {
          return true;
        }
      })(),
    caughtBy: 'a session entry past its expiresAt is ignored on read, even if not yet deleted',
  },
  'revokeSession keys sessions by their id alone': {
    create: () =>
      new (class extends MapStore {
        protected override key(_sub: string, sessionId: string): string {
          return sessionId;
        }
      })(),
    caughtBy: "one session id under two users: revoking it for one user leaves the other's session alone",
  },
  'revokeSession revokes every session of the user': {
    create: () =>
      new (class extends MapStore {
        readonly #revokedUsers = new Map<string, number>();
        override revokeSession(_sessionId: string, sub: string, expiresAt: Date): void {
          this.#revokedUsers.set(sub, Math.max(this.#revokedUsers.get(sub) ?? -Infinity, expiresAt.getTime()));
        }
        override getState(sub: string, sessionId: string): RevocationState {
          const until = this.#revokedUsers.get(sub);
          return {
            ...super.getState(sub, sessionId),
            sessionRevoked: until !== undefined && this.isLive(until),
          };
        }
      })(),
    caughtBy: 'revokeSession revokes that session of the user, not their other sessions',
  },
};

/** MapStore with a correct device registry; the broken registries below each get one thing wrong. */
class RegistryMapStore extends MapStore {
  protected readonly records = new Map<string, SessionRecord>();
  registerSession(record: SessionRecord): void {
    this.records.set(this.key(record.sub, record.sessionId), { ...record });
  }
  touchSession(sessionId: string, sub: string, at: Date): void {
    const r = this.records.get(this.key(sub, sessionId));
    if (r !== undefined && r.lastActiveAt < at) r.lastActiveAt = at;
  }
  listSessions(sub: string): SessionRecord[] {
    const watermark = this.users.get(sub) ?? -Infinity;
    return [...this.records.values()]
      .filter((r) => r.sub === sub && this.isLive(r.expiresAt.getTime()) && r.signedInAt.getTime() > watermark)
      .filter((r) => !this.getState(sub, r.sessionId).sessionRevoked)
      .map((r) => ({ ...r }));
  }
}

const REGISTRY_BROKEN: Record<string, { create: () => RevocationStore; caughtBy: string }> = {
  'listSessions lists revoked sessions': {
    create: () =>
      new (class extends RegistryMapStore {
        override listSessions(sub: string): SessionRecord[] {
          return [...this.records.values()].filter((r) => r.sub === sub).map((r) => ({ ...r }));
        }
      })(),
    caughtBy: 'device registry: a revoked session is not listed, even when touched after the revocation',
  },
  'touchSession creates records': {
    create: () =>
      new (class extends RegistryMapStore {
        override touchSession(sessionId: string, sub: string, at: Date): void {
          const r = this.records.get(this.key(sub, sessionId));
          this.records.set(this.key(sub, sessionId), {
            sessionId,
            sub,
            signedInAt: at,
            expiresAt: new Date(Date.now() + 60_000),
            ...r,
            lastActiveAt: at,
          });
        }
      })(),
    caughtBy: 'device registry: touchSession raises lastActiveAt, never lowers it, and never creates a record',
  },
  'listSessions ignores the watermark': {
    create: () =>
      new (class extends RegistryMapStore {
        override listSessions(sub: string): SessionRecord[] {
          return [...this.records.values()]
            .filter(
              (r) =>
                r.sub === sub && !this.getState(sub, r.sessionId).sessionRevoked && this.isLive(r.expiresAt.getTime()),
            )
            .map((r) => ({ ...r }));
        }
      })(),
    caughtBy: 'device registry: sessions signed in at or before the user watermark are not listed; later ones are',
  },
};

/** MapStore with a correct change feed (every write, stamped); the broken feeds below each get one thing wrong. */
class FeedMapStore extends MapStore {
  protected readonly log: { at: number; change: FeedChange }[] = [];
  protected readonly startedAt = new Date(Date.now() - 1);
  override revokeUser(sub: string, at: Date, relevantUntil?: Date): void {
    super.revokeUser(sub, at);
    const until = relevantUntil ?? new Date(Date.now() + 3_600_000);
    this.log.push({ at: Date.now(), change: { kind: 'user', sub, lastLogoutAt: at, relevantUntil: until } });
  }
  override revokeSession(sessionId: string, sub: string, expiresAt: Date): void {
    super.revokeSession(sessionId, sub, expiresAt);
    this.log.push({ at: Date.now(), change: { kind: 'session', sessionId, sub, expiresAt } });
  }
  readFeed(since: Date | null, limit: number): FeedPage {
    const from = since?.getTime() ?? -Infinity;
    const changes = this.log.filter((e) => e.at >= from).map((e) => e.change);
    return { startedAt: this.startedAt, changes: changes.slice(0, limit) };
  }
}

const FEED_BROKEN: Record<string, { create: () => RevocationStore; caughtBy: string }> = {
  'feed leaves out revoked sessions': {
    create: () =>
      new (class extends FeedMapStore {
        override readFeed(since: Date | null, limit: number): FeedPage {
          const log = super.readFeed(since, limit);
          return { ...log, changes: log.changes.filter((c) => c.kind === 'user') };
        }
      })(),
    caughtBy: 'change feed: a revokeSession is in the feed before it resolves, with its user and expiry',
  },
  'feed keeps the first watermark of a user, not the raised one': {
    create: () =>
      new (class extends FeedMapStore {
        override revokeUser(sub: string, at: Date, relevantUntil?: Date): void {
          const known = this.log.some((e) => e.change.kind === 'user' && e.change.sub === sub);
          if (!known) return super.revokeUser(sub, at, relevantUntil);
          // The state is raised, the feed is not told.
          this.users.set(sub, Math.max(this.users.get(sub) ?? -Infinity, at.getTime()));
        }
      })(),
    caughtBy: 'change feed: a raised watermark is in the feed with its new value',
  },
  'feed starts when it is read': {
    create: () =>
      new (class extends FeedMapStore {
        override readFeed(since: Date | null, limit: number): FeedPage {
          return { ...super.readFeed(since, limit), startedAt: new Date() };
        }
      })(),
    caughtBy: 'change feed: the feed starts no later than the first revocation written after init',
  },
  'feed answers only the full read': {
    create: () =>
      new (class extends FeedMapStore {
        override readFeed(since: Date | null, limit: number): FeedPage {
          const log = super.readFeed(null, limit);
          return since === null ? log : { ...log, changes: [] };
        }
      })(),
    caughtBy:
      'change feed: a revokeUser is in the feed before it resolves, read from just before it and in the full read',
  },
};

const describeFailures = (failures: Map<string, unknown>) =>
  [...failures].map(([name, error]) => `${name}: ${error instanceof Error ? error.message : String(error)}`).join('\n');

describe('runStoreConformance', () => {
  test('MemoryRevocationStore passes every conformance test, in one suite named after the subject', async () => {
    const outcome = await runCollected({
      name: 'MemoryRevocationStore',
      createStore: () => new MemoryRevocationStore(),
      feed: true,
      claims: true,
      lifetime: true,
    });
    assert.deepEqual(outcome.suites, ['MemoryRevocationStore conformance']);
    assert.ok(
      outcome.tests.some((name) => name.startsWith('session-lifetime bound: ')),
      'the lifetime tests ran',
    );
    assert.ok(
      outcome.tests.some((name) => name.startsWith('claims changes: ')),
      'the claims tests ran',
    );
    assert.ok(outcome.tests.length >= 10, `only ${outcome.tests.length} tests registered`);
    assert.equal(new Set(outcome.tests).size, outcome.tests.length, 'test names are unique');
    assert.equal(outcome.failures.size, 0, describeFailures(outcome.failures));
  });

  test('a correct Map-based store passes too (the reference the broken stores below differ from)', async () => {
    const outcome = await runCollected({ name: 'MapStore', createStore: () => new MapStore(), registry: false });
    assert.equal(outcome.failures.size, 0, describeFailures(outcome.failures));
  });

  for (const [breakage, { create, caughtBy }] of Object.entries(BROKEN)) {
    test(`a store whose ${breakage} fails the suite`, async () => {
      const outcome = await runCollected({ name: 'BrokenStore', createStore: create, registry: false });
      assert.ok(outcome.failures.size > 0, 'every conformance test passed');
      assert.ok(outcome.tests.includes(caughtBy), `no conformance test named "${caughtBy}"`);
      assert.ok(
        outcome.failures.has(caughtBy),
        `"${caughtBy}" passed; failures were:\n${describeFailures(outcome.failures)}`,
      );
    });
  }

  /** Memory stores whose claims part is broken, and the test that must catch each. */
  const CLAIMS_BROKEN: Record<string, { create: () => RevocationStore; caughtBy: string }> = {
    'markClaimsChanged is a no-op': {
      create: () =>
        new (class extends MemoryRevocationStore {
          override markClaimsChanged(): void {
            // forgets the change
          }
        })(),
      caughtBy:
        'claims changes: markClaimsChanged stores the time to the millisecond, for that user only, apart from the watermark',
    },
    'markClaimsChanged lowers an earlier change': {
      create: () => {
        const store = new (class extends MemoryRevocationStore {
          readonly changes = new Map<string, number>();
          override markClaimsChanged(sub: string, at: Date, until: Date): void {
            this.changes.set(sub, at.getTime());
            super.markClaimsChanged(sub, at, until);
          }
          override getState(sub: string, sessionId: string) {
            const state = super.getState(sub, sessionId);
            const last = this.changes.get(sub);
            return last === undefined ? state : { ...state, claimsChangedAt: new Date(last) };
          }
        })();
        return store;
      },
      caughtBy:
        'claims changes: markClaimsChanged never moves backwards, also when concurrent, and a later one moves it forwards',
    },
    'a claims change never reaches the feed': {
      create: () =>
        new (class extends MemoryRevocationStore {
          override readFeed(since: Date | null, limit: number) {
            const page = super.readFeed(since, limit);
            return { ...page, changes: page.changes.filter((c) => c.kind !== 'claims') };
          }
        })(),
      caughtBy: 'claims changes: a claims change is in the feed before it resolves, with its user, time and relevance',
    },
  };

  for (const [breakage, { create, caughtBy }] of Object.entries(CLAIMS_BROKEN)) {
    test(`a store whose ${breakage} fails the claims tests`, async () => {
      const outcome = await runCollected({ name: 'BrokenClaims', createStore: create, feed: true, claims: true });
      assert.ok(
        outcome.failures.has(caughtBy),
        `"${caughtBy}" passed; failures were:\n${describeFailures(outcome.failures)}`,
      );
    });
  }

  const LIFETIME_BROKEN: Record<string, { create: () => RevocationStore; caughtBy: string }> = {
    "lifetime 'raise' lowers the bound": {
      create: () =>
        new (class extends MemoryRevocationStore {
          override declareLifetime(ms: number) {
            return super.declareLifetime(ms, 'set');
          }
        })(),
      caughtBy: "session-lifetime bound: 'raise' never lowers the bound, and raisedAt moves only when the bound does",
    },
    'settleLifetime lowers settledAt': {
      create: () => {
        let settled: Date | undefined;
        return new (class extends MemoryRevocationStore {
          override declareLifetime(ms: number, mode: 'raise' | 'set') {
            const bound = super.declareLifetime(ms, mode);
            return settled === undefined ? bound : { ...bound, settledAt: settled };
          }
          override settleLifetime(raisedAt: Date) {
            settled = raisedAt;
          }
        })();
      },
      caughtBy: 'session-lifetime bound: settleLifetime only raises settledAt, and changes nothing else',
    },
    'paged whole read skips the first entry of each later page': {
      create: () =>
        new (class extends MemoryRevocationStore {
          override readFeed(since: Date | null, limit: number, page?: FeedPageRequest) {
            const read = super.readFeed(since, limit, page);
            return page?.cursor === undefined ? read : { ...read, changes: read.changes.slice(1) };
          }
        })(),
      caughtBy:
        'paged reads (3 a page) answer, whole and by time, the changes of an unpaged read, and end with no cursor',
    },
  };

  for (const [breakage, { create, caughtBy }] of Object.entries(LIFETIME_BROKEN)) {
    test(`a store whose ${breakage} fails the suite`, async () => {
      const outcome = await runCollected({
        name: 'Broken',
        createStore: create,
        feed: true,
        claims: true,
        lifetime: true,
      });
      const name = [...outcome.failures.keys()].find((f) => f.endsWith(caughtBy) || caughtBy.endsWith(f));
      assert.ok(name !== undefined, `"${caughtBy}" passed; failures were:\n${describeFailures(outcome.failures)}`);
    });
  }

  test('a store with markClaimsChanged must declare claims: true; one without it passes without the claims tests', async () => {
    const undeclared = await runCollected({
      name: 'Undeclared',
      createStore: () => new MemoryRevocationStore(),
      feed: true,
    });
    assert.ok(undeclared.failures.has('has no claims changes, as declared'), describeFailures(undeclared.failures));
    const without = await runCollected({ name: 'MapStore', createStore: () => new MapStore(), registry: false });
    assert.ok(!without.tests.some((t) => t.startsWith('claims changes: ')));
    assert.equal(without.failures.size, 0, describeFailures(without.failures));
  });

  test('a correct Map-based store with a device registry passes the registry tests too', async () => {
    const outcome = await runCollected({ name: 'RegistryMapStore', createStore: () => new RegistryMapStore() });
    assert.ok(
      outcome.tests.some((t) => t.startsWith('device registry: ')),
      'registry tests registered',
    );
    assert.equal(outcome.failures.size, 0, describeFailures(outcome.failures));
  });

  test('a store without a registry fails the registry tests unless it declares registry: false', async () => {
    const outcome = await runCollected({ name: 'MapStore', createStore: () => new MapStore() });
    assert.ok(
      [...outcome.failures.keys()].every((t) => t.startsWith('device registry: ')),
      describeFailures(outcome.failures),
    );
    assert.ok(outcome.failures.size > 0, 'some test failed');
  });

  for (const [breakage, { create, caughtBy }] of Object.entries(REGISTRY_BROKEN)) {
    test(`a store whose ${breakage} fails the suite`, async () => {
      const outcome = await runCollected({ name: 'BrokenRegistry', createStore: create });
      assert.ok(
        outcome.failures.has(caughtBy),
        `"${caughtBy}" passed; failures were:\n${describeFailures(outcome.failures)}`,
      );
    });
  }

  test('a correct store with a change feed passes the feed tests; without `feed: true` it fails one test', async () => {
    const declared = await runCollected({
      name: 'Feed',
      createStore: () => new FeedMapStore(),
      registry: false,
      feed: true,
    });
    assert.ok(declared.tests.filter((t) => t.startsWith('change feed: ')).length >= 5, 'feed tests registered');
    assert.equal(declared.failures.size, 0, describeFailures(declared.failures));
    const undeclared = await runCollected({ name: 'Feed', createStore: () => new FeedMapStore(), registry: false });
    assert.deepEqual([...undeclared.failures.keys()], ['has no change feed, as declared']);
  });

  for (const [breakage, { create, caughtBy }] of Object.entries(FEED_BROKEN)) {
    test(`a store whose ${breakage} fails the suite`, async () => {
      const outcome = await runCollected({ name: 'BrokenFeed', createStore: create, registry: false, feed: true });
      assert.ok(outcome.tests.includes(caughtBy), `no conformance test named "${caughtBy}"`);
      assert.ok(
        outcome.failures.has(caughtBy),
        `"${caughtBy}" passed; failures were:\n${describeFailures(outcome.failures)}`,
      );
    });
  }

  test('each test gets a fresh store, initialised first, closed and cleaned up after, also when it fails', async () => {
    const events: string[] = [];
    let created = 0;
    const outcome = await runCollected({
      name: 'Tracked',
      createStore: () => {
        const n = ++created;
        return Object.assign(
          new (class extends MapStore {
            override revokeSession(): void {
              // broken, so some tests fail
            }
          })(),
          {
            init: () => void events.push(`init ${n}`),
            close: () => void events.push(`close ${n}`),
          },
        );
      },
      cleanup: () => void events.push(`cleanup ${created}`),
      registry: false,
    });
    assert.ok(outcome.failures.size > 0, 'some test failed');
    assert.equal(created, outcome.tests.length);
    assert.deepEqual(
      events,
      outcome.tests.flatMap((_, i) => [`init ${i + 1}`, `close ${i + 1}`, `cleanup ${i + 1}`]),
    );
  });
});
