// maxRevocationDelay on a real database: two instances keep every revocation in memory (the store's change
// feed), answer checks without reading the revocation state, and see each other's logouts within the bound.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { buildApp, cookieFrom, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { createTestDb, mongoUri, type TestDb } from '../support/db.js';

/** Long enough that a slow read of the feed, under the load of the other tests, cannot leave the copy too old. */
const DELAY_MS = 1000;
/** What a read of the feed and a request may add to the bound on a loaded test machine. */
const SLACK_MS = 1000;
const STATE_COLLECTIONS = new Set(['users', 'revocation_users', 'revoked_sessions']);

describe('maxRevocationDelay: two instances on one database, every revocation in memory', () => {
  let t: TestDb;
  let otherClient: MongoClient;
  let apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];
  const commandsOfB: CommandStartedEvent[] = [];
  const secret = testSecret();
  const quiet = { warn: () => undefined };

  before(async () => {
    t = await createTestDb('bounded_delay');
    // The feed began a minute ago (sessions signed in before its start would be checked per user instead).
    await t.db
      .collection<{ _id: string; startedAt: Date }>('revocation_log')
      .insertOne({ _id: 'started', startedAt: new Date(Date.now() - 60_000) });
    otherClient = new MongoClient(mongoUri(), { monitorCommands: true });
    otherClient.on('commandStarted', (event) => commandsOfB.push(event));
    const auths = [t.client, otherClient].map((client) =>
      createSessionAuth({
        secret,
        store: new MongoRevocationStore({ client, dbName: t.dbName, logger: quiet }),
        cookie: { secure: false },
        logger: quiet,
        maxRevocationDelay: DELAY_MS,
      }),
    );
    await Promise.all(auths.map((a) => a.ready));
    apps = [buildApp(EXPRESS_VERSIONS[0].express, auths[0]!), buildApp(EXPRESS_VERSIONS[1].express, auths[1]!)];
  });
  after(async () => {
    await otherClient.close();
    await t.cleanup();
  });

  const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
    cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
  const me = async (app: ReturnType<typeof buildApp>, cookie: string) =>
    (await request(app).get('/me').set('Cookie', cookie)).status;

  /** Asks `app` with `cookie` until refused: ms from `since` to the last answer that still accepted it. */
  async function lastAcceptedAfter(app: ReturnType<typeof buildApp>, cookie: string, since: number) {
    let last = 0;
    for (;;) {
      const status = await me(app, cookie);
      const at = performance.now();
      if (status === 401) return last;
      assert.equal(status, 200);
      last = at - since;
      assert.ok(last < DELAY_MS + SLACK_MS, `still accepted ${Math.round(last)} ms after the logout`);
    }
  }

  test('instance B answers checks of many users without reading their revocation state', async () => {
    const [a, b] = apps;
    const cookies = [];
    for (let i = 0; i < 10; i++) cookies.push(await login(a, `user-${i}`));
    commandsOfB.length = 0;
    for (const cookie of cookies) assert.equal(await me(b, cookie), 200);
    const stateReads = commandsOfB.filter(
      (e) => e.commandName === 'find' && STATE_COLLECTIONS.has(String(e.command.find)),
    );
    assert.deepEqual(
      stateReads.map((e) => String(e.command.find)),
      [],
      'no read of users, revocation_users or revoked_sessions',
    );
  });

  test('a logout on A: refused by A at once, by B within the delay (plus a read)', async () => {
    const [a, b] = apps;
    const phone = await login(a, 'alice');
    const laptop = await login(b, 'alice');
    assert.equal(await me(b, phone), 200);
    assert.equal((await request(a).post('/logout').set('Cookie', phone)).status, 204);
    const loggedOut = performance.now();
    assert.equal(await me(a, phone), 401);
    const delay = await lastAcceptedAfter(b, phone, loggedOut);
    assert.ok(delay <= DELAY_MS + SLACK_MS, `${delay} ms`);
    assert.equal(await me(b, laptop), 200, 'the other device is not affected');
  });

  test('a logoutAll on B: refused by B at once, by A within the delay (plus a read), for every device', async () => {
    const [a, b] = apps;
    const phone = await login(a, 'bob');
    const laptop = await login(a, 'bob');
    assert.equal(await me(a, laptop), 200);
    assert.equal((await request(b).post('/logout-all').set('Cookie', phone)).status, 204);
    const loggedOut = performance.now();
    assert.equal(await me(b, laptop), 401);
    await lastAcceptedAfter(a, laptop, loggedOut);
    assert.equal(await me(a, phone), 401);
    const again = await login(a, 'bob');
    assert.equal(await me(b, again), 200, 'a sign-in after the logout is accepted by both');
    assert.equal(await me(a, again), 200);
  });
});
