// End to end: the example app (its real entry point, as `npm start` runs it) driven by headless Chromium.
// Two browser contexts are two devices of alice; copied cookies are replayed after each kind of logout. bob's
// devices then go through the device list, the fresh sign-in and the password change. alice, an administrator,
// then changes bob's role (his open pages show it on their next load) and bans him (each of his devices is signed
// out on its next load); bob's account page lists his recent security events. A second server with lifetimes of
// seconds shows renewal keeping a used session alive past its first token's expiry.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../ferretdb/launcher.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-results', 'e2e');
const README_SCREENSHOT = join(ROOT, 'example-app', 'screenshot.png');
const PASSWORD = `e2e ${randomBytes(9).toString('base64url')}`;
const NEW_PASSWORD = `new ${randomBytes(9).toString('base64url')}`;
const DB_NAME = `e2e_example_${randomBytes(4).toString('hex')}`;
const RENEWAL_DB_NAME = `${DB_NAME}_renewal`;
/** The fresh-sign-in window of the main server (FRESH_AUTH_MAX_AGE). */
const FRESH_AUTH_MS = 2000;
/** The renewal server's lifetimes: 4 s tokens, renewed once older than 1 s. */
const RENEWAL_ENV = { SESSION_EXPIRES_IN: '4s', SESSION_RENEW_AFTER: '1s', SESSION_MAX_AGE: '1h' };
const TOKEN_LIFETIME_MS = 4000;
const WRONG_CREDENTIALS = 'Wrong username or password.';
const START_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 45_000;

/** The example server as a child process, with everything it printed. */
class ExampleServer {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitCode: number | null | undefined;
  readonly #child: ChildProcessWithoutNullStreams;
  #listeners: (() => void)[] = [];

  constructor(env: NodeJS.ProcessEnv) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], {
      cwd: ROOT,
      env,
      stdio: 'pipe',
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.exitCode = code;
        resolve({ code, signal });
        this.#notify();
      });
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        this.output.push(...lines);
        this.#notify();
      });
    }
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** The transcript, for failure messages. */
  get transcript(): string {
    return this.output.map((l) => `  | ${l}`).join('\n');
  }

  /** Resolves with the first printed line matching `pattern`; rejects if the process exits or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const line of this.output) {
          const match = pattern.exec(line);
          if (match !== null) return done(() => resolve(match));
        }
        if (this.exitCode !== undefined)
          done(() =>
            reject(
              new Error(
                `the example server exited (code ${this.exitCode}) before printing ${pattern}:\n${this.transcript}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(`the example server did not print ${pattern} within ${timeoutMs} ms:\n${this.transcript}`),
            ),
          ),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        settle();
      };
      this.#listeners.push(check);
      check();
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitCode === undefined) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

let server: ExampleServer | undefined;
let renewalServer: ExampleServer | undefined;
let browser: Browser | undefined;
/** The server the current describe block talks to. */
let base = '';
let mainBase = '';
let renewalBase = '';

