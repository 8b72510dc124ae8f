// The database going away mid-run: protected routes answer 503, public ones keep working, and service
// resumes by itself once the database is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { startFerretDb, type FerretDbServer } from '../ferretdb/launcher.js';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { mongoUri } from '../support/db.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually } from '../support/eventually.js';

// Long enough for a loaded 2-core machine (browser tests and `npm pack` run beside this file), short enough
// that "no hang" below means something.
const STORE_TIMEOUT_MS = 1500;

function outageApp(uri: string, dbName: string) {
  const warnings: string[] = [];
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  const store = new MongoRevocationStore({ client, dbName, logger: { warn: () => {} } });
  const auth = createSessionAuth({
    secret: testSecret(),
    store,
    cookie: { secure: false },
    storeTimeoutMs: STORE_TIMEOUT_MS,
    logger: { warn: (m) => warnings.push(m) },
  });
  /** Connects, creates the index and the database, outside any request timeout: the test is about the outage. */
  const warmUp = async () => {
    await client.connect();
    await store.init();
    await store.revokeSession('warm-up-session-00000', 'warm-up', new Date(Date.now() + 60_000));
    await store.revokeUser('warm-up', new Date(), new Date(Date.now() + 60_000));
    await store.getState('warm-up', 'warm-up-session-00000', Date.now());
  };
  const dropDatabase = () => client.db(dbName).dropDatabase();
  return { app: buildApp(EXPRESS_VERSIONS[0].express, auth), client, warnings, warmUp, dropDatabase };
}

const uniqueDbName = (label: string) => `t_outage_${label}_${randomBytes(4).toString('hex')}`;

async function runOutage(
  app: ReturnType<typeof buildApp>,
  goDown: () => Promise<void>,
  comeBack: () => Promise<void>,
  warnings: string[],
) {
  const cookie = cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
  const revoked = cookieFrom((await request(app).post('/login').send({ sub: 'alice' })).headers['set-cookie']);
  assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
  assert.equal((await request(app).post('/logout').set('Cookie', revoked)).status, 204);

  await goDown();
  const started = Date.now();
  const down = await request(app).get('/me').set('Cookie', cookie);
  assert.equal(down.status, 503);
  assert.equal(errorCode(down), 'revocation_unavailable');
  assert.ok(Date.now() - started < STORE_TIMEOUT_MS + 5000, 'answered about when the store timed out, no hang');
  assert.equal(
    errorCode(await request(app).get('/me').set('Cookie', revoked)),
    'revocation_unavailable',
    'a revoked session is not let through',
  );
  assert.equal((await request(app).get('/public').set('Cookie', cookie)).status, 200);
  assert.equal((await request(app).get('/public')).status, 200);

  await comeBack();
  // eventually() throws if the app has not recovered within 30 s.
  await eventually(async () => (await request(app).get('/me').set('Cookie', cookie)).status === 200, 30_000);
  assert.equal(
    errorCode(await request(app).get('/me').set('Cookie', revoked)),
    'session_revoked',
    'revocations made before the outage still hold',
  );
  assert.ok(warnings.some((w) => w.includes('protected routes answer 503')));
  assert.ok(warnings.some((w) => w.includes('service resumed')));
}

describe('database outage through a cut connection (any server)', () => {
  let proxy: TcpProxy;
  let ctx: ReturnType<typeof outageApp>;
  before(async () => {
    const target = new URL(mongoUri().replace(/^mongodb:/, 'http:'));
    proxy = await startTcpProxy(target.hostname, Number(target.port || 27017));
    ctx = outageApp(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, uniqueDbName('proxy'));
    await ctx.warmUp();
  });
  after(async () => {
    await ctx.dropDatabase().catch(() => undefined);
    await ctx.client.close();
    await proxy.close();
  });

  test('503 while cut, public routes work, recovery by itself', async () => {
    await runOutage(
      ctx.app,
      () => proxy.cut(),
      () => proxy.restore(),
      ctx.warnings,
    );
  });
});

// A FerretDB process of its own (whatever MONGODB_URI points to), stopped and started again: the database
// really goes away, not only the connection.
describe('database outage: the FerretDB process stopped and started again', () => {
  let server: FerretDbServer;
  let ctx: ReturnType<typeof outageApp>;
  before(async () => {
    server = await startFerretDb();
    ctx = outageApp(server.uri, uniqueDbName('stop'));
    await ctx.warmUp();
  });
  after(async () => {
    await ctx.client.close();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true }); // the restarted server was given the folder
  });

  test('503 while stopped, public routes work, recovery by itself after restart', async () => {
    const { port, dataDir } = server;
    await runOutage(
      ctx.app,
      () => server.stop({ keepData: true }),
      async () => {
        server = await startFerretDb({ port, dataDir });
      },
      ctx.warnings,
    );
  });
});
