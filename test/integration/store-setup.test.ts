// A store's start-up: what it warns about (through the instance's logger), a client that is not connected yet,
// and a setup or feed that never answers. Dedicated redis-servers where a test needs settings of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  createRevocation,
  createSessionAuth,
  MemoryRevocationStore,
  type FeedPage,
  type RevocationStore,
} from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { testSecret } from '../support/apps.js';
import { createTestDb, type TestDb } from '../support/db.js';
import { connectIoredis, randomPrefix } from '../support/redis-clients.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

function recording() {
  const lines: string[] = [];
  return { lines, logger: { warn: (m: string) => void lines.push(m) } };
}

describe('Redis: warnings about data Redis may lose', () => {
  const servers: RedisServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });
  const warningsOn = async (args: string[]) => {
    const server = await startRedisServer({ persistent: true, args });
    servers.push(server);
    const client = await connectIoredis(server.url);
    const { lines, logger } = recording();
    const auth = createSessionAuth({ secret: testSecret(), store: new RedisRevocationStore({ client }), logger });
    await auth.ready;
    client.disconnect();
    return lines;
  };

  for (const policy of ['allkeys-lru', 'volatile-lru', 'volatile-ttl']) {
    test(`maxmemory-policy ${policy} can evict revocations: a warning at startup names it and the fix`, async () => {
      const lines = await warningsOn(['--maxmemory', '100mb', '--maxmemory-policy', policy]);
      assert.deepEqual(
        lines.filter((l) => l.includes('maxmemory-policy')),
        [
          `express-revocable-jwt: Redis evicts keys under memory pressure (maxmemory-policy ${policy}): an evicted revocation lets a logged-out cookie work again. Use \`maxmemory-policy noeviction\` for the revocation data (a full Redis then refuses writes: logouts answer 503 instead of being forgotten).`,
        ],
      );
    });
  }

  test('noeviction with AOF: no warning; CONFIG refused: not checked, and setup still succeeds', async () => {
    assert.deepEqual(await warningsOn(['--maxmemory-policy', 'noeviction']), []);
    assert.deepEqual(await warningsOn(['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '']), []);
  });
});

describe('a store created without a logger warns through the logger of the instance that uses it', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb('store_logger');
  });
  after(async () => {
    await db.cleanup();
  });

  test('RedisRevocationStore under createRevocation({ logger }) (persistence off on the test server)', async (t) => {
    const server = await startRedisServer(); // persistence off
    t.after(() => server.stop());
    const client = await connectIoredis(server.url);
    t.after(() => client.disconnect());
    const { lines, logger } = recording();
    const onConsole = t.mock.method(console, 'warn', () => undefined);
    const revocation = createRevocation({ store: new RedisRevocationStore({ client }), logger });
    await revocation.ready;
    assert.equal(lines.filter((l) => l.includes('persistence is off')).length, 1, lines.join('\n'));
    assert.equal(onConsole.mock.callCount(), 0, 'nothing went to console');
  });

  test("MongoRevocationStore under createSessionAuth({ logger }); a store's own logger wins", async (t) => {
    const { lines, logger } = recording();
    const onConsole = t.mock.method(console, 'warn', () => undefined);
    const auth = createSessionAuth({ secret: testSecret(), store: new MongoRevocationStore({ db: db.db }), logger });
    await auth.ready;
    await auth.revokeSession('session-0123456789abcdef', { sub: 'alice' }).catch(() => undefined);
    const own = recording();
    const withOwn = createSessionAuth({
      secret: testSecret(),
      store: new MongoRevocationStore({ db: db.db, sessionsCollection: 'own_logger', logger: own.logger }),
      logger,
    });
    await withOwn.ready;
    // FerretDB refuses TTL indexes: one warning from each store, each through its own logger. MongoDB creates
    // them: no warning at all. Either way, nothing on console.
    const refusesTtl = own.lines.some((l) => l.includes('TTL'));
    assert.equal(lines.filter((l) => l.includes('TTL')).length, refusesTtl ? 1 : 0, lines.join('\n'));
    assert.equal(own.lines.filter((l) => l.includes('TTL')).length, refusesTtl ? 1 : 0, own.lines.join('\n'));
    assert.equal(onConsole.mock.callCount(), 0, 'nothing went to console');
  });
});

describe('a Redis client used before it is connected', () => {
  test('setup fails at startup, is retried by the next write once the client is ready, and marks the feed start', async (t) => {
    const server = await startRedisServer({ persistent: true });
    t.after(() => server.stop());
    const client = new Redis(server.url, { enableOfflineQueue: false }); // connecting, not ready yet
    client.on('error', () => undefined);
    t.after(() => client.disconnect());
    const prefix = randomPrefix('not-ready');
    const { lines, logger } = recording();
    const auth = createSessionAuth({
      secret: testSecret(),
      store: new RedisRevocationStore({ client, prefix }),
      logger,
    });
    await auth.ready;
    assert.match(
      lines.join('\n'),
      /store setup failed \(Stream isn't writeable.*\); it is retried on the next write\./,
    );
    await new Promise((resolve) => client.once('ready', resolve));
    assert.equal(await client.get(`${prefix}{feed}:start`), null, 'not marked yet');
    await auth.revokeUser('alice'); // the first revocation once the client is ready works
    for (let i = 0; i < 50 && (await client.get(`${prefix}{feed}:start`)) === null; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.match(String(await client.get(`${prefix}{feed}:start`)), /^\d+$/, 'the retried setup marked the start');
  });
});

describe('setup and feed reads that never answer are bounded by storeTimeoutMs', () => {
  const hanging = (): RevocationStore => {
    const inner = new MemoryRevocationStore();
    return {
      getState: (sub, sessionId) => inner.getState(sub, sessionId),
      revokeUser: (...args) => inner.revokeUser(...args),
      revokeSession: (...args) => inner.revokeSession(...args),
      init: () => new Promise<void>(() => undefined),
      readFeed: () => new Promise<FeedPage>(() => undefined),
    };
  };

  for (const factory of ['createSessionAuth', 'createRevocation'] as const) {
    test(`${factory}: ready settles after about storeTimeoutMs, and says so`, async () => {
      const { lines, logger } = recording();
      const options = { store: hanging(), logger, storeTimeoutMs: 150, maxRevocationDelay: '1s' };
      const started = performance.now();
      const instance =
        factory === 'createSessionAuth'
          ? createSessionAuth({ ...options, secret: testSecret() })
          : createRevocation(options);
      await instance.ready;
      const took = performance.now() - started;
      assert.ok(took >= 140 && took < 2000, `ready after ${took.toFixed(0)} ms`);
      assert.match(lines.join('\n'), /store setup failed \(it did not finish within 150 ms\)/);
      assert.match(
        lines.join('\n'),
        /reading the revocation feed failed \(no answer from the revocation feed within 150 ms\)/,
      );
    });
  }
});