/** A new browser profile: one "device" (with its own User-Agent, if given). */
async function newDevice(userAgent?: string): Promise<{ context: BrowserContext; page: Page }> {
  assert.ok(browser, 'the browser did not start');
  const context = await browser.newContext({
    viewport: { width: 1000, height: 700 },
    ...(userAgent === undefined ? {} : { userAgent }),
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  return { context, page: await context.newPage() };
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  const cookies = await context.cookies(base);
  return cookies.find((c) => c.name === 'session')?.value;
}

/** Sends `token` as the session cookie to `GET /api/me` from outside any browser: a stolen or copied cookie. */
async function replay(token: string | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = token === undefined ? {} : { cookie: `session=${token}` };
  const res = await fetch(`${base}/api/me`, { headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function errorCode(body: Record<string, unknown>): unknown {
  return (body.error as { code?: unknown } | undefined)?.code;
}

function path(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** Fills and submits the sign-in form on the current page; resolves with the status of the POST. */
async function submitLogin(page: Page, username: string, password: string): Promise<number> {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  // The `load` event comes from the document the form submission leads to, never from the current one.
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
    page.waitForEvent('load'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return response.status();
}

/** Signs in through the form and checks that the account page shows `username`; returns the session id shown. */
async function signIn(page: Page, username: string, password = PASSWORD): Promise<string> {
  if (path(page) !== '/login' && !path(page).startsWith('/login?')) await page.goto(`${base}/login`);
  const status = await submitLogin(page, username, password);
  assert.equal(status, 303, 'a correct password answers with a redirect to the account page');
  assert.equal(path(page), '/');
  assert.equal(await page.getByTestId('username').textContent(), username);
  const sessionId = (await page.getByTestId('session-id').textContent()) ?? '';
  assert.match(sessionId, /^[A-Za-z0-9_-]{16,64}$/);
  return sessionId;
}

/** Saves a screenshot under test-results/ (not committed); returns its path. */
async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}

async function clickAndLand(page: Page, button: string, expectedPath: string): Promise<void> {
  await Promise.all([
    page.waitForURL(`${base}${expectedPath}`),
    page.getByRole('button', { name: button, exact: true }).click(),
  ]);
  assert.equal(path(page), expectedPath);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
}

function startServer(dbName: string, extra: Record<string, string> = {}): Promise<ExampleServer> {
  return freePort().then((port) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      EXAMPLE_DB_NAME: dbName,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      COOKIE_SECURE: 'false',
      DEMO_PASSWORD: PASSWORD,
      ...extra,
    };
    delete env.NODE_TEST_CONTEXT;
    delete env.REDIS_URL; // `npm test` exports it for the Redis tests; this app keeps revocations in MongoDB
    for (const name of ['SESSION_EXPIRES_IN', 'SESSION_RENEW_AFTER', 'SESSION_MAX_AGE', 'FRESH_AUTH_MAX_AGE'])
      if (!(name in extra)) delete env[name];
    return new ExampleServer(env);
  });
}

async function baseUrl(started: ExampleServer): Promise<string> {
  const [, url] = await started.waitForLine(/^Open (http:\/\/127\.0\.0\.1:\d+)\//, START_TIMEOUT_MS);
  return url!;
}

before(
  async () => {
    if (!existsSync(join(ROOT, 'dist', 'esm', 'index.js'))) {
      throw new Error(
        'dist/esm/index.js is missing: the example app imports the built package. Run `npm run build` (npm ci runs it) first.',
      );
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH.`,
      );
    }
    // Both servers start at once; the renewal one waits, idle, until its describe block.
    server = await startServer(DB_NAME, { FRESH_AUTH_MAX_AGE: `${FRESH_AUTH_MS / 1000}s` });
    renewalServer = await startServer(RENEWAL_DB_NAME, RENEWAL_ENV);
    [mainBase, renewalBase] = await Promise.all([baseUrl(server), baseUrl(renewalServer)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  },
  { timeout: START_TIMEOUT_MS + 40_000 },
);

after(
  async () => {
    await withTimeout(browser?.close() ?? Promise.resolve(), 15_000, 'closing the browser').catch((error: unknown) =>
      console.error(error),
    );
    await Promise.all([server?.stop(), renewalServer?.stop()]);
    const uri = process.env.MONGODB_URI;
    if (uri) {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
      for (const name of [DB_NAME, RENEWAL_DB_NAME]) {
        await withTimeout(client.db(name).dropDatabase(), 10_000, 'dropping a test database').catch(() => undefined);
      }
      await client.close().catch(() => undefined);
    }
  },
  { timeout: 60_000 },
);

/** The row of session `sessionId` in the "Your devices" list. */
function deviceRow(page: Page, sessionId: string) {
  return page.locator(`[data-testid="device"][data-session-id="${sessionId}"]`);
}

/** The session ids of the "Your devices" list, in page order. */
async function listedSessions(page: Page): Promise<string[]> {
  const rows = await page.getByTestId('device').all();
  return Promise.all(rows.map(async (row) => (await row.getAttribute('data-session-id')) ?? ''));
}

/** Clicks `button` (a locator) and waits for the account page with `notice`. */
async function clickToAccount(page: Page, click: () => Promise<void>, notice: string): Promise<void> {
  await Promise.all([page.waitForURL(`${base}/?notice=${notice}`), click()]);
  assert.equal(path(page), `/?notice=${notice}`);
  assert.ok(await page.getByTestId('username').isVisible());
}

/** The instant shown in the `<time>` of the test id. */
async function shownTime(page: Page, testId: string): Promise<number> {
  const value = await page.getByTestId(testId).locator('time').getAttribute('datetime');
  const ms = Date.parse(value ?? '');
  assert.ok(Number.isFinite(ms), `no time under ${testId}`);
  return ms;
}

/** The row of `username` on the admin page. */
function userRow(page: Page, username: string) {
  return page.locator(`[data-testid="user-row"][data-username="${username}"]`);
}

/** One entry of "Recent security activity", as the page shows it. */
interface ShownEvent {
  type: string;
  sessionId: string;
  what: string;
  device: string | undefined;
  ip: string | undefined;
  text: string;
}

/** The part of a DOM element `shownEvents` reads (this project compiles without the DOM library). */
interface ElementLike {
  getAttribute(name: string): string | null;
  textContent: string | null;
  querySelector(selector: string): ElementLike | null;
}

/**
 * The events on the page, read in one round trip to the browser (a locator call per field takes seconds). The
 * page function declares no named function: tsx would wrap it in a `__name` helper the page does not have.
 */
async function shownEvents(page: Page): Promise<ShownEvent[]> {
  const rows = await page.getByTestId('event').evaluateAll((elements: ElementLike[]) =>
    elements.map((row) => ({
      type: row.getAttribute('data-type') ?? '',
      sessionId: row.getAttribute('data-session-id') ?? '',
      what: row.querySelector('[data-testid="event-what"]')?.textContent ?? '',
      device: row.querySelector('[data-testid="event-device"]')?.textContent ?? undefined,
      ip: row.querySelector('[data-testid="event-ip"]')?.textContent ?? undefined,
      text: row.textContent ?? '',
    })),
  );
  return rows.map((row) => ({ ...row, what: row.what.trim() }));
}

/**
 * Reloads `page` until `ready` holds: events reach the page a moment after the request that caused them (the
 * library hands them over after its response, and the app then writes them).
 */
async function reloadUntil(page: Page, ready: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await page.reload();
    if (await ready()) return;
    if (Date.now() > deadline) assert.fail(`${what} did not show within ${timeoutMs} ms`);
    await page.waitForTimeout(200);
  }
}

describe('example app in a real browser', { timeout: 300_000 }, () => {
  const device1 = {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string };
  const device2 = {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string };
  const seenTokens: string[] = [];

  before(() => {
    base = mainBase;
  });

  test('the app runs on the database it was given, with the demo users seeded', () => {
    const output = server!.output;
    assert.match(
      output[0] ?? '',
      process.env.MONGODB_URI
        ? /^Storage: MongoDB from MONGODB_URI, database "e2e_example_/
        : /^Storage: bundled FerretDB/,
    );
    assert.ok(
      output.includes('Demo users created: alice and bob, with the password the one in DEMO_PASSWORD.'),
      server!.transcript,
    );
  });

  test(
    '1. two devices of alice sign in through the form and see the account page',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      for (const device of [device1, device2]) {
        Object.assign(device, await newDevice());
        await device.page.goto(`${base}/`);
        assert.equal(path(device.page), '/login', 'a visitor without a session is sent to the sign-in page');
        device.sessionId = await signIn(device.page, 'alice');
        const cookie = (await device.context.cookies(base)).find((c) => c.name === 'session');
        assert.ok(cookie, 'signing in sets the session cookie');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, 'Lax');
        device.cookie = cookie.value;
        seenTokens.push(cookie.value);
      }
      assert.notEqual(device1.sessionId, device2.sessionId, 'each device has its own session');
    },
  );

  test('2. Log out on device 1 ends device 1 only', { timeout: STEP_TIMEOUT_MS }, async () => {
    const beforeLogout = await replay(device1.cookie);
    assert.equal(beforeLogout.status, 200, 'the copied cookie of device 1 works before the logout');
    assert.equal(beforeLogout.body.sessionId, device1.sessionId);

    await clickAndLand(device1.page, 'Log out', '/login?notice=signed-out');
    assert.match((await device1.page.getByRole('status').textContent()) ?? '', /signed out on this device/);
    assert.equal(await sessionCookie(device1.context), undefined, 'the browser dropped the cookie');
    await device1.page.goto(`${base}/`);
    assert.equal(path(device1.page), '/login');

    await device2.page.reload();
    assert.equal(path(device2.page), '/', 'device 2 is still signed in');
    assert.equal(await device2.page.getByTestId('session-id').textContent(), device2.sessionId);
  });

  test(
    '3. Log out everywhere on device 2: copied cookies of both devices stop working',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const copied = await sessionCookie(device2.context);
      assert.equal(copied, device2.cookie);
      const beforeLogout = await replay(copied);
      assert.equal(beforeLogout.status, 200, 'the copied cookie of device 2 works before the logout');
      assert.equal(beforeLogout.body.sub, 'alice');
      assert.equal(beforeLogout.body.sessionId, device2.sessionId);

      await clickAndLand(device2.page, 'Log out everywhere', '/login?notice=signed-out-everywhere');
      assert.match((await device2.page.getByRole('status').textContent()) ?? '', /signed out on every device/);
      await screenshot(device2.page, 'signed-out-everywhere.png');

      const afterAll = await replay(copied);
      assert.equal(afterAll.status, 401);
      assert.equal(errorCode(afterAll.body), 'logged_out_everywhere');
      const oldDevice1 = await replay(device1.cookie);
      assert.equal(oldDevice1.status, 401);
      assert.equal(errorCode(oldDevice1.body), 'session_revoked');

      // The copied cookie planted in another browser gets the sign-in page, not the account.
      const thief = await newDevice();
      try {
        await thief.context.addCookies([{ name: 'session', value: copied, url: base }]);
        await thief.page.goto(`${base}/`);
        assert.equal(path(thief.page), '/login?notice=session-ended');
        assert.equal(await sessionCookie(thief.context), undefined, 'the server expired the replayed cookie');
      } finally {
        await thief.context.close();
      }
    },
  );

  test('4. device 2 signs in again at once and sees the account page', { timeout: STEP_TIMEOUT_MS }, async () => {
    // Straight from the sign-in page it landed on: usually the same second as the logout-everywhere.
    const sessionId = await signIn(device2.page, 'alice');
    assert.notEqual(sessionId, device2.sessionId, 'a new device session');
    const token = await sessionCookie(device2.context);
    assert.ok(token !== undefined && token !== device2.cookie);
    seenTokens.push(token);
    const me = await replay(token);
    assert.equal(me.status, 200, `the new session is accepted: ${JSON.stringify(me.body)}`);
    assert.equal(me.body.sessionId, sessionId);

    await screenshot(device2.page, 'account-page.png');
  });

  test(
    '5. a wrong password shows the error; /api/me without a cookie answers credentials_required',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const { context, page } = await newDevice();
      try {
        await page.goto(`${base}/login`);
        assert.equal(await submitLogin(page, 'alice', `${PASSWORD}!`), 401);
        assert.equal(await page.getByRole('alert').textContent(), WRONG_CREDENTIALS);
        assert.equal(await page.locator('input[name="username"]').inputValue(), 'alice');
        assert.equal(await sessionCookie(context), undefined, 'no cookie after a failed sign-in');
        await screenshot(page, 'wrong-password.png');

        assert.equal(await submitLogin(page, 'mallory', PASSWORD), 401);
        assert.equal(
          await page.getByRole('alert').textContent(),
          WRONG_CREDENTIALS,
          'an unknown user gets the same message',
        );
        assert.equal(await sessionCookie(context), undefined);
      } finally {
        await context.close();
      }
      const anonymous = await replay(undefined);
      assert.equal(anonymous.status, 401);
      assert.equal(errorCode(anonymous.body), 'credentials_required');
    },
  );

  test(
    'cross-site form posts are refused (CSRF check on sign-in and logout)',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const token = await sessionCookie(device2.context);
      assert.ok(token !== undefined);
      const crossSite = { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' };
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        headers: crossSite,
        body: new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
        redirect: 'manual',
      });
      assert.equal(login.status, 403);
      assert.equal(login.headers.get('set-cookie'), null);
      const logoutAll = await fetch(`${base}/logout-all`, {
        method: 'POST',
        headers: { ...crossSite, cookie: `session=${token}` },
        redirect: 'manual',
      });
      assert.equal(logoutAll.status, 403);
      assert.equal((await replay(token)).status, 200, 'the refused logout changed nothing');
    },
  );

  test('pages carry security headers and are not cached', { timeout: STEP_TIMEOUT_MS }, async () => {
    const res = await fetch(`${base}/login`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    // helmet's default: the sign-in and logout forms above still passed the CSRF check under it.
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  const bob = {
    a: {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string },
    b: {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string },
  };

  /** Signs bob in on a new browser context; returns the device with its session id and cookie. */
  async function bobDevice(password = PASSWORD) {
    const device = await newDevice();
    await device.page.goto(`${base}/login`);
    const sessionId = await signIn(device.page, 'bob', password);
    const cookie = (await sessionCookie(device.context)) ?? '';
    seenTokens.push(cookie);
    return { ...device, sessionId, cookie };
  }

  test('6. "Your devices" lists both of bob\'s devices, this one marked', { timeout: STEP_TIMEOUT_MS }, async () => {
    bob.a = await bobDevice();
    bob.b = await bobDevice();
    const page = bob.a.page;
    await page.reload();
    assert.deepEqual(await listedSessions(page), [bob.a.sessionId, bob.b.sessionId], 'this device first');
    const own = deviceRow(page, bob.a.sessionId);
    assert.equal(await own.getByTestId('this-device').textContent(), 'This device');
    assert.equal(await own.getByRole('button').count(), 0, 'no Log out button for this device in the list');
    const other = deviceRow(page, bob.b.sessionId);
    assert.equal(await other.getByTestId('this-device').count(), 0);
    assert.match((await other.getByTestId('device-name').textContent()) ?? '', /^Chrome \d+ on Linux$/);
    assert.match((await other.textContent()) ?? '', /Signed in \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.equal(await other.getByRole('button', { name: /^Log out Chrome/ }).count(), 1);
    // Device b sees the same two sessions, itself marked.
    await bob.b.page.reload();
    assert.deepEqual(await listedSessions(bob.b.page), [bob.b.sessionId, bob.a.sessionId]);
    assert.equal(await deviceRow(bob.b.page, bob.b.sessionId).getByTestId('this-device').count(), 1);
    // The README's picture: the account page with two devices in the list.
    const shot = await screenshot(page, 'devices.png', true);
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(shot, README_SCREENSHOT);
  });

  test(
    "7. Log out next to device b, from device a: b's next request is signed out",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const page = bob.a.page;
      await clickToAccount(
        page,
        () =>
          deviceRow(page, bob.b.sessionId)
            .getByRole('button', { name: /^Log out/ })
            .click(),
        'device-signed-out',
      );
      assert.match((await page.getByRole('status').textContent()) ?? '', /That device is signed out/);
      assert.deepEqual(await listedSessions(page), [bob.a.sessionId]);

      const copied = await replay(bob.b.cookie);
      assert.equal(copied.status, 401);
      assert.equal(errorCode(copied.body), 'session_revoked');
      await bob.b.page.reload();
      assert.equal(path(bob.b.page), '/login?notice=session-ended');
      assert.equal((await replay(bob.a.cookie)).status, 200, 'device a stays signed in');
    },
  );

  test(
    "8. a posted session id that is not one of bob's other devices changes nothing",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const alice = await sessionCookie(device2.context);
      assert.ok(alice !== undefined);
      assert.equal((await replay(alice)).status, 200);
      const post = (sessionId: string, origin = base) =>
        fetch(`${base}/devices/logout`, {
          method: 'POST',
          headers: {
            origin,
            cookie: `session=${bob.a.cookie}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ sessionId }).toString(),
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
      for (const sessionId of [device2.sessionId, bob.a.sessionId, 'made-up-session-id', '']) {
        const res = await post(sessionId);
        assert.equal(res.status, 303, sessionId);
        assert.equal(res.headers.get('location'), '/?notice=device-unknown', sessionId);
      }
      assert.equal((await replay(alice)).status, 200, "alice's session survived bob's request");
      assert.equal((await replay(bob.a.cookie)).status, 200, "bob's own session too");
      const crossSite = await post(bob.a.sessionId, 'http://evil.example');
      assert.equal(crossSite.status, 403);
    },
  );

  test(
    "9. Log out other devices ends all of bob's other sessions and keeps this one",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      await bob.b.context.close();
      bob.b = await bobDevice();
      const c = await bobDevice();
      try {
        const page = bob.a.page;
        await page.reload();
        assert.equal((await listedSessions(page)).length, 3);
        // helmet's Referrer-Policy: no-referrer makes Chromium send `Origin: null` on this site's own form posts;
        // the CSRF check lets them through on `Sec-Fetch-Site: same-origin`.
        const request = page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${base}/logout-others`);
        await clickToAccount(
          page,
          () => page.getByRole('button', { name: 'Log out other devices', exact: true }).click(),
          'others-signed-out',
        );
        const headers = await (await request).allHeaders();
        assert.equal(headers.origin, 'null');
        assert.equal(headers['sec-fetch-site'], 'same-origin');
        assert.deepEqual(await listedSessions(page), [bob.a.sessionId]);
        assert.match((await page.getByRole('main').textContent()) ?? '', /No other device is signed in as bob/);
        for (const other of [bob.b, c]) {
          const copied = await replay(other.cookie);
          assert.equal(copied.status, 401);
          assert.equal(errorCode(copied.body), 'session_revoked');
        }
        await c.page.reload();
        assert.equal(path(c.page), '/login?notice=session-ended');
        assert.equal((await replay(bob.a.cookie)).status, 200);
      } finally {
        await c.context.close();
      }
    },
  );

  test(
    '10. the password page needs a fresh sign-in: the password is asked again, then the page opens',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      bob.b = await bobDevice(); // signed in again, for the password change to end
      const page = bob.a.page;
      await page.goto(`${base}/`);
      const since = Date.now() - (await shownTime(page, 'authenticated-at'));
      if (since <= FRESH_AUTH_MS + 200) await page.waitForTimeout(FRESH_AUTH_MS + 200 - since);

      await Promise.all([
        page.waitForURL(`${base}/confirm-password?next=password`),
        page.getByRole('link', { name: 'Change password' }).click(),
      ]);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Confirm your password');
      const stale = await replay(bob.a.cookie);
      assert.equal(stale.status, 200, 'other pages need no fresh sign-in');

      const confirm = async (password: string) => {
        await page.locator('input[name="password"]').fill(password);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${base}/confirm-password`),
          page.waitForEvent('load'),
          page.getByRole('button', { name: 'Confirm' }).click(),
        ]);
        return response.status();
      };
      assert.equal(await confirm(`${PASSWORD}!`), 401);
      assert.equal(await page.getByRole('alert').textContent(), 'Wrong password.');
      assert.equal(await confirm(PASSWORD), 303);
      assert.equal(path(page), '/password');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Change password');
    },
  );

  test(
    '11. a password change ends the other device and keeps this one signed in',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const page = bob.a.page;
      // Within the fresh window the confirmation just opened.
      await page.locator('input[name="newPassword"]').fill(NEW_PASSWORD);
      await page.locator('input[name="confirmPassword"]').fill(NEW_PASSWORD);
      await clickToAccount(
        page,
        () => page.getByRole('button', { name: 'Change password', exact: true }).click(),
        'password-changed',
      );
      assert.match((await page.getByRole('status').textContent()) ?? '', /Your password is changed/);
      const sessionId = (await page.getByTestId('session-id').textContent()) ?? '';
      assert.notEqual(sessionId, bob.a.sessionId, 'this device continues in a new session');
      assert.deepEqual(await listedSessions(page), [sessionId]);
      const token = (await sessionCookie(bob.a.context)) ?? '';
      seenTokens.push(token);
      assert.equal((await replay(token)).status, 200);

      for (const old of [bob.a.cookie, bob.b.cookie]) {
        const copied = await replay(old);
        assert.equal(copied.status, 401);
        assert.equal(errorCode(copied.body), 'logged_out_everywhere');
      }
      await bob.b.page.reload();
      assert.equal(path(bob.b.page), '/login?notice=session-ended');
      assert.equal(await submitLogin(bob.b.page, 'bob', PASSWORD), 401, 'the old password no longer works');
      assert.equal(await submitLogin(bob.b.page, 'bob', NEW_PASSWORD), 303, 'the new one does');
      assert.equal((await sessionCookie(device2.context)) !== undefined, true);
      assert.equal((await replay(await sessionCookie(device2.context))).status, 200, "alice's session is untouched");
      await bob.a.context.close();
      await bob.b.context.close();
    },
  );

  type Device = { context: BrowserContext; page: Page; sessionId: string; cookie: string };
  /** bob's devices for the admin steps: two open tabs, and one left idle through the ban and its lifting. */
  const admin = { a: {} as Device, b: {} as Device, idle: {} as Device };
  const BANNED = 'This account is banned. Ask an administrator to lift the ban.';

  /** Clicks `name` on alice's admin page and waits for the page again with `notice`. */
  async function adminAction(name: string, notice: string): Promise<void> {
    const page = device2.page;
    await Promise.all([
      page.waitForURL(`${base}/admin?notice=${notice}`),
      page.getByRole('button', { name, exact: true }).click(),
    ]);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Users');
  }

  test(
    "12. alice's account links to the admin page; bob's does not, and the admin page and its forms refuse him",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const page = device2.page;
      await page.goto(`${base}/`);
      assert.equal(await page.getByTestId('username').textContent(), 'alice');
      assert.equal(await page.getByTestId('role').textContent(), 'admin');
      await Promise.all([page.waitForURL(`${base}/admin`), page.getByRole('link', { name: 'Admin' }).click()]);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Users');
      const rows = await page.getByTestId('user-row').all();
      assert.deepEqual(await Promise.all(rows.map((r) => r.getAttribute('data-username'))), ['alice', 'bob']);
      assert.equal(await userRow(page, 'alice').getByTestId('user-role').textContent(), 'admin');
      assert.equal(await userRow(page, 'alice').getByRole('button').count(), 0, 'no forms for her own account');
      assert.equal(await userRow(page, 'bob').getByTestId('user-role').textContent(), 'member');
      assert.equal((await userRow(page, 'bob').getByTestId('user-status').textContent())?.trim(), 'active');

      admin.a = await bobDevice(NEW_PASSWORD);
      admin.b = await bobDevice(NEW_PASSWORD);
      for (const device of [admin.a, admin.b]) {
        assert.equal(await device.page.getByTestId('role').textContent(), 'member');
        assert.equal(await device.page.getByRole('link', { name: 'Admin' }).count(), 0);
      }
      const refused = await admin.b.page.goto(`${base}/admin`);
      assert.equal(refused?.status(), 403);
      assert.equal(await admin.b.page.getByRole('heading', { level: 1 }).textContent(), 'Administrators only');
      await admin.b.page.goto(`${base}/`);

      const post = (cookie: string, form: Record<string, string>, origin = base) =>
        fetch(`${base}/admin/role`, {
          method: 'POST',
          headers: { origin, cookie: `session=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
      const aliceCookie = (await sessionCookie(device2.context)) ?? '';
      assert.equal((await post(admin.a.cookie, { username: 'bob', role: 'admin' })).status, 403, 'bob is no admin');
      assert.equal((await post(admin.a.cookie, { username: 'alice', role: 'member' })).status, 403);
      const crossSite = await post(aliceCookie, { username: 'bob', role: 'admin' }, 'http://evil.example');
      assert.equal(crossSite.status, 403, "a cross-site form cannot use alice's session");
      const self = await post(aliceCookie, { username: 'alice', role: 'member' });
      assert.equal(self.headers.get('location'), '/admin?notice=not-yourself');
      await page.reload();
      assert.equal(await userRow(page, 'bob').getByTestId('user-role').textContent(), 'member', 'nothing changed');
      assert.equal(await userRow(page, 'alice').getByTestId('user-role').textContent(), 'admin');
      assert.equal((await replay(admin.a.cookie)).body.role, 'member');
    },
  );

  test(
    "13. alice makes bob an editor: bob's open pages show it on their next load, in the same sessions",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const page = device2.page;
      await userRow(page, 'bob').getByRole('combobox', { name: 'Role of bob' }).selectOption('editor');
      await adminAction('Change role of bob', 'role-changed');
      assert.match((await page.getByRole('status').textContent()) ?? '', /The role is changed/);
      assert.equal(await userRow(page, 'bob').getByTestId('user-role').textContent(), 'editor');

      for (const device of [admin.a, admin.b]) {
        assert.equal(await device.page.getByTestId('role').textContent(), 'member', 'the open page, before');
        await device.page.reload();
        assert.equal(path(device.page), '/');
        assert.equal(await device.page.getByTestId('role').textContent(), 'editor', 'the next load shows the role');
        assert.equal(await device.page.getByTestId('session-id').textContent(), device.sessionId, 'same session');
        const reissued = (await sessionCookie(device.context)) ?? '';
        assert.notEqual(reissued, device.cookie, 'the token was re-issued with the new role');
        seenTokens.push(reissued);
        const me = await replay(reissued);
        assert.equal(me.status, 200);
        assert.equal(me.body.role, 'editor');
      }
      // A copy of a cookie from before the change never gets the old role either: it is reloaded as well.
      const copy = await replay(admin.a.cookie);
      assert.equal(copy.status, 200);
      assert.equal(copy.body.role, 'editor');
      admin.a.cookie = (await sessionCookie(admin.a.context)) ?? '';
      admin.b.cookie = (await sessionCookie(admin.b.context)) ?? '';
    },
  );

  test(
    '14. alice bans bob: both of his devices are signed out on their next load, and he cannot sign in',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      admin.idle = await bobDevice(NEW_PASSWORD); // signed in, then left alone until the ban is lifted
      assert.equal(await admin.idle.page.getByTestId('role').textContent(), 'editor');
      const page = device2.page;
      await adminAction('Ban bob', 'banned');
      assert.equal((await userRow(page, 'bob').getByTestId('user-status').textContent())?.trim(), 'banned');
      assert.equal(await userRow(page, 'bob').getByRole('button', { name: 'Unban bob' }).count(), 1);
      await screenshot(page, 'admin-page.png', true);

      for (const device of [admin.a, admin.b]) {
        assert.equal(path(device.page), '/', 'the page open before the ban');
        await device.page.reload();
        assert.equal(path(device.page), '/login?notice=session-ended', 'signed out on the next load');
        assert.equal(await sessionCookie(device.context), undefined, 'the cookie is expired');
        const copied = await replay(device.cookie);
        assert.equal(copied.status, 401);
        assert.equal(errorCode(copied.body), 'logged_out_everywhere');
      }
      assert.equal(await submitLogin(admin.a.page, 'bob', NEW_PASSWORD), 403, 'the right password of a banned user');
      assert.equal(await admin.a.page.getByRole('alert').textContent(), BANNED);
      assert.equal(await sessionCookie(admin.a.context), undefined);
      assert.equal((await replay(await sessionCookie(device2.context))).status, 200, 'alice stays signed in');
    },
  );

  test(
    '15. lifting the ban lets bob sign in again, as an editor; a device idle through the ban is signed out as well',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      await adminAction('Unban bob', 'unbanned');
      assert.equal((await userRow(device2.page, 'bob').getByTestId('user-status').textContent())?.trim(), 'active');

      await admin.idle.page.reload();
      assert.equal(path(admin.idle.page), '/login?notice=session-ended', 'a ban ends every device, idle ones too');
      const idleCopy = await replay(admin.idle.cookie);
      assert.equal(idleCopy.status, 401);
      assert.equal(errorCode(idleCopy.body), 'logged_out_everywhere');
      await admin.idle.context.close();

      const page = admin.a.page;
      admin.a.sessionId = await signIn(page, 'bob', NEW_PASSWORD);
      admin.a.cookie = (await sessionCookie(admin.a.context)) ?? '';
      seenTokens.push(admin.a.cookie);
      assert.equal(await page.getByTestId('role').textContent(), 'editor');
      // The ban and the role change are in bob's activity.
      await reloadUntil(
        page,
        async () => (await shownEvents(page)).some((e) => e.type === 'sign_in' && e.sessionId === admin.a.sessionId),
        "bob's new sign-in",
      );
      const events = await shownEvents(page);
      const ban = events.find((e) => e.type === 'logout_everywhere' && e.what.includes('banned'));
      assert.ok(ban, `no ban among ${JSON.stringify(events)}`);
      assert.equal(ban.ip, '127.0.0.1', 'the device whose request found the ban');
      assert.ok(events.some((e) => e.type === 'claims_changed'));
      assert.ok(events.some((e) => e.type === 'claims_refresh' && e.sessionId === admin.b.sessionId));
    },
  );

  test(
    "16. a ban lifted before any of bob's devices came back still signed them out",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const device = admin.a;
      assert.equal(path(device.page), '/');
      await adminAction('Ban bob', 'banned');
      await adminAction('Unban bob', 'unbanned'); // no request of bob's in between
      await device.page.reload();
      assert.equal(path(device.page), '/login?notice=session-ended');
      const copied = await replay(device.cookie);
      assert.equal(copied.status, 401);
      assert.equal(errorCode(copied.body), 'logged_out_everywhere');
      device.sessionId = await signIn(device.page, 'bob', NEW_PASSWORD);
      device.cookie = (await sessionCookie(device.context)) ?? '';
      seenTokens.push(device.cookie);
    },
  );

  test(
    "17. bob's account page lists his security events: sign-ins with device and IP, a logout, a device ended, a replayed cookie",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const x = admin.a;
      const y = await bobDevice(NEW_PASSWORD);
      await clickAndLand(y.page, 'Log out', '/login?notice=signed-out');
      await y.context.close();
      // A device whose User-Agent is markup: the page shows it as text.
      const hostileAgent = '<img src=x onerror=alert(1)> Hostile/1.0';
      const hostile = await newDevice(hostileAgent);
      await hostile.page.goto(`${base}/login`);
      const z = { ...hostile, sessionId: await signIn(hostile.page, 'bob', NEW_PASSWORD), cookie: '' };
      z.cookie = (await sessionCookie(z.context)) ?? '';
      seenTokens.push(z.cookie);

      await x.page.goto(`${base}/`);
      await clickToAccount(
        x.page,
        () =>
          deviceRow(x.page, z.sessionId)
            .getByRole('button', { name: /^Log out/ })
            .click(),
        'device-signed-out',
      );
      const replayed = await replay(z.cookie);
      assert.equal(replayed.status, 401);
      assert.equal(errorCode(replayed.body), 'session_revoked');
      await z.context.close();

      const page = x.page;
      await reloadUntil(
        page,
        async () => (await shownEvents(page))[0]?.type === 'revoked_token_presented',
        'the replayed cookie',
      );
      const events = await shownEvents(page);
      const at = (type: string, sessionId: string) => {
        const index = events.findIndex((e) => e.type === type && e.sessionId === sessionId);
        assert.ok(index >= 0, `no ${type} of ${sessionId} among ${JSON.stringify(events, null, 1)}`);
        return index;
      };
      const order = [
        at('revoked_token_presented', z.sessionId),
        at('session_ended', z.sessionId),
        at('sign_in', z.sessionId),
        at('logout', y.sessionId),
        at('sign_in', y.sessionId),
        at('sign_in', x.sessionId),
      ];
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        'newest first',
      );
      assert.equal(order[0], 0, 'the replayed cookie is the newest event');
      const [replay0, ended, signInZ, logoutY, signInY, signInX] = order.map((i) => events[i]!);
      assert.equal(replay0!.what, 'A signed-out cookie was used again (a stale tab, or a copy)');
      assert.equal(replay0!.ip, '127.0.0.1');
      assert.equal(ended!.what, 'Device signed out (from the device list, or by a new sign-in on it)');
      assert.equal(logoutY!.what, 'Logged out');
      for (const event of [signInX!, signInY!, logoutY!]) {
        assert.match(event.device ?? '', /^Chrome \d+ on Linux$/, event.text);
        assert.equal(event.ip, '127.0.0.1', event.text);
      }
      assert.equal(signInY!.what, 'Signed in');
      assert.match(signInX!.text, /This device/);
      assert.doesNotMatch(signInY!.text, /This device/);
      assert.equal(signInZ!.ip, '127.0.0.1');
      assert.ok(signInZ!.device?.includes('<img src=x onerror=alert(1)>'), `escaped as text: ${signInZ!.device}`);
      assert.equal(await page.locator('main img').count(), 0, 'no markup from a User-Agent');
      await screenshot(page, 'security-activity.png', true);

      // Events never show a token.
      const content = await page.content();
      for (const token of [...seenTokens, x.cookie, y.cookie]) {
        const signature = token.split('.')[2];
        if (signature) assert.ok(!content.includes(signature), 'a token appears on the account page');
      }
      // Each user sees their own events only.
      await device2.page.goto(`${base}/`);
      const alices = await shownEvents(device2.page);
      assert.ok(alices.some((e) => e.type === 'sign_in'));
      const bobs = new Set([x.sessionId, y.sessionId, z.sessionId]);
      assert.ok(!alices.some((e) => bobs.has(e.sessionId)), "bob's events are not on alice's page");
      await admin.a.context.close();
      await admin.b.context.close();
    },
  );

  test('one log line per request, naming the outcome and never a token', () => {
    const log = server!.output;
    const has = (pattern: RegExp) =>
      assert.ok(
        log.some((l) => pattern.test(l)),
        `no log line matches ${pattern}:\n${server!.transcript}`,
      );
    has(/^POST \/login 303 [\d.]+ms user=alice login=ok$/);
    has(/^POST \/login 401 [\d.]+ms user=- login=failed$/);
    has(/^POST \/logout 303 [\d.]+ms user=alice logout=device$/);
    has(/^POST \/logout-all 303 [\d.]+ms user=alice logout=everywhere$/);
    has(/^GET \/api\/me 401 [\d.]+ms user=- error=logged_out_everywhere$/);
    has(/^GET \/api\/me 401 [\d.]+ms user=- error=session_revoked$/);
    has(/^POST \/login 403 [\d.]+ms user=- error=csrf_rejected$/);
    has(/^POST \/devices\/logout 303 [\d.]+ms user=bob logout=other-device$/);
    has(/^POST \/devices\/logout 303 [\d.]+ms user=bob logout=device-unknown$/);
    has(/^POST \/logout-others 303 [\d.]+ms user=bob logout=others$/);
    has(/^GET \/password 303 [\d.]+ms user=bob error=reauthentication_required$/);
    has(/^POST \/confirm-password 401 [\d.]+ms user=bob reauth=failed$/);
    has(/^POST \/confirm-password 303 [\d.]+ms user=bob reauth=ok$/);
    has(/^POST \/password 303 [\d.]+ms user=bob password=changed$/);
    has(/^GET \/admin 403 [\d.]+ms user=bob error=not_admin$/);
    has(/^POST \/admin\/role 303 [\d.]+ms user=alice admin=role$/);
    has(/^POST \/admin\/role 303 [\d.]+ms user=alice admin=refused-self$/);
    has(/^POST \/admin\/ban 303 [\d.]+ms user=alice admin=ban$/);
    has(/^POST \/admin\/ban 303 [\d.]+ms user=alice admin=unban$/);
    has(/^POST \/login 403 [\d.]+ms user=bob login=banned$/);
    assert.ok(seenTokens.length >= 3);
    for (const token of seenTokens) {
      const signature = token.split('.')[2]!;
      assert.ok(!log.some((l) => l.includes(signature)), 'a token appears in the log');
    }
    assert.ok(!log.some((l) => l.includes(PASSWORD)), 'the password appears in the log');
    assert.ok(!log.some((l) => l.includes(NEW_PASSWORD)), 'the new password appears in the log');
  });

  test('SIGTERM shuts the app down cleanly', { timeout: 20_000 }, async () => {
    const { code } = await server!.stop(15_000);
    assert.equal(code, 0, server!.transcript);
    assert.ok(server!.output.includes('Stopped.'), server!.transcript);
  });
});

describe('renewal with lifetimes of seconds', { timeout: 60_000 }, () => {
  before(() => {
    base = renewalBase;
  });

  test('the server reads the short lifetimes from the environment', () => {
    assert.ok(
      renewalServer!.output.some((l) => /^Sessions: a token lasts 4 s .* renewed after 1 s .* at most 3600 s /.test(l)),
      renewalServer!.transcript,
    );
  });

  test(
    'a session in use outlives its first token; the shown expiry moves forward; an idle one ends',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const active = await newDevice();
      const idle = await newDevice();
      try {
        await active.page.goto(`${base}/login`);
        const sessionId = await signIn(active.page, 'alice');
        await idle.page.goto(`${base}/login`);
        await signIn(idle.page, 'bob');
        const firstToken = (await sessionCookie(active.context)) ?? '';
        const signedInAt = await shownTime(active.page, 'signed-in-at');
        const firstExpiry = await shownTime(active.page, 'expires-at');
        assert.ok(firstExpiry - signedInAt <= TOKEN_LIFETIME_MS, 'a 4 s token');
        assert.equal(await shownTime(active.page, 'session-expires-at'), signedInAt + 3600_000, 'SESSION_MAX_AGE');

        // Keep using the site for twice the token lifetime: every page is served, and its token renewed.
        const shownExpiries = [firstExpiry];
        while (Date.now() < signedInAt + 2 * TOKEN_LIFETIME_MS) {
          await active.page.waitForTimeout(700);
          await active.page.reload();
          assert.equal(path(active.page), '/', `signed out ${Date.now() - signedInAt} ms after signing in`);
          shownExpiries.push(await shownTime(active.page, 'expires-at'));
        }
        assert.equal(await active.page.getByTestId('session-id').textContent(), sessionId, 'the same session');
        assert.equal(await shownTime(active.page, 'signed-in-at'), signedInAt, 'signed in when it was');
        const lastExpiry = shownExpiries.at(-1)!;
        assert.ok(
          lastExpiry >= firstExpiry + TOKEN_LIFETIME_MS,
          `the expiry moved forward: ${shownExpiries.join(', ')}`,
        );
        for (let i = 1; i < shownExpiries.length; i++) assert.ok(shownExpiries[i]! >= shownExpiries[i - 1]!);
        assert.ok(Date.now() > firstExpiry + 1000, 'past the first token expiry');

        const first = await replay(firstToken);
        assert.equal(first.status, 401, 'the first token itself has expired');
        assert.equal(errorCode(first.body), 'token_expired');
        const current = await replay(await sessionCookie(active.context));
        assert.equal(current.status, 200);
        assert.equal(current.body.sessionId, sessionId);

        // The device that was left alone since its sign-in is signed out: its cookie expired with its token.
        await idle.page.reload();
        assert.equal(path(idle.page), '/login');
      } finally {
        await active.context.close();
        await idle.context.close();
      }
    },
  );

  test('SIGTERM shuts the renewal server down cleanly', { timeout: 20_000 }, async () => {
    const { code } = await renewalServer!.stop(15_000);
    assert.equal(code, 0, renewalServer!.transcript);
  });
});
