// The example site: sign-in form, account page with its device list and recent security events, password change
// behind a fresh sign-in, an admin page (roles and bans, reaching every device through refreshClaims), JSON
// endpoint and the logout buttons, on Express 5.
import { readFileSync } from 'node:fs';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  ConfigError,
  createSessionAuth,
  isSessionAuthError,
  MemoryRevocationStore,
  sendErrorJson,
  type RevocationStore,
  type SessionAuthError,
} from 'express-revocable-jwt';
import { MongoRevocationStore } from 'express-revocable-jwt/mongodb';
import { RedisRevocationStore, type RedisClientLike } from 'express-revocable-jwt/redis';
import type { Db } from 'mongodb';
import { z } from 'zod';
import { describeDevice } from './devices.js';
import { memoryEventLog, mongoEventLog, SHOWN_EVENTS, type EventLog } from './events.js';
import { securityHeaders } from './security.js';
import {
  checkPassword,
  hashPassword,
  memoryUsers,
  mongoUsers,
  Role,
  ROLES,
  roleOf,
  seedDemoUsers,
  type UserDirectory,
} from './users.js';
import {
  accountPage,
  adminPage,
  BANNED,
  changePasswordPage,
  confirmPasswordPage,
  isAccountNoticeKey,
  isAdminNoticeKey,
  isNoticeKey,
  loginPage,
  messagePage,
  notifyRetryPage,
  type AccountNoticeKey,
  type AdminNoticeKey,
  type DeviceView,
  type EventView,
  type NoticeKey,
} from './views.js';

/** Where users and revocation state live: a MongoDB database, or this process's memory. */
export type Storage = { kind: 'mongo'; db: Db } | { kind: 'memory' };

export interface ExampleAppOptions {
  storage: Storage;
  /**
   * A connected Redis client (node-redis or ioredis): revocation state then lives in Redis, users stay in
   * `storage`. Unset: revocation state lives beside the users.
   */
  redis?: RedisClientLike | undefined;
  /** HS256 secret, at least 32 bytes. */
  secret: string;
  /** Mark the cookie `Secure`: true in production (https), false for http://localhost. */
  cookieSecure: boolean;
  /** Password given to the demo users created at start-up. */
  demoPassword: string;
  /**
   * Express `trust proxy` setting, for a TLS-terminating proxy in front: without it `req.protocol` is http,
   * the browser's https `Origin` does not match, and every form is refused as cross-site. Defaults to off.
   */
  trustProxy?: boolean | number | string | undefined;
  /** Token lifetime: a device idle for longer is signed out. Defaults to one hour. */
  expiresIn?: number | string | undefined;
  /** A token older than this is renewed on its next request; `false`: never. Defaults to half of `expiresIn`. */
  renewAfter?: number | string | false | undefined;
  /** Absolute session lifetime from sign-in, renewals included. Defaults to the library's 7 days. */
  maxAge?: number | string | undefined;
  /** How recent the last password entry must be for the password page. Defaults to five minutes. */
  freshAuthMaxAge?: number | string | undefined;
  /** Where the request log and warnings go. Defaults to stdout. */
  log?: (line: string) => void;
}

export interface ExampleApp {
  app: Express;
  /** The demo users created by this start (empty when they already existed). */
  createdUsers: string[];
  /** Closes the revocation store. The MongoDB and Redis clients, if any, belong to the caller. */
  close(): Promise<void>;
}

const WRONG_CREDENTIALS = 'Wrong username or password.';
const WRONG_PASSWORD = 'Wrong password.';
const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;
const MIN_NEW_PASSWORD = 8;
const STYLES = readFileSync(new URL('./styles.css', import.meta.url));

/** Where the "confirm your password" form may send the user back to: fixed keys, never a URL from the request. */
const RETURN_TO = { password: '/password' } as const;
type ReturnKey = keyof typeof RETURN_TO;

function isReturnKey(value: unknown): value is ReturnKey {
  return typeof value === 'string' && Object.hasOwn(RETURN_TO, value);
}

