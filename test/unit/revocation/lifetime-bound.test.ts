// The session-lifetime bound as an instance keeps it: declared before any sign-in (a store that cannot take the
// declaration fails the sign-in, 503), declared again on a timer (after a lowering, a longer instance raises it
// back), asked of the store before each write (400 days when it cannot say), and 400 days on a store without it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createSessionAuth, isConfigError, MemoryRevocationStore, type RevocationStore } from '../../../lib/index.js';
import { MAX_REVOCATION_LIFETIME_MS } from '../../../lib/core/limits.js';
import { createRevocationEngine } from '../../../lib/revocation/revocation-engine.js';
import { buildApp, testSecret } from '../../support/apps.js';
import { eventually } from '../../support/eventually.js';

const quiet = { warn: () => {} };
const HOUR = 3_600_000;
const SLACK = 600_000;

/** A memory store whose lifetime declarations can be made to fail, counting them. */
function flakyLifetimeStore() {
  const inner = new MemoryRevocationStore();
  const store = {
    failing: false,
    declarations: 0,
    declareLifetime(ms: number, mode: 'raise' | 'set') {
      store.declarations++;
      if (store.failing) throw new Error('store unreachable (simulated)');
      return inner.declareLifetime(ms, mode);
    },
    settleLifetime: (raisedAt: Date) => inner.settleLifetime(raisedAt),
    getState: (sub: string, sid: string) => inner.getState(sub, sid),
    revokeUser: (sub: string, at: Date, until: Date) => inner.revokeUser(sub, at, until),
    revokeSession: (sid: string, sub: string, exp: Date) => inner.revokeSession(sid, sub, exp),
    readFeed: (since: Date | null, limit: number) => inner.readFeed(since, limit),
  };
  return { store: store satisfies RevocationStore, inner };
}

/** An instance without HTTP on `store`, declaring `lifetimeMs`, with the lifetime timings given. */
function engineOn(
  store: RevocationStore,
  lifetimeMs: number,
  timings: { lifetimeRefreshMs: number; lifetimeSettleMs?: number },
) {
  return createRevocationEngine({
    store,
    storeTimeoutMs: 200,
    failOpen: false,
    logger: quiet,
    issuedAtPrecision: 'milliseconds',
    declaredLifetimeMs: lifetimeMs,
    ...timings,
  });
}

