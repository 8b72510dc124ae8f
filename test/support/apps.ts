// Test apps: the same routes on Express 5 and Express 4, wired the way the README shows.
import { randomBytes } from 'node:crypto';
import express5, { type Express } from 'express';
import express4 from 'express4';
import {
  createSessionAuth,
  MemoryRevocationStore,
  type SessionAuth,
  type SessionAuthOptions,
} from '../../lib/index.js';

export const EXPRESS_VERSIONS = [
  { name: 'Express 5', express: express5 },
  { name: 'Express 4', express: express4 },
] as const;

export type ExpressFactory = typeof express5;

export function testSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Options for a test app: a fresh secret and memory store unless given, cookies usable over plain http. */
export function testOptions(overrides: Partial<SessionAuthOptions> = {}): SessionAuthOptions {
  return {
    secret: testSecret(),
    store: new MemoryRevocationStore(),
    cookie: { secure: false },
    logger: { warn: () => {} },
    ...overrides,
  };
}

/** An app with the routes of the README's quick start; `POST /login` takes `{ sub, ...claims }` as JSON. */
export function buildApp(express: ExpressFactory, auth: SessionAuth): Express {
  const app = express();
  app.use(express.json());
  app.use(auth.authenticate);
  app.post('/login', (req, res, next) => {
    auth.login(res, req.body as { sub: string }).then((session) => res.json({ sessionId: session.sessionId }), next);
  });
  app.get('/public', (req, res) => {
    res.json({ auth: auth.getAuth(req) ?? null });
  });
  app.get('/me', auth.requireAuth, (req, res) => {
    res.json(auth.sessionOf(req));
  });
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);
  return app;
}

export function createTestAuth(overrides: Partial<SessionAuthOptions> = {}): SessionAuth {
  return createSessionAuth(testOptions(overrides));
}

/** The error code of a JSON error response (`{ error: { code } }`), or undefined. */
export function errorCode(res: { body: unknown }): string | undefined {
  return (res.body as { error?: { code?: string } } | undefined)?.error?.code;
}

/** The `name=value` part of the first Set-Cookie header for `name`, ready to send back as a Cookie header. */
export function cookieFrom(setCookie: string[] | string | undefined, name = 'session'): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  const line = all.find((c) => c.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`no Set-Cookie for ${name} in ${JSON.stringify(all)}`);
  return line.split(';')[0] as string;
}
