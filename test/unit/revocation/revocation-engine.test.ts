// The revocation engine called directly, with a controlled clock: the same-millisecond and same-second rules in
// both directions, bounded waits, argument checks, and store calls that hang or reject in odd ways.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../lib/core/config-error.js';
import { SessionAuthError } from '../../../lib/core/session-auth-error.js';
import { createRevocationEngine, type EngineSettings } from '../../../lib/revocation/revocation-engine.js';
import { revocationReason } from '../../../lib/revocation/rules.js';
import { MemoryRevocationStore } from '../../../lib/stores/memory-store.js';
import type { RevocationStore } from '../../../lib/stores/revocation-store.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../../lib/core/limits.js';

const quiet = { warn: () => undefined };

/** A clock that stands still at `start` for `stuckCalls` reads, then moves 1 ms per read. */
function steppingClock(start: number, stuckCalls: number) {
  let calls = 0;
  return () => {
    calls++;
    return calls <= stuckCalls ? start : start + (calls - stuckCalls);
  };
}

function engine(overrides: Partial<EngineSettings> = {}) {
  return createRevocationEngine({
    store: new MemoryRevocationStore(),
    storeTimeoutMs: 200,
    failOpen: false,
    logger: quiet,
    issuedAtPrecision: 'milliseconds',
    ...overrides,
  });
}

/** Records every write, so a test can assert what was (or was not) written. */
function recordingStore(): RevocationStore & { writes: unknown[][] } {
  const inner = new MemoryRevocationStore();
  const writes: unknown[][] = [];
  return {
    writes,
    getState: (sub, sid) => inner.getState(sub, sid),
    revokeUser: (sub, at, until) => {
      writes.push(['revokeUser', sub, at, until]);
      inner.revokeUser(sub, at, until);
    },
    revokeSession: (sid, sub, expiresAt) => {
      writes.push(['revokeSession', sid, sub, expiresAt]);
      inner.revokeSession(sid, sub, expiresAt);
    },
  };
}

describe('revokeUser and the clock', () => {
  test('milliseconds: it returns only once the clock is past the watermark, so the next login is later', async () => {
    const T = 1_800_000_000_123;
    // The clock stands still for 20 ms of real time from its first reading (a coarse clock), then moves with real
    // time. (From its first reading, not from the test's start: on a busy machine the engine may take longer than
    // that to read it first.)
    let started: number | undefined;
    const clock = () => T + Math.max(0, Math.floor(performance.now() - (started ??= performance.now())) - 20);
    const e = engine({ now: clock });
    const watermark = await e.revokeUser('alice');
    assert.equal(watermark.getTime(), T);
    const nextLogin = clock();
    assert.ok(nextLogin > T, `a login right after revokeUser is stamped ${nextLogin}, not after ${T}`);
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, nextLogin), undefined);
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, T), 'logged_out_everywhere');
  });

  test('seconds: it returns only in the next whole second, so a token signed after it has a later iat', async () => {
    const T = 1_800_000_000_400;
    const started = performance.now();
    const clock = () => T + Math.floor(performance.now() - started);
    const e = engine({ issuedAtPrecision: 'seconds', now: clock });
    const watermark = await e.revokeUser('alice');
    const iatAfter = Math.floor(clock() / 1000);
    assert.ok(iatAfter * 1000 > watermark.getTime(), 'the next token is issued in a later second');
    const sameSecondBefore = Math.floor(T / 1000) * 1000;
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, sameSecondBefore),
      'logged_out_everywhere',
    );
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, iatAfter * 1000), undefined);
  });

  test('a clock stepped backwards delays revokeUser by a bounded time only', async () => {
    let reads = 0;
    // The first read (the watermark) is now; every later read is 1.5 s in the past.
    const e = engine({ now: () => (reads++ === 0 ? 1_800_000_001_500 : 1_800_000_000_000) });
    const started = performance.now();
    await e.revokeUser('alice');
    assert.ok(performance.now() - started < 500, `waited ${Math.round(performance.now() - started)} ms`);
  });
});

