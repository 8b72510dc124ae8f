// Scale that does not depend on the test server: every read MongoRevocationStore sends on the hot path, seen
// through the driver's command monitoring, is a `find` on `_id` alone (equality or `$in`) with a projection and
// no sort, skip or other filter field, i.e. a query any MongoDB serves from the `_id` index whatever the size.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type CommandStartedEvent, type Document } from 'mongodb';
import { MongoRevocationStore } from '../../../lib/mongodb.js';
import { createTestDb, mongoUri, type TestDb } from '../../support/db.js';

const SETUP_COMMANDS = new Set(['buildInfo', 'createIndexes', 'hello', 'isMaster', 'ping', 'endSessions']);

describe('MongoRevocationStore: the shape of hot-path reads (command monitoring)', () => {
  let testDb: TestDb;
  let client: MongoClient;
  let store: MongoRevocationStore;
  const events: CommandStartedEvent[] = [];

  before(async () => {
    testDb = await createTestDb('read_shape');
    client = new MongoClient(mongoUri(), { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
    client.on('commandStarted', (event) => events.push(event));
    await client.connect();
    store = new MongoRevocationStore({ client, dbName: testDb.dbName, logger: { warn: () => undefined } });
    await store.init();
  });

  after(async () => {
    await client.close();
    await testDb.cleanup();
  });

  /** The commands `run` sends, setup and monitoring commands left out. */
  async function commandsOf(run: () => Promise<unknown>): Promise<CommandStartedEvent[]> {
    events.length = 0;
    await run();
    return events.filter((e) => !SETUP_COMMANDS.has(e.commandName));
  }

  function assertIdFind(event: CommandStartedEvent): void {
    const { command } = event;
    assert.equal(event.commandName, 'find', `a read is a find, got ${event.commandName}`);
    const filter = command.filter as Document;
    assert.deepEqual(Object.keys(filter), ['_id'], `filter on _id alone: ${JSON.stringify(filter)}`);
    const id: unknown = filter._id;
    if (typeof id === 'object' && id !== null && !(id instanceof Date)) {
      assert.deepEqual(Object.keys(id), ['$in'], `_id by equality or $in: ${JSON.stringify(id)}`);
      assert.ok(Array.isArray((id as { $in: unknown }).$in));
    }
    assert.equal(typeof command.projection, 'object', 'with a projection');
    assert.ok(command.projection !== null && Object.keys(command.projection as Document).length > 0);
    for (const field of ['sort', 'skip', 'hint', 'min', 'max', 'collation'])
      assert.equal(command[field], undefined, `no ${field}`);
  }

  const now = Date.now();
  const sid = (n: number) => `session-${String(n).padStart(12, '0')}`;

  test('the common case (no logout of the user since the token): one find by _id', async () => {
    const commands = await commandsOf(() => store.getState('fresh-user', sid(1), now));
    assert.equal(commands.length, 1);
    commands.forEach(assertIdFind);
  });

  test('a user with a logout-everywhere watermark: still one find by _id', async () => {
    await store.revokeUser('watermarked', new Date(now - 1000), new Date(now + 3_600_000));
    const commands = await commandsOf(() => store.getState('watermarked', sid(2), now));
    assert.equal(commands.length, 1);
    commands.forEach(assertIdFind);
  });

  test('after a device logout: the user, then the revoked session, each a find by _id', async () => {
    await store.revokeSession(sid(3), 'device-user', new Date(now + 3_600_000));
    const commands = await commandsOf(() => store.getState('device-user', sid(4), now - 60_000));
    assert.equal(commands.length, 2);
    commands.forEach(assertIdFind);
  });

  test('batched checks: $in on _id, for users and for suspect sessions alike', async () => {
    await store.revokeSession(sid(5), 'batch-0', new Date(now + 3_600_000));
    await store.revokeSession(sid(6), 'batch-1', new Date(now + 3_600_000));
    const commands = await commandsOf(() =>
      Promise.all(Array.from({ length: 20 }, (_, i) => store.getState(`batch-${i}`, sid(100 + i), now - 60_000))),
    );
    assert.ok(commands.length >= 2, `${commands.length} commands`);
    commands.forEach(assertIdFind);
    assert.ok(
      commands.some((e) => typeof (e.command.filter as Document)._id === 'object'),
      'concurrent checks were batched with $in',
    );
  });

  test('the change feed (maxRevocationDelay): a find on indexed fields ($or of revocations and claims changes), with a projection and a limit', async () => {
    await store.revokeUser('feed-user', new Date(now - 1000), new Date(now + 3_600_000));
    const since = new Date(now - 60_000);
    const commands = await commandsOf(async () => {
      await store.readFeed(null, 1000);
      await store.readFeed(since, 1000);
    });
    const finds = commands.filter((e) => (e.command.filter as Document)._id === undefined);
    const fieldsOf = (event: CommandStartedEvent) =>
      ((event.command.filter as { $or: Document[] }).$or ?? []).map((branch) => Object.keys(branch).join(','));
    assert.deepEqual(
      finds.map(fieldsOf),
      [
        ['exp', 'cexp'],
        ['at', 'cat'],
      ],
      'the full read filters on the ends, the next ones on the write times',
    );
    const indexes = await client.db(testDb.dbName).collection('revocation_feed').listIndexes().toArray();
    const indexed = new Set(indexes.map((i) => Object.keys(i.key as Document).join(',')));
    for (const event of finds) {
      for (const field of fieldsOf(event))
        assert.ok(indexed.has(field), `an index on ${field}: ${[...indexed].join(' ')}`);
      assert.ok(Object.keys(event.command.projection as Document).length > 0, 'with a projection');
      assert.equal(event.command.limit, 1000, 'with the limit');
      for (const option of ['sort', 'skip']) assert.equal(event.command[option], undefined, `no ${option}`);
    }
  });

  test('paged feed reads: per kind, a find sorted by an index (date, _id), limited, from the position by a rooted $or', async () => {
    for (let i = 0; i < 5; i++)
      await store.revokeUser(`paged-user-${i}`, new Date(now - 1000), new Date(now + 3_600_000));
    const indexes = await client.db(testDb.dbName).collection('revocation_feed').listIndexes().toArray();
    const indexed = new Set(indexes.map((i) => Object.keys(i.key as Document).join(',')));
    for (const since of [null, new Date(now - 60_000)]) {
      const commands = await commandsOf(async () => {
        let page = await store.readFeed(since, 1000, { size: 2 });
        for (let n = 0; page.cursor !== undefined && n < 2; n++)
          page = await store.readFeed(since, 1000, { size: 2, cursor: page.cursor });
      });
      const finds = commands.filter((e) => e.commandName === 'find');
      assert.ok(finds.length >= 4, `${finds.length} finds`);
      for (const { command } of finds) {
        const sort = (command.sort instanceof Map ? Object.fromEntries(command.sort) : command.sort) as Document;
        const [field, id] = Object.keys(sort);
        assert.equal(id, '_id', `sorted by a date then _id: ${JSON.stringify(sort)}`);
        assert.deepEqual(Object.values(sort), [1, 1]);
        assert.ok(indexed.has(`${field},_id`), `an index on ${field},_id: ${[...indexed].join(' ')}`);
        const filter = command.filter as Document;
        const branches = (filter.$or as Document[] | undefined) ?? [filter];
        for (const branch of branches) assert.equal(Object.keys(branch)[0], field, JSON.stringify(filter));
        assert.ok([2, 3].includes(command.limit as number), `a share of the page and one more: ${command.limit}`);
        assert.equal(command.skip, undefined, 'no skip');
      }
      assert.ok(
        finds.some((e) => Array.isArray((e.command.filter as Document).$or)),
        'a page after the first continues with $or',
      );
    }
  });
});
