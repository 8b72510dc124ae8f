// The system under test for the model-based test: several app instances (each its own clock offset and key
// ring) sharing one revocation store behind a switch that can take it down, driven over HTTP with supertest.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import {
  createSessionAuth,
  isSessionAuthError,
  sendErrorJson,
  type RevocationState,
  type RevocationStore,
  type SessionAuth,
} from '../../lib/index.js';
import type { SessionRecord } from '../../lib/stores/revocation-store.js';

/** Lifetimes shared by every instance (seconds). */
export interface Lifetimes {
  expiresIn: number;
  renewAfter: number;
  maxAge: number;
  fresh: number;
  maxSessions: number;
}

/** Key material by generation: generation g signs with `k<g>` and also verifies `k<g-1>`. */
export const KEYS = [0, 1, 2, 3].map((g) => ({ kid: `k${g}`, secret: randomBytes(32) }));

export function ringOf(generation: number): string[] {
  return generation === 0 ? ['k0'] : [`k${generation}`, `k${generation - 1}`];
}

/**
 * The test clock. Model time `t` (ms since `base`) moves only when the history says so; `drift` is 1 ms that
 * appears once a logout-everywhere or a claims change has been written, so the wait of `revokeUser` (and of
 * `refreshClaims`) for the clock to pass its mark ends at once instead of after its 50 ms bound (the model never
 * reads a time stamped after that point).
 */
export class Clock {
  t = 0;
  drift = 0;
  constructor(readonly base: number) {}
  at(offset: number): number {
    return this.base + this.t + offset + this.drift;
  }
}

/** The claims every token carries: the version of the user's row in the app's table (`ClaimsTable`). */
export const Claims = z.object({ ver: z.number().int() });

/**
 * The app's own user table that `loadClaims` reads (one per history, shared by its instances): each user's claims
 * version and whether the user is banned. `mode` breaks `loadClaims` (it throws, or answers claims the schema
 * refuses); `calls` counts every call, so the model can say which requests load claims.
 */
export class ClaimsTable {
  readonly users = new Map<string, { ver: number; banned: boolean }>();
  mode: 'ok' | 'throws' | 'invalid' = 'ok';
  calls = 0;
  row(sub: string): { ver: number; banned: boolean } {
    let row = this.users.get(sub);
    if (row === undefined) this.users.set(sub, (row = { ver: 0, banned: false }));
    return row;
  }
  /** The app's `loadClaims`: the user's claims now, or null for a banned user. */
  load(sub: string): { ver: unknown } | null {
    this.calls++;
    if (this.mode === 'throws') throw new Error('the user table is unreachable (simulated)');
    if (this.mode === 'invalid') return { ver: 'not a number' };
    const row = this.row(sub);
    return row.banned ? null : { ver: row.ver };
  }
}

/**
 * The shared store behind a switch: `down` makes every call fail (a database that refuses connections), and
 * every call is tracked so the harness can wait for fire-and-forget writes (the registry touch of a renewal).
 */
export class SwitchStore implements RevocationStore {
  down = false;
  readonly #pending = new Set<Promise<unknown>>();
  constructor(
    readonly inner: Required<Pick<RevocationStore, 'getState' | 'revokeUser' | 'revokeSession'>> &
      Required<Pick<RevocationStore, 'registerSession' | 'touchSession' | 'listSessions' | 'markClaimsChanged'>>,
    readonly clock: Clock,
  ) {}

  #call<T>(run: () => T | Promise<T>): Promise<T> {
    const p = this.down
      ? Promise.reject(new Error('connection refused (simulated outage)'))
      : Promise.resolve().then(run);
    const tracked = p.finally(() => this.#pending.delete(tracked));
    tracked.catch(() => undefined);
    this.#pending.add(tracked);
    return p;
  }

  getState(sub: string, sessionId: string, issuedAtMs: number): Promise<RevocationState> {
    return this.#call(() => this.inner.getState(sub, sessionId, issuedAtMs));
  }
  revokeUser(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    return this.#call(async () => {
      await this.inner.revokeUser(sub, at, relevantUntil);
      this.clock.drift = 1;
    });
  }
  revokeSession(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    return this.#call(() => this.inner.revokeSession(sessionId, sub, expiresAt));
  }
  markClaimsChanged(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    return this.#call(async () => {
      await this.inner.markClaimsChanged(sub, at, relevantUntil);
      this.clock.drift = 1;
    });
  }
  registerSession(record: SessionRecord): Promise<void> {
    return this.#call(() => this.inner.registerSession(record));
  }
  touchSession(sessionId: string, sub: string, at: Date): Promise<void> {
    return this.#call(() => this.inner.touchSession(sessionId, sub, at));
  }
  listSessions(sub: string): Promise<SessionRecord[]> {
    return this.#call(() => this.inner.listSessions(sub));
  }

  /** Resolves once every call made so far has settled. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

export interface Instance {
  auth: SessionAuth<typeof Claims>;
  app: express.Express;
  offset: number;
  generation: number;
  /** Routes this instance's requests on the shared server (`send`). */
  id: string;
}

/**
 * Every instance of every history answers on one server that stays up, over kept-alive connections: a server
 * and a connection per request (supertest given an app) used up the ephemeral ports in a 10,000-history run
 * (`listen EADDRINUSE`). An instance is chosen by a header, and forgotten by `retire`.
 */
