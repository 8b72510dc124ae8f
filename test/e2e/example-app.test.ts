// End to end: the example app (its real entry point, as `npm start` runs it) driven by headless Chromium.
// Two browser contexts are two devices of alice; copied cookies are replayed after each kind of logout.
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
const DB_NAME = `e2e_example_${randomBytes(4).toString('hex')}`;
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
let browser: Browser | undefined;
let base = '';

/** A new browser profile: one "device". */
async function newDevice(): Promise<{ context: BrowserContext; page: Page }> {
  assert.ok(browser, 'the browser did not start');
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
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
async function signIn(page: Page, username: string): Promise<string> {
  if (path(page) !== '/login' && !path(page).startsWith('/login?')) await page.goto(`${base}/login`);
  const status = await submitLogin(page, username, PASSWORD);
  assert.equal(status, 303, 'a correct password answers with a redirect to the account page');
  assert.equal(path(page), '/');
  assert.equal(await page.getByTestId('username').textContent(), username);
  const sessionId = (await page.getByTestId('session-id').textContent()) ?? '';
  assert.match(sessionId, /^[A-Za-z0-9_-]{16,64}$/);
  return sessionId;
}

/** Saves a screenshot under test-results/ (not committed); returns its path. */
async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, name);
  await page.screenshot({ path: file });
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

describe('example app in a real browser', { timeout: 240_000 }, () => {
  const device1 = {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string };
  const device2 = {} as { context: BrowserContext; page: Page; sessionId: string; cookie: string };
  const seenTokens: string[] = [];

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
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        EXAMPLE_DB_NAME: DB_NAME,
        SESSION_SECRET: randomBytes(32).toString('base64url'),
        COOKIE_SECURE: 'false',
        DEMO_PASSWORD: PASSWORD,
      };
      delete env.NODE_TEST_CONTEXT;
      delete env.REDIS_URL; // `npm test` exports it for the Redis tests; this app keeps revocations in MongoDB
      server = new ExampleServer(env);
      const [, url] = await server.waitForLine(/^Open (http:\/\/127\.0\.0\.1:\d+)\//, START_TIMEOUT_MS);
      base = url!;
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
      await server?.stop();
      const uri = process.env.MONGODB_URI;
      if (uri) {
        const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
        await withTimeout(client.db(DB_NAME).dropDatabase(), 10_000, 'dropping the test database').catch(
          () => undefined,
        );
        await client.close().catch(() => undefined);
      }
    },
    { timeout: 60_000 },
  );

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

    const shot = await screenshot(device2.page, 'account-page.png');
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(shot, README_SCREENSHOT);
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
    assert.ok(seenTokens.length >= 3);
    for (const token of seenTokens) {
      const signature = token.split('.')[2]!;
      assert.ok(!log.some((l) => l.includes(signature)), 'a token appears in the log');
    }
    assert.ok(!log.some((l) => l.includes(PASSWORD)), 'the password appears in the log');
  });

  test('SIGTERM shuts the app down cleanly', { timeout: 20_000 }, async () => {
    const { code } = await server!.stop(15_000);
    assert.equal(code, 0, server!.transcript);
    assert.ok(server!.output.includes('Stopped.'), server!.transcript);
  });
});
