// The example site: sign-in form, account page, JSON endpoint and the two logout buttons, on Express 5.
import { readFileSync } from 'node:fs';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  createSessionAuth,
  MemoryRevocationStore,
  sendErrorJson,
  type RevocationStore,
  type SessionAuthError,
} from 'express-revocable-jwt';
import { MongoRevocationStore } from 'express-revocable-jwt/mongodb';
import { RedisRevocationStore, type RedisClientLike } from 'express-revocable-jwt/redis';
import type { Db } from 'mongodb';
import { securityHeaders } from './security.js';
import { checkPassword, memoryUsers, mongoUsers, seedDemoUsers, type UserDirectory } from './users.js';
import { accountPage, isNoticeKey, loginPage, messagePage, type NoticeKey } from './views.js';

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
  /** Session lifetime. Defaults to one hour. */
  expiresIn?: string;
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
const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;
const STYLES = readFileSync(new URL('./styles.css', import.meta.url));

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

  const auth = createSessionAuth({
    secret: options.secret,
    store,
    expiresIn: options.expiresIn ?? '1h',
    cookie: { name: 'session', secure: options.cookieSecure, sameSite: 'lax', path: '/' },
    logger: { warn: log },
    onError(error: SessionAuthError, req, res) {
      outcome(res).error = error.code;
      if (isApi(req)) return sendErrorJson(res, error);
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
    },
    onLogout(_req, res) {
      outcome(res).event = 'logout=device';
      redirectToLogin(res, 'signed-out');
    },
    onLogoutAll(_req, res) {
      outcome(res).event = 'logout=everywhere';
      redirectToLogin(res, 'signed-out-everywhere');
    },
  });
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
    if (req.auth !== undefined) outcome(res).user = req.auth.sub;
    next();
  });

  app.get('/login', (req, res) => {
    if (req.auth !== undefined) return res.redirect(303, '/');
    const notice = isNoticeKey(req.query.notice) ? req.query.notice : undefined;
    res.type('html').send(loginPage({ notice }));
  });

  app.post('/login', auth.verifyOrigin, express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
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
    // A sign-in on a browser that still holds a session replaces it: end the old one for good.
    if (req.auth !== undefined)
      await auth.revokeSession(req.auth.sessionId, { sub: req.auth.sub, expiresAt: req.auth.expiresAt });
    await auth.login(res, { sub: user });
    Object.assign(outcome(res), { user, event: 'login=ok' });
    res.redirect(303, '/');
  });

  app.get('/', auth.requireAuth, (req, res) => {
    const session = req.auth!;
    res.type('html').send(
      accountPage({
        username: session.sub,
        sessionId: session.sessionId,
        issuedAt: session.issuedAt,
        expiresAt: session.expiresAt,
      }),
    );
  });

  app.get('/api/me', auth.requireAuth, (req, res) => {
    const { sub, sessionId, issuedAt, expiresAt } = req.auth!;
    res.json({ sub, sessionId, issuedAt, expiresAt });
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