describe('the session-lifetime bound of an instance', () => {
  test('no sign-in before the lifetime is declared: a store that cannot take it answers 503, and no cookie', async () => {
    const { store } = flakyLifetimeStore();
    store.failing = true;
    const auth = createSessionAuth({
      secret: testSecret(),
      store,
      logger: quiet,
      cookie: { name: 's', secure: false },
    });
    await auth.ready; // never rejects: logged, asked again by the first sign-in
    const app = buildApp(express, auth);
    const refused = await request(app).post('/login').send({ sub: 'alice' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['set-cookie'], undefined);
    store.failing = false;
    const declaredBefore = store.declarations;
    const ok = await request(app).post('/login').send({ sub: 'alice' });
    assert.equal(ok.status, 200);
    assert.equal(store.declarations, declaredBefore + 1, 'declared by the sign-in');
    await request(app).post('/login').send({ sub: 'bob' });
    assert.equal(store.declarations, declaredBefore + 1, 'once: later sign-ins do not ask again');
    await auth.close();
  });

  test('a write when the store cannot say the bound keeps the entry 400 days', async () => {
    const { store, inner } = flakyLifetimeStore();
    const auth = createSessionAuth({ secret: testSecret(), store, logger: quiet, maxAge: '1h' });
    await auth.ready;
    store.failing = true;
    const at = await auth.revokeUser('alice');
    const entry = inner.readFeed(null, 10).changes.find((c) => c.kind === 'user');
    assert.equal(entry?.kind === 'user' && entry.relevantUntil.getTime() - at.getTime(), MAX_REVOCATION_LIFETIME_MS);
    await auth.close();
  });

  test('declared again on a timer: after a lowering, an idle instance with longer sessions raises it back', async () => {
    const store = new MemoryRevocationStore();
    const engine = (lifetimeMs: number) => engineOn(store, lifetimeMs, { lifetimeRefreshMs: 20 });
    const long = engine(30 * 24 * HOUR);
    const short = engine(HOUR);
    await long.lifetime.ready();
    await short.lifetime.ready();
    assert.equal((await short.lifetime.lower()).lifetimeMs, HOUR);
    await eventually(() => Promise.resolve(store.declareLifetime(1, 'raise').lifetimeMs === 30 * 24 * HOUR), 2000);
    long.lifetime.stop();
    short.lifetime.stop();
  });

  test('clocks that disagree: a later raise is never taken as settled, and a settle reads the whole feed', async () => {
    let skew = 0;
    const store = new MemoryRevocationStore({ now: () => Date.now() + skew });
    const engine = (lifetimeMs: number, settleMs: number) =>
      engineOn(store, lifetimeMs, { lifetimeRefreshMs: 60_000, lifetimeSettleMs: settleMs });
    const isSettled = () => {
      const bound = store.declareLifetime(1, 'raise');
      return Promise.resolve(bound.settledAt >= bound.raisedAt);
    };
    // An instance whose bound is recorded by a clock two minutes ahead raises it, and settles it.
    skew = 120_000;
    const ahead = engine(2 * 24 * HOUR, 0);
    await ahead.lifetime.ready();
    await eventually(isSettled, 2000);
    // A longer one raises it by a correct clock: still a change to settle, not one taken as settled already.
    skew = 0;
    const long = engine(30 * 24 * HOUR, 300);
    await long.lifetime.ready();
    assert.equal(await isSettled(), false, 'the raise is not settled yet');
    // A write that used the old bound, recorded in the feed by a clock a minute behind.
    skew = -60_000;
    const at = new Date(Date.now() - 60_000);
    store.revokeUser('stale', at, new Date(at.getTime() + 2 * 24 * HOUR));
    skew = 0;
    await eventually(isSettled, 2000); // settled by the long instance once due (300 ms after it saw its raise)
    const entry = store.readFeed(null, 100).changes.find((c) => c.kind === 'user' && c.sub === 'stale');
    assert.equal(entry?.kind === 'user' && entry.relevantUntil.getTime(), at.getTime() + 30 * 24 * HOUR);
    for (const e of [ahead, long]) e.lifetime.stop();
  });

  test('a raise re-writes every watermark and claims change that ends too soon, and none that lasts long enough', async () => {
    const store = new MemoryRevocationStore();
    const short = engineOn(store, HOUR, { lifetimeRefreshMs: 60_000 });
    await short.lifetime.ready();
    const at = new Date();
    for (let i = 0; i < 50; i++) store.revokeUser(`u${i}`, at, new Date(at.getTime() + HOUR));
    for (let i = 0; i < 20; i++) store.markClaimsChanged(`c${i}`, at, new Date(at.getTime() + HOUR));
    store.revokeUser('long-enough', at, new Date(at.getTime() + 40 * 24 * HOUR));
    const long = engineOn(store, 30 * 24 * HOUR, { lifetimeRefreshMs: 60_000, lifetimeSettleMs: 0 });
    await long.lifetime.ready();
    await eventually(() => {
      const bound = store.declareLifetime(1, 'raise');
      return Promise.resolve(bound.settledAt >= bound.raisedAt);
    }, 2000);
    const ends = new Map(
      store
        .readFeed(null, 1000)
        .changes.flatMap((c) =>
          c.kind === 'session' ? [] : [[c.sub, c.relevantUntil.getTime() - at.getTime()] as const],
        ),
    );
    for (let i = 0; i < 50; i++) assert.equal(ends.get(`u${i}`), 30 * 24 * HOUR, `u${i}`);
    for (let i = 0; i < 20; i++) assert.equal(ends.get(`c${i}`), 30 * 24 * HOUR, `c${i}`);
    assert.equal(ends.get('long-enough'), 40 * 24 * HOUR);
    for (const e of [short, long]) e.lifetime.stop();
  });

  test('a custom store without the capability keeps 400 days, and lowering it is a ConfigError', async () => {
    const inner = new MemoryRevocationStore();
    const store: RevocationStore = {
      getState: (sub, sid) => inner.getState(sub, sid),
      revokeUser: (sub, at, until) => inner.revokeUser(sub, at, until),
      revokeSession: (sid, sub, exp) => inner.revokeSession(sid, sub, exp),
      readFeed: (since, limit) => inner.readFeed(since, limit),
    };
    const auth = createSessionAuth({ secret: testSecret(), store, logger: quiet, maxAge: '1h' });
    await auth.ready;
    const at = await auth.revokeUser('alice');
    const entry = inner.readFeed(null, 10).changes.find((c) => c.kind === 'user');
    assert.equal(entry?.kind === 'user' && entry.relevantUntil.getTime() - at.getTime(), MAX_REVOCATION_LIFETIME_MS);
    await assert.rejects(
      auth.lowerRevocationLifetime(),
      (e: unknown) => isConfigError(e) && String(e).includes('declareLifetime'),
    );
  });

  test('what an instance declares: maxAge, plus 300 s of slack and the largest clock tolerance', async () => {
    const store = new MemoryRevocationStore();
    const auth = createSessionAuth({
      secret: testSecret(),
      store,
      logger: quiet,
      expiresIn: '10m',
      maxAge: '2h',
      renewAfter: false,
    });
    await auth.ready;
    assert.equal(store.declareLifetime(1, 'raise').lifetimeMs, 2 * HOUR + SLACK);
  });
});