/** What the request log line says about a request besides method, path, status and duration. */
interface Outcome {
  user?: string;
  event?: string;
  error?: string;
}

function outcome(res: Response): Outcome {
  return ((res.locals as { outcome?: Outcome }).outcome ??= {});
}

function isApi(req: Request): boolean {
  return req.path === '/api' || req.path.startsWith('/api/');
}

function redirectToLogin(res: Response, notice?: NoticeKey): void {
  res.redirect(303, notice === undefined ? '/login' : `/login?notice=${notice}`);
}

function redirectToAccount(res: Response, notice: AccountNoticeKey): void {
  res.redirect(303, `/?notice=${notice}`);
}

function redirectToAdmin(res: Response, notice: AdminNoticeKey): void {
  res.redirect(303, `/admin?notice=${notice}`);
}

/** The string field `name` of a parsed form body, or ''. */
function field(req: Request, name: string): string {
  const value = ((req.body ?? {}) as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

/** The app's answer to a request the library refused: JSON under /api, else a redirect or an HTML page. */
function answerAuthError(error: SessionAuthError, req: Request, res: Response): void {
  outcome(res).error = error.code;
  if (isApi(req)) return sendErrorJson(res, error);
  // Signed in, but the last password entry is too old for this page: confirm the password first.
  if (error.code === 'reauthentication_required') {
    res.redirect(303, req.path === RETURN_TO.password ? '/confirm-password?next=password' : '/confirm-password');
    return;
  }
  if (error.status === 401)
    return redirectToLogin(res, error.code === 'credentials_required' ? undefined : 'session-ended');
  if (error.code === 'csrf_rejected') {
    res
      .status(403)
      .type('html')
      .send(
        messagePage(
          'Request refused',
          'This form was not sent from this site, so it was refused. Use the buttons on this site.',
        ),
      );
    return;
  }
  res.status(error.status).setHeader('Retry-After', '5');
  res
    .type('html')
    .send(
      messagePage(
        'Temporarily unavailable',
        'Sessions cannot be checked right now, so nothing protected is shown. Try again in a moment.',
      ),
    );
}

/** One line per finished request: never headers, cookies, query strings or request bodies. */
function requestLog(log: (line: string) => void): express.RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = new URL(req.originalUrl, 'http://localhost').pathname;
    let logged = false;
    const write = (status: string) => {
      if (logged) return;
      logged = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const { user, event, error } = outcome(res);
      const parts = [req.method, path, status, `${ms.toFixed(1)}ms`, `user=${user ?? '-'}`];
      if (event !== undefined) parts.push(event);
      if (error !== undefined) parts.push(`error=${error}`);
      log(parts.join(' '));
    };
    res.on('finish', () => write(String(res.statusCode)));
    res.on('close', () => write('aborted'));
    next();
  };
}

