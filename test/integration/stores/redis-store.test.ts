// RedisRevocationStore against a real redis-server, through node-redis and through ioredis: the published
// conformance suite, then what this store adds (key layout, TTLs, atomic writes, one round trip per check).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../../lib/index.js';
import { RedisRevocationStore } from '../../../lib/redis.js';
import { feedKeys, feedPartOf } from '../../../lib/stores/redis/keys.js';
import type { SessionRecord } from '../../../lib/stores/revocation-store.js';
import { runStoreConformance } from '../../../lib/testing.js';
import { hashTagOf } from '../../support/redis-cluster.js';
import { connectDriver, DRIVERS, randomPrefix, type TestRedisClient } from '../../support/redis-clients.js';

const quiet = { warn: () => {} };
const HOUR = 3_600_000;
const later = (ms = HOUR) => new Date(Date.now() + ms);

/** A client whose every command is counted: each count is one command the store sent. */
function counting(t: TestRedisClient): { client: object; sent: string[][] } {
  const sent: string[][] = [];
  const method = t.driver === 'node-redis' ? 'sendCommand' : 'call';
  const client = new Proxy(t.client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property !== method || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        sent.push((t.driver === 'node-redis' ? (args[0] as string[]) : args).map(String));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client, sent };
}

for (const driver of DRIVERS) {
  let shared: TestRedisClient | undefined;
  after(async () => {
    await shared?.close();
  });
  runStoreConformance(
    {
      name: `RedisRevocationStore (${driver})`,
      // A prefix of its own for each store: the session-lifetime bound's tests start from an empty store.
      createStore: async () => {
        shared ??= await connectDriver(driver);
        return new RedisRevocationStore({
          client: shared.client,
          prefix: randomPrefix(`conformance-${driver}`),
          logger: quiet,
        });
      },
      feed: true,
      claims: true,
      lifetime: true,
    },
    { describe, it: test },
  );
}