const shared = {
  apps: new Map<string, express.Express>(),
  next: 0,
  agent: new http.Agent({ keepAlive: true }),
  server: undefined as Promise<http.Server> | undefined,
};

function sharedServer(): Promise<http.Server> {
  shared.server ??= new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      const app = shared.apps.get(String(req.headers['x-model-instance']));
      if (app === undefined) res.writeHead(421).end();
      else app(req, res);
    });
    server.once('error', reject).listen(0, '127.0.0.1', () => resolve(server));
  });
  return shared.server;
}

/** Forgets instances that no longer answer (a history ended, or a key rotation replaced them). */
export function retire(instances: Iterable<Instance>): void {
  for (const instance of instances) shared.apps.delete(instance.id);
}

/** Closes the shared server and its connections (at the end of a run: the process may then exit). */
export async function closeSharedServer(): Promise<void> {
  const pending = shared.server;
  shared.server = undefined;
  shared.agent.destroy();
  shared.agent = new http.Agent({ keepAlive: true });
  if (pending === undefined) return;
  const server = await pending;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * One app instance: the README's routes plus the session-management ones, with claims (`ver`) loaded from the
 * history's user table.
 */
export function buildInstance(
  store: SwitchStore,
  clock: Clock,
  life: Lifetimes,
  offset: number,
  generation: number,
  table: ClaimsTable,
) {
  const auth = createSessionAuth({
    keys: ringOf(generation).map((kid) => ({ kid, secret: KEYS[Number(kid.slice(1))]?.secret as Buffer })),
    store,
    cookie: { secure: false },
    expiresIn: life.expiresIn,
    renewAfter: life.renewAfter,
    maxAge: life.maxAge,
    maxSessions: life.maxSessions,
    storeTimeoutMs: 5000,
    logger: { warn: () => {} },
    now: () => clock.at(offset),
    claims: Claims,
    loadClaims: (sub) => table.load(sub), // synchronous: a throw is the rejection of an async one
  });
  const app = express();
  app.use(express.json());
  app.use(auth.authenticate);
  const answer = (res: express.Response, next: express.NextFunction) => (error: unknown) =>
    isSessionAuthError(error) ? sendErrorJson(res, error) : next(error);
  // A banned user is refused at sign-in by the app itself (as docs/claims-and-events.md asks).
  app.post('/login', (req, res, next) => {
    const sub = String((req.body as { sub: string }).sub);
    const row = table.row(sub);
    if (row.banned) {
      res.status(403).json({ error: { code: 'banned' } });
      return;
    }
    auth.login(res, { sub, ver: row.ver }).then((s) => res.json({ sessionId: s.sessionId }), answer(res, next));
  });
  // Each route answers the claims it sees (`ver`, null without a session).
  app.get('/me', auth.requireAuth, (req, res) => {
    const session = auth.sessionOf(req);
    res.json({ sub: session.sub, sessionId: session.sessionId, ver: session.ver });
  });
  app.get('/public', (req, res) => {
    res.json({ sub: auth.getAuth(req)?.sub ?? null, ver: auth.getAuth(req)?.ver ?? null });
  });
  app.get('/sensitive', auth.requireFreshAuth(life.fresh), (req, res) => {
    res.json({ sub: auth.sessionOf(req).sub, ver: auth.sessionOf(req).ver });
  });
  app.post('/reauth', (req, res, next) => {
    auth.reauthenticate(req, res).then((s) => res.json({ sessionId: s.sessionId }), answer(res, next));
  });
  app.post('/logout', auth.logout);
  app.post('/logout-all', auth.logoutAll);
  app.post('/revoke-others', auth.revokeOtherSessions);
  // Anything unexpected (a thrown ConfigError, a bug) must show up as a 500, never as a hang.
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: { code: 'internal', message: String(error) } });
  });
  const id = String(shared.next++);
  shared.apps.set(id, app);
  return { auth, app, offset, generation, id } satisfies Instance;
}

export interface Answer {
  status: number;
  code: string | undefined;
  /** The token set by the response (the last Set-Cookie wins), `null` when it expired the cookie, else undefined. */
  cookie: string | null | undefined;
  body: Record<string, unknown>;
}

/** Sends one request to an instance, with the session cookie when given. */
export async function send(
  instance: Instance,
  method: 'get' | 'post',
  path: string,
  token: string | undefined,
  body?: object,
): Promise<Answer> {
  const server = await sharedServer();
  let req = request(server)[method](path).agent(shared.agent).set('X-Model-Instance', instance.id);
  if (token !== undefined) req = req.set('Cookie', `session=${token}`);
  const res = body === undefined ? await req : await req.send(body);
  let cookie: string | null | undefined;
  for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
    if (!line.startsWith('session=')) continue;
    const value = line.slice('session='.length).split(';')[0] ?? '';
    cookie = value === '' ? null : value;
  }
  const parsed = (res.body ?? {}) as Record<string, unknown>;
  return { status: res.status, code: (parsed.error as { code?: string } | undefined)?.code, cookie, body: parsed };
}

/** The payload of a compact JWT, unverified. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