export async function createExampleApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const log = options.log ?? ((line: string) => console.log(line));
  const storage = options.storage;
  const users: UserDirectory = storage.kind === 'mongo' ? mongoUsers(storage.db) : memoryUsers();
  // Without Redis, the Mongo store writes `lastLogoutAt` into the same `users` documents that hold the
  // password hashes. On the bundled FerretDB, whose updates are not atomic (a concurrent write of the app could
  // put back an old copy), it finds that out by itself and keeps that state in its own `revocation_users`.
  const store: RevocationStore =
    options.redis !== undefined
      ? new RedisRevocationStore({ client: options.redis, prefix: 'example:', logger: { warn: log } })
      : storage.kind === 'mongo'
        ? new MongoRevocationStore({ db: storage.db, logger: { warn: log } })
        : new MemoryRevocationStore();

  // The device list needs a store that records sign-ins; the memory, Mongo and Redis stores all do.
  const hasDeviceRegistry = typeof store.listSessions === 'function';
  // Security events live beside the users: a capped collection in MongoDB, or the latest few per user in memory.
  const events: EventLog = storage.kind === 'mongo' ? await mongoEventLog(storage.db, log) : memoryEventLog();

  /** A user's claims as they are stored now; null for a banned (or deleted) user, which ends their sessions. */
  async function currentClaims(sub: string): Promise<{ role: Role } | null> {
    const user = await users.find(sub);
    return user === null || user.banned === true ? null : { role: roleOf(user) };
  }

  const auth = createSessionAuth({
    secret: options.secret,
    store,
    // The role rides in the token; after an admin changes it (or bans the user), refreshClaims makes every token
    // of the user reload it with loadClaims on its next request.
    claims: z.object({ role: Role }),
    loadClaims: currentClaims,
    // Never awaited by the library; a failing insert is logged once. Events without a user (the store going down
    // and coming back) are logged by the library itself.
    onEvent: (event) => events.record(event),
    expiresIn: options.expiresIn ?? '1h',
    ...(options.renewAfter === undefined ? {} : { renewAfter: options.renewAfter }),
    ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
    cookie: { name: 'session', secure: options.cookieSecure, sameSite: 'lax', path: '/' },
    logger: { warn: log },
    onError: answerAuthError,
    onLogout(_req, res) {
      outcome(res).event = 'logout=device';
      redirectToLogin(res, 'signed-out');
    },
    onLogoutAll(_req, res) {
      outcome(res).event = 'logout=everywhere';
      redirectToLogin(res, 'signed-out-everywhere');
    },
    onRevokeOthers(_req, res) {
      outcome(res).event = 'logout=others';
      redirectToAccount(res, 'others-signed-out');
    },
  });
  const requireFreshAuth = auth.requireFreshAuth(options.freshAuthMaxAge ?? '5m');
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  await auth.ready;
  const createdUsers = await seedDemoUsers(users, options.demoPassword);

  const app = express();
  app.disable('x-powered-by');
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  app.use(requestLog(log));
  app.use(securityHeaders({ https: options.cookieSecure }));

  // Static files come before authentication: no session lookup for a stylesheet.
  app.get('/styles.css', (_req, res) => {
    res.type('css').setHeader('Cache-Control', 'public, max-age=3600').send(STYLES);
  });
  app.get('/favicon.ico', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.status(204).end();
  });

  app.use((_req, res, next) => {
    // Pages show session details: never store them in a browser or shared cache.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(auth.authenticate);
  app.use((req, res, next) => {
    const session = auth.getAuth(req);
    if (session !== undefined) outcome(res).user = session.sub;
    next();
  });

  app.get('/login', (req, res) => {
    if (auth.getAuth(req) !== undefined) return res.redirect(303, '/');
    const notice = isNoticeKey(req.query.notice) ? req.query.notice : undefined;
    res.type('html').send(loginPage({ notice }));
  });

  app.post('/login', auth.verifyOrigin, form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (username === '' || password === '') {
      outcome(res).event = 'login=incomplete';
      res
        .status(400)
        .type('html')
        .send(loginPage({ error: 'Enter your username and password.', username: username.slice(0, MAX_USERNAME) }));
      return;
    }
    const user =
      username.length <= MAX_USERNAME && password.length <= MAX_PASSWORD
        ? await checkPassword(users, username, password)
        : undefined;
    if (user === undefined) {
      outcome(res).event = 'login=failed';
      res
        .status(401)
        .type('html')
        .send(loginPage({ error: WRONG_CREDENTIALS, username: username.slice(0, MAX_USERNAME) }));
      return;
    }
    // The password was right: only now may the answer tell that the account is banned.
    const claims = await currentClaims(user);
    if (claims === null) {
      Object.assign(outcome(res), { user, event: 'login=banned' });
      res
        .status(403)
        .type('html')
        .send(loginPage({ error: BANNED, username: user }));
      return;
    }
    // A sign-in on a browser that still holds a session replaces it: end the old one for good.
    const session = auth.getAuth(req);
    if (session !== undefined) await auth.revokeSession(session.sessionId, { sub: session.sub });
    await auth.login(res, { sub: user, ...claims });
    Object.assign(outcome(res), { user, event: 'login=ok' });
    res.redirect(303, '/');
  });

  app.get('/', auth.requireAuth, async (req, res) => {
    const session = auth.sessionOf(req);
    let devices: DeviceView[] | undefined;
    if (hasDeviceRegistry) {
      devices = (await auth.listSessions(session.sub)).map((s) => ({
        sessionId: s.sessionId,
        device: describeDevice(s.userAgent),
        signedInAt: s.signedInAt,
        lastActiveAt: s.lastActiveAt,
        ip: s.ip,
        current: s.sessionId === session.sessionId,
      }));
      // This device first, then the others, most recently active first (the order listSessions gives).
      devices.sort((a, b) => Number(b.current) - Number(a.current));
    }
    const recent: EventView[] = (await events.recent(session.sub, SHOWN_EVENTS)).map((e) => ({
      type: e.type,
      reason: e.reason,
      at: e.at,
      device: e.userAgent === undefined ? undefined : describeDevice(e.userAgent),
      ip: e.ip,
      sessionId: e.sessionId,
      current: e.sessionId === session.sessionId,
    }));
    const notice = isAccountNoticeKey(req.query.notice) ? req.query.notice : undefined;
    res.type('html').send(
      accountPage({
        username: session.sub,
        // The token's role: loaded again after an administrator changed it, before this route runs.
        role: session.role,
        sessionId: session.sessionId,
        signedInAt: session.signedInAt,
        authenticatedAt: session.authenticatedAt,
        issuedAt: session.issuedAt,
        expiresAt: session.expiresAt,
        sessionExpiresAt: session.sessionExpiresAt,
        devices,
        events: recent,
        notice,
      }),
    );
  });

  app.get('/api/me', auth.requireAuth, (req, res) => {
    const { sub, role, sessionId, signedInAt, authenticatedAt, issuedAt, expiresAt, sessionExpiresAt } =
      auth.sessionOf(req);
    res.json({ sub, role, sessionId, signedInAt, authenticatedAt, issuedAt, expiresAt, sessionExpiresAt });
  });

  // The admin page, for the `admin` role of the token (which follows the database through refreshClaims).
  const requireAdmin: express.RequestHandler = (req, res, next) => {
    if (auth.sessionOf(req).role === 'admin') return next();
    outcome(res).error = 'not_admin';
    res
      .status(403)
      .type('html')
      .send(messagePage('Administrators only', 'This page is for administrators, and your role is not one.'));
  };

  app.get('/admin', auth.requireAuth, requireAdmin, async (req, res) => {
    const notice = isAdminNoticeKey(req.query.notice) ? req.query.notice : undefined;
    res
      .type('html')
      .send(adminPage({ username: auth.sessionOf(req).sub, users: await users.list(), roles: ROLES, notice }));
  });

  /** The user a form of the admin page names, unless it is the administrator (who could lock themselves out). */
  function targetUser(req: Request, res: Response): string | undefined {
    const username = field(req, 'username');
    if (username !== auth.sessionOf(req).sub) return username;
    outcome(res).event = 'admin=refused-self';
    redirectToAdmin(res, 'not-yourself');
    return undefined;
  }

  function badRequest(res: Response): void {
    outcome(res).error = 'bad_request';
    res.status(400).type('html').send(messagePage('Bad request', 'The request could not be read.'));
  }

  app.post('/admin/role', auth.verifyOrigin, auth.requireAuth, requireAdmin, form, async (req, res) => {
    const role = Role.safeParse(field(req, 'role'));
    if (!role.success) return badRequest(res);
    const username = targetUser(req, res);
    if (username === undefined) return;
    if (!(await users.update(username, { role: role.data }))) {
      outcome(res).event = 'admin=unknown-user';
      return redirectToAdmin(res, 'unknown-user');
    }
    // After the change is stored: every token of the user signed before this reloads its claims on its next
    // request, so each device of theirs shows (and is checked against) the new role.
    if (!(await tellDevices(username, res))) return;
    outcome(res).event = 'admin=role';
    redirectToAdmin(res, 'role-changed');
  });

  /**
   * `refreshClaims` after a stored change; when the store cannot take it, a page that says so and sends it again
   * (the change stays stored, and the admin page would offer only the opposite action).
   */
  async function tellDevices(username: string, res: Response): Promise<boolean> {
    try {
      await auth.refreshClaims(username);
      return true;
    } catch (error) {
      if (!isSessionAuthError(error)) throw error;
      outcome(res).error = error.code;
      res.status(503).type('html').send(notifyRetryPage(username));
      return false;
    }
  }

  app.post('/admin/notify', auth.verifyOrigin, auth.requireAuth, requireAdmin, form, async (req, res) => {
    const username = targetUser(req, res);
    if (username === undefined) return;
    if (!(await tellDevices(username, res))) return;
    outcome(res).event = 'admin=notify';
    redirectToAdmin(res, 'notified');
  });

  app.post('/admin/ban', auth.verifyOrigin, auth.requireAuth, requireAdmin, form, async (req, res) => {
    const banned = field(req, 'banned');
    if (banned !== 'true' && banned !== 'false') return badRequest(res);
    const username = targetUser(req, res);
    if (username === undefined) return;
    const user = await users.find(username);
    if (user === null) {
      outcome(res).event = 'admin=unknown-user';
      return redirectToAdmin(res, 'unknown-user');
    }
    if (banned === 'false' && user.banned === true) {
      // A device idle through the whole ban never reloaded its claims: end it before lifting the ban, so that a
      // ban always signs every device out. No new session can start in between (sign-in refuses the banned).
      await auth.revokeUser(username);
    }
    await users.update(username, { banned: banned === 'true' });
    // A ban: on the next request of any of the user's tokens, loadClaims answers null and the library logs the
    // user out everywhere (401 logged_out_everywhere), on every device.
    if (banned === 'true' && !(await tellDevices(username, res))) return;
    outcome(res).event = banned === 'true' ? 'admin=ban' : 'admin=unban';
    redirectToAdmin(res, banned === 'true' ? 'banned' : 'unbanned');
  });

  if (hasDeviceRegistry) {
    // "Log out" next to another device. The library ends a posted id only when it is one of this user's
    // sessions: another user's session, an ended or a made-up one is refused (a ConfigError) and nothing
    // changes. This device logs out through /logout.
    app.post('/devices/logout', auth.verifyOrigin, auth.requireAuth, form, async (req, res) => {
      const { sub, sessionId: current } = auth.sessionOf(req);
      const posted = field(req, 'sessionId');
      const unknown = () => {
        outcome(res).event = 'logout=device-unknown';
        redirectToAccount(res, 'device-unknown');
      };
      if (posted === current) return unknown();
      try {
        await auth.revokeSession(posted, { sub });
      } catch (error) {
        if (error instanceof ConfigError && error.code === 'invalid_argument') return unknown();
        throw error;
      }
      outcome(res).event = 'logout=other-device';
      redirectToAccount(res, 'device-signed-out');
    });

    // CSRF-checked by the library; answers through onRevokeOthers (back to the account page).
    app.post('/logout-others', auth.revokeOtherSessions);
  }

  // Pages that change the account need a recent password entry (requireFreshAuth); an older one is sent to
  // this form first (see onError), and comes back once the password is confirmed.
  app.get('/confirm-password', auth.requireAuth, (req, res) => {
    const next = isReturnKey(req.query.next) ? req.query.next : undefined;
    res.type('html').send(confirmPasswordPage({ username: auth.sessionOf(req).sub, next }));
  });

  app.post('/confirm-password', auth.verifyOrigin, auth.requireAuth, form, async (req, res) => {
    const sub = auth.sessionOf(req).sub;
    const next = isReturnKey(field(req, 'next')) ? (field(req, 'next') as ReturnKey) : undefined;
    const password = field(req, 'password');
    const ok = password !== '' && password.length <= MAX_PASSWORD && (await checkPassword(users, sub, password));
    if (ok !== sub) {
      outcome(res).event = 'reauth=failed';
      res
        .status(401)
        .type('html')
        .send(confirmPasswordPage({ username: sub, next, error: WRONG_PASSWORD }));
      return;
    }
    try {
      // Re-reads the revocation state first: a logout that raced the password check wins.
      await auth.reauthenticate(req, res);
    } catch (error) {
      // Revoked or expired meanwhile: the sign-in page; the store unreachable: the 503 page.
      if (!isSessionAuthError(error)) throw error;
      return answerAuthError(error, req, res);
    }
    outcome(res).event = 'reauth=ok';
    res.redirect(303, next === undefined ? '/' : RETURN_TO[next]);
  });

  app.get('/password', requireFreshAuth, (req, res) => {
    res.type('html').send(changePasswordPage({ username: auth.sessionOf(req).sub }));
  });

  app.post('/password', auth.verifyOrigin, requireFreshAuth, form, async (req, res) => {
    const sub = auth.sessionOf(req).sub;
    const newPassword = field(req, 'newPassword');
    const problem =
      newPassword.length < MIN_NEW_PASSWORD
        ? `Choose a password of at least ${MIN_NEW_PASSWORD} characters.`
        : newPassword.length > MAX_PASSWORD
          ? `Choose a password of at most ${MAX_PASSWORD} characters.`
          : newPassword !== field(req, 'confirmPassword')
            ? 'The two passwords differ. Type the same new password twice.'
            : undefined;
    if (problem !== undefined) {
      outcome(res).event = 'password=rejected';
      res
        .status(400)
        .type('html')
        .send(changePasswordPage({ username: sub, error: problem }));
      return;
    }
    if (!(await users.setPassword(sub, await hashPassword(newPassword)))) {
      throw new Error('the signed-in user has no stored password');
    }
    // Everyone else who knew the old password is out: revokeUser ends every session of the user, then a fresh
    // auth.login signs this device in again. Chosen over listing the sessions and revoking the others
    // (revokeOtherSessions' way) because the watermark also ends sessions the device registry does not list
    // (signed in before it existed, or a registration lost to an outage), and works on a store with no
    // registry at all. It ends this device's old token too, so a copy of this very cookie taken before the
    // change (the likeliest reason to change a password) stops working as well. The cost: this device gets a
    // new session id, and its "Signed in" time restarts now.
    await auth.revokeUser(sub);
    await auth.login(res, { sub, role: auth.sessionOf(req).role });
    outcome(res).event = 'password=changed';
    redirectToAccount(res, 'password-changed');
  });

  // Both check the request's Origin / Sec-Fetch-Site first (403 csrf_rejected for a cross-site form).
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);

  app.use((req, res) => {
    if (isApi(req)) {
      res.status(404).json({ error: { code: 'not_found', message: 'No such endpoint.' } });
      return;
    }
    res.status(404).type('html').send(messagePage('Not found', 'There is no page at this address.'));
  });

  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const declared = (error as { status?: unknown } | null)?.status;
    const status = typeof declared === 'number' && declared >= 400 && declared < 500 ? declared : 500;
    outcome(res).error = status === 500 ? 'internal' : 'bad_request';
    if (status === 500) log(`error: ${error instanceof Error ? error.message : String(error)}`);
    const message = status === 500 ? 'Something went wrong on our side.' : 'The request could not be read.';
    if (isApi(req)) {
      res.status(status).json({ error: { code: status === 500 ? 'internal' : 'bad_request', message } });
      return;
    }
    res
      .status(status)
      .type('html')
      .send(messagePage(status === 500 ? 'Server error' : 'Bad request', message));
  });

  return {
    app,
    createdUsers,
    close: () => auth.close(),
  };
}