for (const driver of DRIVERS) {
  describe(`RedisRevocationStore with ${driver}`, () => {
    let r: TestRedisClient;
    let other: TestRedisClient;
    const prefix = randomPrefix(driver);
    const store = () => new RedisRevocationStore({ client: r.client, prefix, logger: quiet });
    before(async () => {
      r = await connectDriver(driver);
      other = await connectDriver(driver === 'node-redis' ? 'ioredis' : 'node-redis');
    });
    after(async () => {
      await r.close();
      await other.close();
    });

    test('detects the client it was given', () => {
      assert.equal(store().clientKind, driver);
    });

    test('a claims change: its own key <prefix>{<sub>}:c = "<at>:<relevantUntil>"; the watermark and the feed keys older versions read are untouched', async () => {
      const s = store();
      const at = new Date();
      const until = new Date(Date.now() + HOUR);
      await s.markClaimsChanged('cleo', at, until);
      assert.equal(await r.command('GET', `${prefix}{cleo}:c`), `${at.getTime()}:${until.getTime()}`);
      const ttl = Number(await r.command('PTTL', `${prefix}{cleo}:c`));
      assert.ok(ttl > HOUR - 60_000 && ttl <= HOUR, `expires at relevantUntil (${ttl} ms)`);
      assert.equal(await r.command('GET', `${prefix}{cleo}:u`), null, 'no watermark');
      // Versions before claims refresh read every member of these two as a revocation (and fail on a new kind).
      for (const key of [`${prefix}{feed}:at`, `${prefix}{feed}:exp`]) {
        const members = (await r.command('ZRANGE', key, '0', '-1')) as string[];
        assert.ok(!members.some((m) => m.includes('"cleo"')), `${key} does not carry it`);
      }
      const page = await s.readFeed(new Date(Date.now() - 1000), 100);
      assert.ok(
        page.changes.some((c) => c.kind === 'claims' && c.sub === 'cleo' && c.changedAt.getTime() === at.getTime()),
      );
      assert.equal((await s.getState('cleo', 'sid-c', 0)).claimsChangedAt?.getTime(), at.getTime());
      await r.command('SET', `${prefix}{cleo}:c`, 'garbage');
      await assert.rejects(s.getState('cleo', 'sid-c', 0), /claims change key in Redis holds unreadable data/);
    });

    test('registry records of older versions (a User-Agent that starts with "|") are read as they were written', async () => {
      const s = store();
      const now = Date.now();
      const end = now + HOUR;
      // What an older version wrote for a User-Agent of "|Mozilla|Safari" (no IP field then), and the same
      // User-Agent written now (the longer form, with an empty IP).
      await r.command('HSET', `${prefix}{rita}:r`, 'sid-old', `${now}|${now}|${end}||Mozilla|Safari`);
      await r.command('ZADD', `${prefix}{rita}:r:exp`, String(end), 'sid-old');
      const record = { sub: 'rita', signedInAt: new Date(now), lastActiveAt: new Date(now), expiresAt: new Date(end) };
      await s.registerSession({ ...record, sessionId: 'sid-new', userAgent: '|Mozilla|Safari' });
      assert.equal(await r.command('HGET', `${prefix}{rita}:r`, 'sid-new'), `${now}|${now}|${end}||||Mozilla|Safari`);
      const listed = new Map((await s.listSessions('rita')).map((x) => [x.sessionId, x]));
      for (const id of ['sid-old', 'sid-new']) {
        assert.deepEqual([listed.get(id)?.ip, listed.get(id)?.userAgent], [undefined, '|Mozilla|Safari'], id);
      }
    });

    test('the watermark key is <prefix>{<sub>}:u = "<at>:<relevantUntil>", expiring at relevantUntil', async () => {
      const at = new Date(Date.now() - 5);
      const until = later();
      await store().revokeUser('alice', at, until);
      const key = `${prefix}{alice}:u`;
      assert.equal(await r.command('GET', key), `${at.getTime()}:${until.getTime()}`);
      const pttl = Number(await r.command('PTTL', key));
      assert.ok(Math.abs(pttl - (until.getTime() - Date.now())) < 2000, `PTTL ${pttl}`);
    });

    test('a session key is <prefix>{<sub>}:s:<sessionId> = "<expiresAt>", expiring at expiresAt', async () => {
      const expiresAt = later(30 * 60_000);
      await store().revokeSession('phone-session', 'alice', expiresAt);
      const key = `${prefix}{alice}:s:phone-session`;
      assert.equal(await r.command('GET', key), String(expiresAt.getTime()));
      const pttl = Number(await r.command('PTTL', key));
      assert.ok(Math.abs(pttl - 30 * 60_000) < 2000, `PTTL ${pttl}`);
    });

    test('a sub with {, } or : is encoded: both keys of a user share one non-empty hash tag', async () => {
      const s = store();
      for (const sub of ['a{b}c', '}{', 'tenant:42', 'x}:s:y', 'ünï']) {
        await s.revokeUser(sub, new Date(), later());
        await s.revokeSession('sid-1', sub, later());
        const userKey = `${prefix}{${encodeURIComponent(sub)}}:u`;
        const sessionKey = `${prefix}{${encodeURIComponent(sub)}}:s:sid-1`;
        assert.notEqual(await r.command('GET', userKey), null, sub);
        assert.notEqual(await r.command('GET', sessionKey), null, sub);
        assert.equal(hashTagOf(userKey), hashTagOf(sessionKey));
        assert.equal(hashTagOf(userKey), encodeURIComponent(sub));
        assert.equal((await s.getState(sub, 'sid-1', 0)).sessionRevoked, true);
        assert.equal((await s.getState(`${sub}x`, 'sid-1', 0)).sessionRevoked, false);
      }
    });

    test('revokeUser never lowers the watermark nor shortens its TTL', async () => {
      const s = store();
      const key = `${prefix}{bob}:u`;
      const first = new Date();
      await s.revokeUser('bob', first, later(2 * HOUR));
      await s.revokeUser('bob', new Date(first.getTime() - 1000), later(HOUR));
      const [at, until] = String(await r.command('GET', key))
        .split(':')
        .map(Number);
      assert.equal(at, first.getTime());
      assert.ok((until ?? 0) > Date.now() + HOUR + 30 * 60_000, 'relevantUntil kept at the later of the two');
      assert.ok(Number(await r.command('PTTL', key)) > HOUR + 30 * 60_000, 'TTL not shortened');
    });

    test('revokeSession extends an entry and its TTL but never shortens either', async () => {
      const s = store();
      const key = `${prefix}{carol}:s:laptop`;
      await s.revokeSession('laptop', 'carol', later(HOUR));
      await s.revokeSession('laptop', 'carol', later(3 * HOUR));
      const extended = Number(await r.command('GET', key));
      await s.revokeSession('laptop', 'carol', later(10_000));
      assert.equal(Number(await r.command('GET', key)), extended);
      assert.ok(Number(await r.command('PTTL', key)) > 2 * HOUR, 'TTL not shortened');
    });

    test('concurrent writers on two clients (both drivers) leave the largest dates', async () => {
      const stores = [store(), new RedisRevocationStore({ client: other.client, prefix, logger: quiet })];
      const base = Date.now();
      const stamps = Array.from({ length: 60 }, (_, i) => base - ((i * 37) % 60) * 10);
      await Promise.all(
        stamps.map(async (ms, i) => stores[i % 2]?.revokeUser('dave', new Date(ms), new Date(ms + HOUR + i))),
      );
      const [at, until] = String(await r.command('GET', `${prefix}{dave}:u`))
        .split(':')
        .map(Number);
      assert.equal(at, Math.max(...stamps));
      assert.equal(until, Math.max(...stamps.map((ms, i) => ms + HOUR + i)));
      await Promise.all(stamps.map(async (ms, i) => stores[i % 2]?.revokeSession('tv', 'dave', new Date(ms + HOUR))));
      assert.equal(Number(await r.command('GET', `${prefix}{dave}:s:tv`)), Math.max(...stamps) + HOUR);
    });

    test('each check is one command (MGET of the user keys and the session key); each write one EVAL to the feed, then one EVAL', async () => {
      const { client, sent } = counting(r);
      const s = new RedisRevocationStore({ client: client as never, prefix, logger: quiet });
      await s.init(); // the one-time checks, counted apart
      sent.length = 0;
      await s.getState('erin', 'sid-9', Date.now());
      assert.deepEqual(sent, [['MGET', `${prefix}{erin}:u`, `${prefix}{erin}:c`, `${prefix}{erin}:s:sid-9`]]);
      sent.length = 0;
      await s.getState('erin', '', Date.now());
      assert.deepEqual(
        sent,
        [['MGET', `${prefix}{erin}:u`, `${prefix}{erin}:c`]],
        'a token without a session reads the user keys only',
      );
      sent.length = 0;
      await s.revokeUser('erin', new Date(), later());
      await s.revokeSession('sid-9', 'erin', later());
      await s.markClaimsChanged('erin', new Date(), later());
      assert.deepEqual(
        sent.map((c) => [c[0], c[3]]),
        [
          ['EVAL', `${prefix}{feed}:at`],
          ['EVAL', `${prefix}{erin}:u`],
          ['EVAL', `${prefix}{feed}:at`],
          ['EVAL', `${prefix}{erin}:s:sid-9`],
          ['EVAL', `${prefix}{feed}:c:at`],
          ['EVAL', `${prefix}{erin}:c`],
        ],
      );
      assert.ok(!sent.flat().some((a) => /^(KEYS|SCAN)$/i.test(a)));
    });

    test("feedSlots: each user's changes go to the part of its id ({feed}, {feed:1:<n>}...); the count is recorded before a part above 0 is written, and a store with feedSlots 1 then reads every part", async () => {
      const spread = randomPrefix(`parts-${driver}`);
      const writer = new RedisRevocationStore({ client: r.client, prefix: spread, feedSlots: 4, logger: quiet });
      const subs = Array.from({ length: 24 }, (_, i) => `user${i}`);
      const parts = new Set(subs.map((sub) => feedPartOf(sub, 4)));
      assert.deepEqual([...parts].sort(), [0, 1, 2, 3], 'the users fall in every part');
      for (const sub of subs) {
        await writer.revokeSession(`sid-${sub}`, sub, later());
        await writer.markClaimsChanged(sub, new Date(), later());
      }
      await writer.revokeUser('user0', new Date(), later());
      assert.equal(await r.command('GET', `${spread}{feed}:slots`), '4');
      for (const sub of subs) {
        const keys = feedKeys(spread, feedPartOf(sub, 4));
        const entries = (await r.command('ZRANGE', keys.at, '0', '-1')) as string[];
        assert.ok(
          entries.some((e) => e.startsWith(`["s","sid-${sub}",`)),
          `${sub}'s revocation in part ${feedPartOf(sub, 4)}`,
        );
        const claims = (await r.command('ZRANGE', keys.claimsAt, '0', '-1')) as string[];
        assert.ok(
          claims.some((e) => e.startsWith(`["c","${sub}",`)),
          `${sub}'s claims change in its part`,
        );
      }
      // The count is recorded before the first write to a part above 0 (a reader that saw 1 would skip it).
      const ordered = randomPrefix(`parts-order-${driver}`);
      const { client, sent } = counting(r);
      const first = new RedisRevocationStore({ client: client as never, prefix: ordered, feedSlots: 4, logger: quiet });
      const outer = subs.find((sub) => feedPartOf(sub, 4) > 0)!;
      await first.revokeSession('sid-x', outer, later());
      const keysSent = sent.filter((c) => c[0] === 'EVAL').map((c) => c[3]);
      const recordedAt = keysSent.indexOf(`${ordered}{feed}:slots`);
      const partAt = keysSent.indexOf(feedKeys(ordered, feedPartOf(outer, 4)).at);
      assert.ok(recordedAt !== -1 && recordedAt < partAt, `the count first: ${keysSent.join(', ')}`);
      const reader = new RedisRevocationStore({ client: other.client, prefix: spread, logger: quiet });
      for (const since of [null, new Date(Date.now() - 60_000)]) {
        const page = await reader.readFeed(since, 1000);
        const sessions = page.changes
          .filter((c) => c.kind === 'session')
          .map((c) => c.sub)
          .sort();
        assert.deepEqual(sessions, [...subs].sort(), `every part read (${since === null ? 'whole' : 'since'})`);
        assert.equal(page.changes.filter((c) => c.kind === 'claims').length, subs.length);
        assert.equal(page.changes.filter((c) => c.kind === 'user').length, 1);
      }
      // A writer with fewer parts never lowers the count.
      const fewer = new RedisRevocationStore({ client: r.client, prefix: spread, feedSlots: 2, logger: quiet });
      await fewer.revokeUser('user1', new Date(), later());
      await fewer.revokeUser(
        subs.find((sub) => feedPartOf(sub, 2) === 1)!,
        new Date(),
        later(),
      );
      assert.equal(await r.command('GET', `${spread}{feed}:slots`), '4');
    });

    test('a revocation whose feed entry cannot be written is refused and not stored (the feed comes first)', async () => {
      const broken = randomPrefix(`feedless-${driver}`);
      await r.command('SET', `${broken}{feed}:at`, 'not a sorted set');
      const s = new RedisRevocationStore({ client: r.client, prefix: broken, logger: quiet });
      await assert.rejects(s.revokeUser('feedless', new Date(), later()), /WRONGTYPE/);
      await assert.rejects(s.revokeSession('sid-1', 'feedless', later()), /WRONGTYPE/);
      assert.deepEqual(await s.getState('feedless', 'sid-1', Date.now() - 60_000), {
        lastLogoutAt: null,
        sessionRevoked: false,
      });
    });

    test('an entry whose stored expiry has passed is ignored on read, even while the key exists', async () => {
      const past = Date.now() - 1000;
      await r.command('SET', `${prefix}{frank}:u`, `${past - 5000}:${past}`);
      await r.command('SET', `${prefix}{frank}:s:old`, String(past));
      assert.deepEqual(await store().getState('frank', 'old', 0), { lastLogoutAt: null, sessionRevoked: false });
    });

    test('unreadable stored data fails closed: the check and the write reject, nothing is overwritten', async () => {
      await r.command('SET', `${prefix}{grace}:u`, 'yesterday');
      await r.command('SET', `${prefix}{grace}:s:x`, 'soon');
      const s = store();
      await assert.rejects(s.getState('grace', 'y', 0), /watermark key in Redis holds unreadable data/);
      await assert.rejects(s.getState('henry', 'x', 0).then(() => s.getState('grace', 'x', 0)));
      await assert.rejects(s.revokeUser('grace', new Date(), later()), /unreadable/);
      await assert.rejects(s.revokeSession('x', 'grace', later()), /unreadable/);
      assert.equal(await r.command('GET', `${prefix}{grace}:u`), 'yesterday');
    });

    test('waitReplicas: WAIT follows each write; too few replicas fail the call, the revocation stays', async () => {
      const { client, sent } = counting(r);
      const s = new RedisRevocationStore({
        client: client as never,
        prefix,
        waitReplicas: 1,
        waitTimeoutMs: 50,
        logger: quiet,
      });
      await s.init();
      sent.length = 0;
      await assert.rejects(s.revokeUser('ivan', new Date(), later()), /only 0 of 1 Redis replicas acknowledged/);
      assert.deepEqual(
        sent.map((c) => c[0]),
        ['EVAL', 'WAIT', 'EVAL', 'WAIT'],
        'the feed entry, then the revocation, each followed by WAIT',
      );
      assert.deepEqual(sent[1], ['WAIT', '1', '50']);
      assert.notEqual((await s.getState('ivan', 'sid', 0)).lastLogoutAt, null);
    });

    test('the session-lifetime bound: a hash <prefix>{feed}:lifetime, one EVAL in the first slot of the feed (WAIT with waitReplicas); a revocation in any part starts it at 400 days', async () => {
      const { client, sent } = counting(r);
      const fresh = (feedSlots: number, extra = {}) => {
        const at = randomPrefix(`lifetime-${driver}`);
        const s = new RedisRevocationStore({ client: client as never, prefix: at, feedSlots, logger: quiet, ...extra });
        return { s, key: feedKeys(at).lifetime };
      };
      // Nothing written: the lifetime declared, also with parts in other slots (looked at once, when created).
      const empty = fresh(8);
      await empty.s.init();
      sent.length = 0;
      const created = await empty.s.declareLifetime(HOUR, 'raise');
      assert.equal(created.lifetimeMs, HOUR);
      assert.equal(created.settledAt.getTime(), 0, 'a new bound is settled at 0');
      assert.ok(empty.key.endsWith('{feed}:lifetime'));
      assert.deepEqual(await r.command('HMGET', empty.key, 'lifetimeMs', 'raisedAt', 'settledAt'), [
        String(HOUR),
        String(created.raisedAt.getTime()),
        '0',
      ]);
      assert.equal(sent.filter((c) => c[0] === 'EXISTS').length, 7, 'the 7 other parts looked at');
      sent.length = 0;
      await empty.s.declareLifetime(2 * HOUR, 'raise');
      await empty.s.settleLifetime(created.raisedAt);
      assert.deepEqual(
        sent.map((c) => [c[0], c[3]]),
        [
          ['EVAL', empty.key],
          ['EVAL', empty.key],
        ],
        'once created, one EVAL per call',
      );
      // A revocation in part 0, or only in a part above it: 400 days.
      for (const part of [0, 5]) {
        const sub = Array.from({ length: 200 }, (_, i) => `life${i}`).find((u) => feedPartOf(u, 8) === part)!;
        const holding = fresh(8);
        await holding.s.revokeSession('sid', sub, later());
        const bound = await holding.s.declareLifetime(HOUR, 'raise');
        assert.equal(bound.lifetimeMs, 400 * 86_400_000 + 300_000, `a revocation in part ${part}`);
      }
      // With waitReplicas: each call followed by WAIT; too few replicas fail it, the change stays.
      const waiting = fresh(1, { waitReplicas: 1, waitTimeoutMs: 50 });
      await waiting.s.init();
      sent.length = 0;
      await assert.rejects(waiting.s.declareLifetime(HOUR, 'raise'), /only 0 of 1 Redis replicas acknowledged/);
      await assert.rejects(waiting.s.settleLifetime(new Date(5)), /only 0 of 1 Redis replicas acknowledged/);
      assert.deepEqual(
        sent.map((c) => c[0]),
        ['EVAL', 'WAIT', 'EVAL', 'WAIT'],
      );
      assert.deepEqual(await r.command('HMGET', waiting.key, 'lifetimeMs', 'settledAt'), [String(HOUR), '5']);
      // Unreadable stored data fails closed; bad arguments are ConfigErrors naming them.
      await r.command('HSET', empty.key, 'settledAt', 'soon');
      await assert.rejects(empty.s.declareLifetime(HOUR, 'raise'), /session-lifetime bound is unreadable/);
      await assert.rejects(empty.s.settleLifetime(new Date()), /session-lifetime bound is unreadable/);
      await assert.rejects(
        empty.s.declareLifetime(0, 'raise'),
        (e) => e instanceof ConfigError && e.option === 'lifetimeMs',
      );
      await assert.rejects(
        empty.s.declareLifetime(HOUR, 'lower' as never),
        (e) => e instanceof ConfigError && e.option === 'mode',
      );
    });

    test('paged feed reads go by (score, member): entries removed or moved before the position, at its very score, move nothing past it; one EVAL per part and page', async () => {
      const { client, sent } = counting(r);
      const paged = randomPrefix(`pages-${driver}`);
      const s = new RedisRevocationStore({ client: client as never, prefix: paged, logger: quiet });
      const keys = feedKeys(paged);
      const since = new Date(Date.now() - 1000);
      const end = later();
      for (let i = 0; i < 30; i++) await s.revokeSession(`sid-${i}`, `pager-${i}`, end); // one score in :exp
      const all = new Set((await s.readFeed(null, 1000)).changes.map((c) => JSON.stringify(c)));
      assert.equal(all.size, 30);
      for (const [from, set] of [
        [null, keys.exp],
        [since, keys.at],
      ] as const) {
        sent.length = 0;
        const first = await s.readFeed(from, 1000, { size: 4 });
        assert.deepEqual(
          sent.map((c) => c[0]),
          ['SET', 'GET', 'GET', 'EVAL'],
          'one round trip: the start, the count of parts and the page',
        );
        assert.equal(first.changes.length, 2, 'two sets (revocations, claims changes), 2 each');
        assert.ok(first.cursor !== undefined);
        // The two taken and three more go (as pruned), the next one moves to the end (as written again).
        const [taken, more] = [
          (await r.command('ZRANGE', set, '0', '1')) as string[],
          (await r.command('ZRANGE', set, '2', '5')) as string[],
        ];
        await r.command('ZREM', set, ...taken, ...more.slice(0, 3));
        await r.command('ZADD', set, String(Date.now() + 10 * HOUR), more[3]!);
        const gone = new Set([...taken, ...more.slice(0, 3)].map((m) => JSON.parse(m)[1] as string));
        const got = new Set(first.changes.map((c) => JSON.stringify(c)));
        for (let cursor: string | undefined = first.cursor; cursor !== undefined;) {
          const page = await s.readFeed(from, 1000, { size: 4, cursor });
          assert.ok(page.changes.length <= 4);
          for (const change of page.changes) got.add(JSON.stringify(change));
          cursor = page.cursor;
        }
        const missing = [...all].filter(
          (c) => !got.has(c) && !gone.has((JSON.parse(c) as { sessionId: string }).sessionId),
        );
        assert.deepEqual(missing, [], `nothing skipped (${from === null ? 'whole' : 'by time'})`);
        for (const member of [...taken, ...more.slice(0, 3)])
          await r.command('ZADD', set, String(from === null ? end.getTime() : Date.now()), member);
      }
      await assert.rejects(
        s.readFeed(since, 1000, {
          size: 4,
          cursor: (await s.readFeed(null, 1000, { size: 4 })).cursor!,
        }),
        (e) => e instanceof ConfigError && e.option === 'page.cursor' && e.message.includes('another `since`'),
      );
    });

    test('init warns once when persistence is off, and not about a client without an offline queue', async () => {
      const warnings: string[] = [];
      const s = new RedisRevocationStore({ client: r.client, prefix, logger: { warn: (m) => warnings.push(m) } });
      await s.init();
      await s.init();
      const config = async (name: string) => {
        const reply = await r.command('CONFIG', 'GET', name);
        return Array.isArray(reply) ? String(reply[1]) : String((reply as Record<string, unknown>)[name]);
      };
      const off = (await config('appendonly')) === 'no' && (await config('save')) === '';
      assert.equal(warnings.filter((w) => w.includes('persistence is off')).length, off ? 1 : 0);
      assert.equal(warnings.filter((w) => w.includes('offline')).length, 0);
    });

    test('bad arguments at call time are ConfigErrors naming the argument', async () => {
      const s = store();
      await assert.rejects(s.getState('', 'sid', 0), (e) => e instanceof ConfigError && e.option === 'sub');
      await assert.rejects(
        s.revokeUser('u', new Date(Number.NaN), later()),
        (e) => e instanceof ConfigError && e.option === 'at',
      );
      await assert.rejects(
        s.revokeSession('', 'u', later()),
        (e) => e instanceof ConfigError && e.option === 'sessionId',
      );
    });

    describe('device registry', () => {
      const session = (sub: string, sessionId: string, overrides: Partial<SessionRecord> = {}): SessionRecord => ({
        sessionId,
        sub,
        signedInAt: new Date(Date.now() - 1000),
        lastActiveAt: new Date(Date.now() - 1000),
        expiresAt: later(),
        userAgent: 'Mozilla/5.0 (X11) Test/1.0',
        ...overrides,
      });
      const near = (actual: number, expected: number, what: string) =>
        assert.ok(Math.abs(actual - expected) < 2000, `${what}: ${actual}, expected about ${expected}`);

      test('keys: a hash <prefix>{<sub>}:r of records and a sorted set :r:exp by expiresAt, both expiring with them', async () => {
        const s = store();
        const a = session('reg-alice', 'laptop', { userAgent: 'Agent | with | pipes' });
        const b = session('reg-alice', 'phone', { expiresAt: later(2 * HOUR) });
        delete b.userAgent;
        await s.registerSession(a);
        await s.registerSession(b);
        const hash = `${prefix}{reg-alice}:r`;
        const zset = `${prefix}{reg-alice}:r:exp`;
        const at = (r: SessionRecord) =>
          `${r.signedInAt.getTime()}|${r.lastActiveAt.getTime()}|${r.expiresAt.getTime()}`;
        assert.equal(await r.command('HGET', hash, 'laptop'), `${at(a)}|Agent | with | pipes`);
        assert.equal(await r.command('HGET', hash, 'phone'), at(b), 'no user agent: no fourth part');
        assert.equal(Number(await r.command('ZSCORE', zset, 'laptop')), a.expiresAt.getTime());
        assert.equal(Number(await r.command('ZSCORE', zset, 'phone')), b.expiresAt.getTime());
        for (const key of [hash, zset]) near(Number(await r.command('PTTL', key)), 2 * HOUR, `PTTL of ${key}`);
        assert.deepEqual(
          (await s.listSessions('reg-alice')).sort((x, y) => x.sessionId.localeCompare(y.sessionId)),
          [a, b],
        );
      });

      test("the registry's TTL rises to the latest expiresAt and is never shortened", async () => {
        const s = store();
        const hash = `${prefix}{reg-bob}:r`;
        const zset = `${prefix}{reg-bob}:r:exp`;
        await s.registerSession(session('reg-bob', 'one', { expiresAt: later(HOUR) }));
        near(Number(await r.command('PTTL', hash)), HOUR, 'first session');
        await s.registerSession(session('reg-bob', 'two', { expiresAt: later(3 * HOUR) }));
        near(Number(await r.command('PTTL', hash)), 3 * HOUR, 'raised');
        await s.registerSession(session('reg-bob', 'three', { expiresAt: later(10 * 60_000) }));
        await s.registerSession(session('reg-bob', 'two', { expiresAt: later(30 * 60_000) }));
        await s.touchSession('one', 'reg-bob', new Date());
        for (const key of [hash, zset]) near(Number(await r.command('PTTL', key)), 3 * HOUR, `not shortened: ${key}`);
      });

      test('each write prunes expired records, at most 1000 at a time; past 1,000 live sessions a new one is refused', async () => {
        const s = store();
        const hash = `${prefix}{reg-carol}:r`;
        const zset = `${prefix}{reg-carol}:r:exp`;
        const past = Date.now() - 60_000;
        const stale = Array.from({ length: 1200 }, (_, i) => `old-${i}`);
        await r.command('HSET', hash, ...stale.flatMap((sid) => [sid, `${past - HOUR}|${past - HOUR}|${past}`]));
        await r.command('ZADD', zset, ...stale.flatMap((sid) => [String(past), sid]));
        await s.registerSession(session('reg-carol', 'new-1'));
        assert.equal(Number(await r.command('HLEN', hash)), 201);
        assert.equal(Number(await r.command('ZCARD', zset)), 201);
        await s.registerSession(session('reg-carol', 'new-2'));
        assert.equal(Number(await r.command('HLEN', hash)), 2);
        assert.equal(Number(await r.command('ZCARD', zset)), 2);
        // Straight to the store (createSessionAuth's maxSessions ends sessions before this): a bound of its own,
        // which refuses rather than forgetting a session that still works.
        for (let i = 0; i < 998; i++) await s.registerSession(session('reg-carol', `live-${i}`));
        await assert.rejects(s.registerSession(session('reg-carol', 'one-too-many')), /1000 live registered sessions/);
        await s.registerSession(session('reg-carol', 'live-0', { userAgent: 'replaced' })); // a replacement is fine
        const listed = await s.listSessions('reg-carol');
        assert.equal(listed.length, 1000);
        assert.ok(!listed.some((x) => x.sessionId === 'one-too-many'));
        assert.ok(
          listed.some((x) => x.sessionId === 'new-1'),
          'nothing that still works was dropped',
        );
      });

      test('an expired registration leaves no key behind; touching a missing record creates none', async () => {
        const s = store();
        await s.registerSession(session('reg-dan', 'gone', { expiresAt: new Date(Date.now() - 1000) }));
        await s.touchSession('never-registered', 'reg-erin', new Date());
        for (const key of ['{reg-dan}:r', '{reg-dan}:r:exp', '{reg-erin}:r', '{reg-erin}:r:exp'])
          assert.equal(Number(await r.command('EXISTS', `${prefix}${key}`)), 0, key);
        assert.deepEqual(await s.listSessions('reg-dan'), []);
      });

      test('listSessions ignores a watermark past its relevantUntil, as the checks do', async () => {
        const s = store();
        const past = Date.now() - 1000;
        await r.command('SET', `${prefix}{reg-fay}:u`, `${past}:${past}`);
        const a = session('reg-fay', 'old', { signedInAt: new Date(past - 5000) });
        await s.registerSession(a);
        assert.equal((await s.getState('reg-fay', 'old', 0)).lastLogoutAt, null);
        assert.deepEqual(await s.listSessions('reg-fay'), [a]);
      });

      test("each registry call is one EVAL on keys of the user's hash tag, without WAIT, KEYS or SCAN", async () => {
        const { client, sent } = counting(r);
        const s = new RedisRevocationStore({
          client: client as never,
          prefix,
          waitReplicas: 1,
          waitTimeoutMs: 50,
          logger: quiet,
        });
        const sub = 'tenant:{7}';
        const tag = encodeURIComponent(sub);
        await s.registerSession(session(sub, 'sid-1'));
        await s.touchSession('sid-1', sub, new Date());
        const listed = await s.listSessions(sub);
        assert.equal(listed.length, 1);
        assert.deepEqual(
          sent.map((c) => c[0]),
          ['EVAL', 'EVAL', 'EVAL'],
        );
        const keysOf = (command: string[]) => command.slice(3, 3 + Number(command[2]));
        assert.deepEqual(keysOf(sent[0] ?? []), [`${prefix}{${tag}}:r`, `${prefix}{${tag}}:r:exp`]);
        assert.deepEqual(keysOf(sent[1] ?? []), [`${prefix}{${tag}}:r`]);
        assert.deepEqual(keysOf(sent[2] ?? []), [
          `${prefix}{${tag}}:r`,
          `${prefix}{${tag}}:r:exp`,
          `${prefix}{${tag}}:u`,
        ]);
        assert.equal(sent[2]?.at(-1), `${prefix}{${tag}}:s:`, 'the session keys the script reads share the tag');
        for (const command of sent) for (const key of keysOf(command)) assert.equal(hashTagOf(key), tag);
        assert.ok(!sent.flat().some((a) => /^(KEYS|SCAN|WAIT)$/i.test(a)));
      });

      test('unreadable registry data fails closed: listing and touching reject', async () => {
        const s = store();
        await r.command('HSET', `${prefix}{reg-gus}:r`, 'bad', 'yesterday');
        await r.command('ZADD', `${prefix}{reg-gus}:r:exp`, String(Date.now() + HOUR), 'bad');
        await assert.rejects(s.listSessions('reg-gus'), /unreadable/);
        await assert.rejects(s.touchSession('bad', 'reg-gus', new Date()), /unreadable/);
        await s.registerSession(session('reg-hal', 'sid'));
        await r.command('SET', `${prefix}{reg-hal}:s:sid`, 'soon');
        await assert.rejects(s.listSessions('reg-hal'), /unreadable/);
      });

      test('bad records are ConfigErrors naming the field', async () => {
        const s = store();
        await assert.rejects(
          s.registerSession(session('u', '')),
          (e) => e instanceof ConfigError && e.option === 'record.sessionId',
        );
        await assert.rejects(
          s.registerSession(session('u', 'sid', { expiresAt: new Date(Number.NaN) })),
          (e) => e instanceof ConfigError && e.option === 'record.expiresAt',
        );
        await assert.rejects(s.listSessions(''), (e) => e instanceof ConfigError && e.option === 'sub');
      });
    });
  });
}

