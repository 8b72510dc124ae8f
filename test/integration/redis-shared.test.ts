// Two app instances on one Redis, one with node-redis and one with ioredis: a logout on either is seen by
// the other on the very next request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createSessionAuth } from '../../lib/index.js';
import { RedisRevocationStore } from '../../lib/redis.js';
import { buildApp, cookieFrom, EXPRESS_VERSIONS, testSecret } from '../support/apps.js';
import { connectDriver, randomPrefix, type TestRedisClient } from '../support/redis-clients.js';

const code = (res: request.Response) => (res.body as { error?: { code?: string } }).error?.code;

describe('two app instances, one Redis (node-redis and ioredis)', () => {
  const prefix = randomPrefix('shared');
  const secret = testSecret();
  let clients: TestRedisClient[];
  let auths: ReturnType<typeof createSessionAuth>[];
  let apps: [ReturnType<typeof buildApp>, ReturnType<typeof buildApp>];

  before(async () => {
    clients = [await connectDriver('node-redis'), await connectDriver('ioredis')];
    const quiet = { warn: () => {} };
    auths = clients.map((c) =>
      createSessionAuth({
        secret,
        store: new RedisRevocationStore({ client: c.client, prefix, logger: quiet }),
        cookie: { secure: false },
        logger: quiet,
      }),
    );
    await Promise.all(auths.map((a) => a.ready));
    apps = [buildApp(EXPRESS_VERSIONS[0].express, auths[0]!), buildApp(EXPRESS_VERSIONS[1].express, auths[1]!)];
  });
  after(async () => {
    for (const c of clients) await c.close();
  });

  const login = async (app: ReturnType<typeof buildApp>, sub: string) =>
    cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);

  test('a device logged out on instance B is rejected by instance A at once; other devices keep working', async () => {
    const [a, b] = apps;
    const phone = await login(a, 'alice');
    const laptop = await login(b, 'alice');
    assert.equal((await request(a).get('/me').set('Cookie', phone)).status, 200);
    assert.equal((await request(b).post('/logout').set('Cookie', phone)).status, 204);
    assert.equal(code(await request(a).get('/me').set('Cookie', phone)), 'session_revoked');
    assert.equal((await request(a).get('/me').set('Cookie', laptop)).status, 200);
  });

  test('logoutAll on A logs out devices checked by B; a login right after is accepted by both', async () => {
    const [a, b] = apps;
    const devices = [await login(a, 'bob'), await login(b, 'bob')];
    assert.equal((await request(a).post('/logout-all').set('Cookie', devices[0]!)).status, 204);
    for (const device of devices) {
      assert.equal(code(await request(b).get('/me').set('Cookie', device)), 'logged_out_everywhere');
      assert.equal(code(await request(a).get('/me').set('Cookie', device)), 'logged_out_everywhere');
    }
    const fresh = await login(a, 'bob');
    assert.equal((await request(b).get('/me').set('Cookie', fresh)).status, 200);
  });

  test('concurrent logoutAlls on both instances never move the watermark backwards', async () => {
    const stamps: Date[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        stamps.push(await auths[i % 2]!.revokeUser('dave'));
      }),
    );
    const stored = String(await clients[0]!.command('GET', `${prefix}{dave}:u`));
    assert.equal(Number(stored.split(':')[0]), Math.max(...stamps.map((d) => d.getTime())));
  });

  test('the revoked session key expires with the session plus the largest clock tolerance (300 s)', async () => {
    const [a] = apps;
    const res = await request(a).post('/login').send({ sub: 'erin' });
    const { sessionId } = res.body as { sessionId: string };
    await request(a).post('/logout').set('Cookie', cookieFrom(res.headers['set-cookie']));
    const payload = JSON.parse(
      Buffer.from(cookieFrom(res.headers['set-cookie']).split('.')[1] ?? '', 'base64url').toString(),
    ) as { sxp: number };
    const key = `${prefix}{erin}:s:${sessionId}`;
    assert.equal(Number(await clients[1]!.command('GET', key)), payload.sxp + 300_000);
    const pttl = Number(await clients[1]!.command('PTTL', key));
    assert.ok(Math.abs(pttl - (payload.sxp + 300_000 - Date.now())) < 5000, `PTTL ${pttl}`);
  });
});