describe('arguments that would revoke nothing are refused before anything is written', () => {
  const cases: [string, (e: ReturnType<typeof engine>) => Promise<unknown>][] = [
    ['revokeUser(42)', (e) => e.revokeUser(42 as never)],
    ["revokeUser({ $gt: '' })", (e) => e.revokeUser({ $gt: '' } as never)],
    ["revokeUser('')", (e) => e.revokeUser('')],
    ['revokeSession(sid, { sub: 7 })', (e) => e.revokeSession('sid-0123456789abcdef', 7 as never)],
    ['revokeSession({ $ne: 1 }, ...)', (e) => e.revokeSession({ $ne: 1 } as never, 'alice')],
    [
      "revokeSession(..., expiresAt: new Date('x'))",
      (e) => e.revokeSession('sid-0123456789abcdef', 'alice', new Date('x')),
    ],
    ['revokeSession(..., expiresAt: a number)', (e) => e.revokeSession('sid-0123456789abcdef', 'alice', 5 as never)],
  ];
  for (const [name, call] of cases) {
    test(name, async () => {
      const store = recordingStore();
      await assert.rejects(call(engine({ store })), (error: unknown) => {
        assert.ok(error instanceof ConfigError && error instanceof TypeError);
        assert.equal(error.code, 'invalid_argument');
        return true;
      });
      assert.deepEqual(store.writes, []);
    });
  }
});

describe('how long revocations are kept', () => {
  test('a session entry outlives its token by the largest clock tolerance; unknown expiry: the largest lifetime', async () => {
    const store = recordingStore();
    const e = engine({ store, now: () => 1_800_000_000_000 });
    const exp = new Date(1_800_000_060_000);
    await e.revokeSession('sid-0123456789abcdef', 'alice', exp);
    await e.revokeSession('sid-fedcba9876543210', 'alice');
    assert.equal((store.writes[0]?.[3] as Date).getTime(), exp.getTime() + 300_000);
    assert.equal((store.writes[1]?.[3] as Date).getTime(), 1_800_000_000_000 + MAX_REVOCATION_LIFETIME_MS + 300_000);
  });

  test('a watermark is kept for the largest token lifetime any instance may use, not this instance’s', async () => {
    const store = recordingStore();
    const e = engine({ store, now: steppingClock(1_800_000_000_000, 1) });
    await e.revokeUser('alice');
    assert.equal((store.writes[0]?.[3] as Date).getTime(), 1_800_000_000_000 + MAX_REVOCATION_LIFETIME_MS);
  });
});

describe('store calls that are not native promises', () => {
  const unavailable = (error: unknown) => error instanceof SessionAuthError && error.code === 'revocation_unavailable';
  const thenableStore = (
    then: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void,
  ): RevocationStore => ({
    getState: () => ({ then }) as never,
    revokeUser: () => ({ then }) as never,
    revokeSession: () => ({ then }) as never,
  });

  test('a thenable that never settles is bounded by storeTimeoutMs (check and logout)', async () => {
    const e = engine({ store: thenableStore(() => undefined), storeTimeoutMs: 100 });
    const started = Date.now();
    const rejected = await e.check({ sub: 'alice', sessionId: 's', issuedAtMs: Date.now() });
    assert.equal(rejected?.code, 'revocation_unavailable');
    await assert.rejects(e.revokeSession('sid-0123456789abcdef', 'alice'), unavailable);
    assert.ok(Date.now() - started < 1500);
  });

  test('a thenable that rejects with a non-Error becomes revocation_unavailable, never a 500', async () => {
    const e = engine({ store: thenableStore((_, reject) => reject('socket closed')) });
    assert.equal(
      (await e.check({ sub: 'alice', sessionId: 's', issuedAtMs: Date.now() }))?.code,
      'revocation_unavailable',
    );
    await assert.rejects(e.revokeUser('alice'), unavailable);
  });

  test('a thenable that resolves is used like a promise', async () => {
    const e = engine({
      store: thenableStore((resolve) => resolve({ lastLogoutAt: new Date(), sessionRevoked: false })),
    });
    assert.equal((await e.check({ sub: 'alice', sessionId: 's', issuedAtMs: 1 }))?.code, 'logged_out_everywhere');
  });

  test('a store method that throws synchronously becomes revocation_unavailable; failOpen accepts instead', async () => {
    const throwing: RevocationStore = {
      getState: () => {
        throw new Error('boom');
      },
      revokeUser: () => undefined,
      revokeSession: () => undefined,
    };
    assert.equal(
      (await engine({ store: throwing }).check({ sub: 'a', sessionId: 's', issuedAtMs: 1 }))?.code,
      'revocation_unavailable',
    );
    assert.equal(
      await engine({ store: throwing, failOpen: true }).check({ sub: 'a', sessionId: 's', issuedAtMs: 1 }),
      undefined,
    );
  });
});