describe('RedisRevocationStore options', () => {
  let r: TestRedisClient;
  before(async () => {
    r = await connectDriver('node-redis');
  });
  after(async () => {
    await r.close();
  });

  const cases: [string, () => unknown, string, RegExp][] = [
    ['no client', () => ({}), 'client', /`client` must be a node-redis client/],
    ['not a client', () => ({ client: { get: () => 1 } }), 'client', /or an ioredis client/],
    ['a prefix with a brace', () => ({ client: r.client, prefix: 'app{1}:' }), 'prefix', /must not contain `\{`/],
    ['negative waitReplicas', () => ({ client: r.client, waitReplicas: -1 }), 'waitReplicas', /waitReplicas/],
    [
      'waitTimeoutMs 0 (WAIT forever)',
      () => ({ client: r.client, waitTimeoutMs: 0 }),
      'waitTimeoutMs',
      /waitTimeoutMs/,
    ],
    [
      'waitTimeoutMs past commandTimeoutMs',
      () => ({ client: r.client, waitReplicas: 1, waitTimeoutMs: 5000, commandTimeoutMs: 1000 }),
      'waitTimeoutMs',
      /shorter than `commandTimeoutMs`/,
    ],
    ['feedSlots 0', () => ({ client: r.client, feedSlots: 0 }), 'feedSlots', /feedSlots/],
    ['feedSlots 65', () => ({ client: r.client, feedSlots: 65 }), 'feedSlots', /feedSlots/],
    ['a typo', () => ({ client: r.client, prefx: 'a:' }), '', /unknown option `prefx` \(did you mean `prefix`\?\)/],
    ['a bad logger', () => ({ client: r.client, logger: {} }), 'logger', /warn\(message\)/],
  ];
  for (const [name, options, option, message] of cases) {
    test(`${name}: ConfigError naming \`${option || 'the unknown key'}\``, () => {
      assert.throws(
        () => new RedisRevocationStore(options() as never),
        (e) => e instanceof ConfigError && e.option === option && message.test(e.message),
      );
    });
  }

  test('a client that queues commands offline gets a warning at init', async () => {
    const { createClient } = await import('redis');
    const client = createClient({ url: process.env.REDIS_URL });
    client.on('error', () => {});
    await client.connect();
    try {
      const warnings: string[] = [];
      await new RedisRevocationStore({ client, logger: { warn: (m) => warnings.push(m) } }).init();
      assert.equal(warnings.filter((w) => w.includes('disableOfflineQueue: true')).length, 1);
    } finally {
      client.destroy();
    }
  });
});

test('an ioredis client with a keyPrefix is refused (scripts build key names it would not prefix)', () => {
  const client = { call: () => Promise.resolve(null), isCluster: false, options: { keyPrefix: 'app1:' } };
  assert.throws(
    () => new RedisRevocationStore({ client, logger: quiet }),
    (e: unknown) => e instanceof ConfigError && e.option === 'client' && e.message.includes('keyPrefix'),
  );
});
