// The example app on its in-memory storage (what `npm start` falls back to when no database can start), over
// HTTP without a browser: roles and bans reach bob's sessions, and the bounded per-user event list.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MemoryRevocationStore, type SessionEvent } from 'express-revocable-jwt';
import { createExampleApp, type ExampleApp } from '../../example-app/app.js';
import { memoryEventLog } from '../../example-app/events.js';

const PASSWORD = `memory ${randomBytes(9).toString('base64url')}`;

describe('example app on in-memory storage', { timeout: 60_000 }, () => {
  let example: ExampleApp;
  let server: Server;
  let base = '';
  const log: string[] = [];

  before(async () => {
    example = await createExampleApp({
      storage: { kind: 'memory' },
      secret: randomBytes(32).toString('base64url'),
      cookieSecure: false,
      demoPassword: PASSWORD,
      log: (line) => log.push(line),
    });
    server = createServer(example.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await example?.close();
  });

  /** A same-origin form post, with `cookie` as the session. */
  function post(path: string, form: Record<string, string>, cookie?: string): Promise<Response> {
    return fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        origin: base,
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent':
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
        ...(cookie === undefined ? {} : { cookie: `session=${cookie}` }),
      },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
  }

  /** The session cookie a response sets, if any. */
  function setCookie(res: Response): string | undefined {
    const header = res.headers.getSetCookie().find((c) => c.startsWith('session='));
    const value = header?.slice('session='.length).split(';')[0];
    return value === '' ? undefined : value;
  }

  async function signIn(username: string): Promise<string> {
    const res = await post('/login', { username, password: PASSWORD });
    assert.equal(res.status, 303, `${username} signs in`);
    const cookie = setCookie(res);
    assert.ok(cookie);
    return cookie;
  }

  async function me(cookie: string): Promise<{ status: number; body: Record<string, unknown>; cookie?: string }> {
    const res = await fetch(`${base}/api/me`, { headers: { cookie: `session=${cookie}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, cookie: setCookie(res) };
  }

  test('alice administers bob: a new role on his next request, a ban on every session, the events listed', async () => {
    const alice = await signIn('alice');
    let bob1 = await signIn('bob');
    const bob2 = await signIn('bob');
    assert.equal((await me(bob1)).body.role, 'member');
    assert.equal((await me(alice)).body.role, 'admin');

    const admin = await fetch(`${base}/admin`, { headers: { cookie: `session=${alice}` } });
    assert.equal(admin.status, 200);
    assert.match(await admin.text(), /data-username="bob"[\s\S]*?data-testid="user-role">member</);
    assert.equal((await fetch(`${base}/admin`, { headers: { cookie: `session=${bob1}` } })).status, 403);

    const role = await post('/admin/role', { username: 'bob', role: 'editor' }, alice);
    assert.equal(role.headers.get('location'), '/admin?notice=role-changed');
    const reloaded = await me(bob1);
    assert.equal(reloaded.body.role, 'editor');
    assert.ok(reloaded.cookie !== undefined && reloaded.cookie !== bob1, 're-issued');
    bob1 = reloaded.cookie;

    const ban = await post('/admin/ban', { username: 'bob', banned: 'true' }, alice);
    assert.equal(ban.headers.get('location'), '/admin?notice=banned');
    for (const cookie of [bob1, bob2]) {
      const answer = await me(cookie);
      assert.equal(answer.status, 401);
      assert.equal((answer.body.error as { code?: string }).code, 'logged_out_everywhere');
    }
    assert.equal((await post('/login', { username: 'bob', password: PASSWORD })).status, 403, 'banned');

    const unban = await post('/admin/ban', { username: 'bob', banned: 'false' }, alice);
    assert.equal(unban.headers.get('location'), '/admin?notice=unbanned');
    const bob3 = await signIn('bob');
    assert.equal((await me(bob3)).body.role, 'editor');

    // Events reach the list just after the request that caused them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const page = await (await fetch(`${base}/`, { headers: { cookie: `session=${bob3}` } })).text();
    const types = [...page.matchAll(/data-testid="event"\s+data-type="([a-z_]+)"/g)].map((m) => m[1]);
    assert.equal(types[0], 'sign_in', page);
    for (const type of ['claims_changed', 'claims_refresh', 'logout_everywhere', 'revoked_token_presented'])
      assert.ok(types.includes(type), `${type} among ${types.join(', ')}`);
    assert.match(page, /Signed out everywhere: the account was banned/);
    assert.match(page, /data-testid="event-device">Chrome 140 on Linux</);
    assert.match(page, /data-testid="event-ip">127\.0\.0\.1</);
    for (const token of [alice, bob1, bob2, bob3]) assert.ok(!page.includes(token.split('.')[2]!), 'a token shown');
  });

  test('a ban whose refreshClaims fails: a 503 page says so, and sending it again signs the user out', async () => {
    const alice = await signIn('alice');
    await post('/admin/ban', { username: 'bob', banned: 'false' }, alice); // from the test before, if it ran
    const bob = await signIn('bob');
    const proto = MemoryRevocationStore.prototype;
    const original = Object.getOwnPropertyDescriptor(proto, 'markClaimsChanged') as PropertyDescriptor;
    proto.markClaimsChanged = () => {
      throw new Error('store down (simulated)');
    };
    let ban: Response;
    try {
      ban = await post('/admin/ban', { username: 'bob', banned: 'true' }, alice);
    } finally {
      Object.defineProperty(proto, 'markClaimsChanged', original);
    }
    assert.equal(ban.status, 503);
    const page = await ban.text();
    assert.match(page, /is saved, but their signed-in devices could not be told yet/);
    assert.match(page, /action="\/admin\/notify"[\s\S]*name="username" value="bob"/);
    assert.equal((await me(bob)).status, 200, 'not told yet');
    const retry = await post('/admin/notify', { username: 'bob' }, alice);
    assert.equal(retry.headers.get('location'), '/admin?notice=notified');
    assert.equal(((await me(bob)).body.error as { code?: string }).code, 'logged_out_everywhere');
    await post('/admin/ban', { username: 'bob', banned: 'false' }, alice);
  });

  test('the in-memory event list keeps the latest events of each user, and only the known fields', async () => {
    const events = memoryEventLog(3);
    const at = (ms: number) => new Date(1_700_000_000_000 + ms);
    for (let i = 0; i < 5; i++) await events.record({ type: 'sign_in', at: at(i), sub: 'bob', sessionId: `s${i}` });
    await events.record({ type: 'sign_in', at: at(9), sub: 'alice', sessionId: 'a' });
    await events.record({ type: 'renewal', at: at(10), sub: 'bob', sessionId: 's4' });
    await events.record({ type: 'store_unavailable', at: at(11) });
    const extra = { type: 'logout', at: at(12), sub: 'carol', token: 'eyJ.secret.sig' } as SessionEvent;
    await events.record(extra);

    assert.deepEqual(
      (await events.recent('bob', 10)).map((e) => e.sessionId),
      ['s4', 's3', 's2'],
      'the newest 3, newest first; renewals are not kept',
    );
    assert.deepEqual(
      (await events.recent('bob', 2)).map((e) => e.sessionId),
      ['s4', 's3'],
    );
    assert.deepEqual(
      (await events.recent('alice', 10)).map((e) => e.sessionId),
      ['a'],
    );
    assert.deepEqual(await events.recent('carol', 10), [{ sub: 'carol', type: 'logout', at: at(12) }]);
  });
});
