// createSessionAuth: validates the options once and wires the token, revocation and HTTP parts together.
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { SessionAuthError } from './core/session-auth-error.js';
import { ConfigError } from './core/config-error.js';
import { sessionLifetimeBound } from './config/lifetimes.js';
import { MAX_SESSIONS_PER_USER } from './core/limits.js';
import { normalizeOrigin, type sessionAuthOptionsSchema } from './config/options.js';
import { createCookieWriter } from './http/cookie.js';
import { createErrorResponder } from './http/error-response.js';
import { createFreshAuth } from './http/fresh-auth.js';
import { createGuards } from './http/guards.js';
import { createLogin } from './http/login.js';
import { createLogoutHandlers } from './http/logout.js';
import { createRequestAuth } from './http/request-auth.js';
import { createSessionHandlers, type SessionSummary } from './http/sessions.js';
import { createRevocationEngine } from './revocation/revocation-engine.js';
import { resolveSessionAuthConfig } from './session-auth-config.js';
import { initStore, type RevocationStore } from './stores/revocation-store.js';
import { createEventEmitter } from './config/session-events.js';
import { createClaimsParser, createLoginClaimsCheck } from './token/claims.js';
import type { SignedSession } from './token/sign-token.js';
import { createTokenVerifier } from './token/verify-token.js';
import type { AuthInfo } from './core/session-info.js';

/**
 * The options of `createSessionAuth`; `C` is the zod schema of the extra claims. Every option but `store` and
 * `claims` is declared, with its documentation and default, by the one schema that validates it.
 */
export interface SessionAuthOptions<C extends z.ZodObject = z.ZodObject<Record<never, never>>> extends Omit<
  z.input<typeof sessionAuthOptionsSchema>,
  'store' | 'claims'
> {
  /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore`, `RedisRevocationStore` or your own. */
  store: RevocationStore;
  /** A zod object of extra claims: validated at sign-in and on every request, typed by `auth.sessionOf(req)`. */
  claims?: C;
}

/** The extra claims of schema `C` (none without a `claims` option), as given to login or read from a session. */
type Extra<T> = string extends keyof T ? Record<never, never> : T;

/** The claims `auth.login` takes: `sub` plus the extra claims of the `claims` schema. */
export type LoginClaims<C extends z.ZodObject> = {
  /** The user: a non-empty string, such as your user id. */
  sub: string;
} & Extra<z.input<C>>;

/** What `createSessionAuth` returns: middlewares to mount and functions to call. */
export interface SessionAuth<C extends z.ZodObject = z.ZodObject<Record<never, never>>> {
  /**
   * Reads the session of a valid, unrevoked cookie (and renews an old token) for `auth.sessionOf(req)`; never
   * rejects a request.
   * @example app.use(auth.authenticate);
   */
  authenticate: RequestHandler;
  /**
   * Per-route guard: unauthenticated requests get the error response (401, or 503 while failing closed).
   * @example app.get('/me', auth.requireAuth, (req, res) => res.json(auth.sessionOf(req)));
   */
  requireAuth: RequestHandler;
  /**
   * Logs out this device session: revokes it, expires the cookie, 204. Idempotent; CSRF-checked.
   * @example app.post('/logout', auth.logout);
   */
  logout: RequestHandler;
  /**
   * Logs out every device of the signed-in user: raises their `lastLogoutAt`, expires the cookie, 204.
   * @example app.post('/logout-all', auth.logoutAll);
   */
  logoutAll: RequestHandler;
  /**
   * The Origin / Sec-Fetch-Site check of logout routes, for the app's own forms.
   * @example app.post('/login', auth.verifyOrigin, loginHandler);
   */
  verifyOrigin: RequestHandler;
  /** Starts a new device session: signs a token and sets the cookie. Call it after checking the password. */
  login(res: Response, claims: LoginClaims<C>): Promise<SignedSession>;
  /** Logs a user out everywhere (e.g. after a password change); resolves to the new watermark. */
  revokeUser(sub: string): Promise<Date>;
  /**
   * Lowers the store's session-lifetime bound to this instance's (its `maxAge` plus 10 minutes): how long a logout
   * everywhere or a claims change is kept. Each instance raises the bound to its own at startup and never lowers
   * it; a store first used by an older version starts at 400 days, since older instances (and `createRevocation`)
   * count as 400 days. Call this once every instance sharing the store runs this version: an instance with longer
   * sessions raises it back within a minute, and what was written meanwhile is re-written. Resolves to the new
   * bound in ms. A store without the capability (a custom store) keeps 400 days: this rejects with a `ConfigError`.
   * @example await auth.lowerRevocationLifetime(); // once, after the whole fleet was upgraded
   */
  lowerRevocationLifetime(): Promise<number>;
  /**
   * After the app changed user `sub`'s claims (a role, a plan, a ban): every token of the user signed before this
   * resolves has its claims loaded again (`loadClaims`) on its next request, on every instance (within
   * `maxRevocationDelay` on the others in that mode). Resolves to the change's time. Needs a store that records
   * claims changes.
   * @example await users.updateOne({ _id: 'bob' }, { $set: { role: 'admin' } }); await auth.refreshClaims('bob');
   */
  refreshClaims(sub: string): Promise<Date>;
  /**
   * Logs out one device session of user `sub` by its id (e.g. from a "your devices" page). With a device
   * registry, the id must be one of `listSessions(sub)` (or already revoked): otherwise it rejects with a
   * `ConfigError` and revokes nothing. The entry is kept until the session's end (from the registry; a later
   * `expiresAt` lengthens it), or for the longest lifetime any instance allows (400 days) without a registry.
   */
  revokeSession(sessionId: string, options: { sub: string; expiresAt?: Date }): Promise<void>;
  /** The live sessions of user `sub`, most recently active first (needs a store with a device registry). */
  listSessions(sub: string): Promise<SessionSummary[]>;
  /** Ends every other session of the signed-in user; 204 (or `onRevokeOthers`). CSRF-checked; 401 when signed out. */
  revokeOtherSessions: RequestHandler;
  /** Guard: 401 `reauthentication_required` unless the last password entry of this session is at most `maxAge` old. */
  requireFreshAuth(maxAge: number | string): RequestHandler;
  /** After the app re-checked the password: marks this session freshly authenticated (re-issues its cookie). */
  reauthenticate(req: Request, res: Response): Promise<SignedSession>;
  /**
   * The session of a request that passed this instance's `requireAuth` (or `authenticate` with a valid cookie),
   * typed with this instance's claims; never another instance's session or a payload on `req.auth`. Throws
   * `SessionAuthError` `credentials_required` when the request has none, so a route behind `requireAuth` reads it
   * without `!` or `?.`.
   * @example app.get('/me', auth.requireAuth, (req, res) => res.json(auth.sessionOf(req)));
   */
  sessionOf(req: Request): AuthInfo<Extra<z.output<C>>>;
  /** This instance's session of a request, typed with its claims, or undefined when it has none. */
  getAuth(req: Request): AuthInfo<Extra<z.output<C>>> | undefined;
  /**
   * Settles once the store's one-time setup (indexes, checks) ran and, with `maxRevocationDelay` on a store with a
   * change feed, the first copy of the revocations was read; each step for at most `storeTimeoutMs`. Never
   * rejects (problems are logged; our stores retry their setup on their next write).
   */
  ready: Promise<void>;
  /** Closes the store (and the MongoDB client it opened itself). */
  close(): Promise<void>;
}

/**
 * Creates revocable JWT cookie sessions. Call it once at startup; it throws a `ConfigError` naming the option
 * and the fix when something is wrong.
 *
 * @example
 * ```ts
 * const auth = createSessionAuth({ secret: process.env.SESSION_SECRET, store: new MemoryRevocationStore() });
 * app.use(auth.authenticate);
 * app.post('/login', auth.verifyOrigin, async (req, res) => { await auth.login(res, { sub: 'alice' }); res.end(); });
 * app.get('/me', auth.requireAuth, (req, res) => res.json(auth.sessionOf(req)));
 * app.post('/logout', auth.logout);
 * app.post('/logout-all', auth.logoutAll);
 * ```
 */
export function createSessionAuth<C extends z.ZodObject = z.ZodObject<Record<never, never>>>(
  options: SessionAuthOptions<C>,
): SessionAuth<C> {
  const { config, keys, lifetimes } = resolveSessionAuthConfig(options);

  const { store, logger, issuer, audience } = config;
  const emit = createEventEmitter(config.onEvent, logger, config.now ?? Date.now);
  const engine = createRevocationEngine({
    ...config,
    store,
    issuedAtPrecision: 'milliseconds',
    maxRevocationDelayMs: config.maxRevocationDelay,
    copyLimit: config.revocationCopyLimit,
    declaredLifetimeMs: sessionLifetimeBound(lifetimes),
    emit,
  });
  const checkClaims = createLoginClaimsCheck(config.claims);
  const cookie = createCookieWriter({ ...config.cookie, domain: config.cookie.domain });
  const tokenSettings = {
    algorithm: keys.algorithm,
    signingKey: keys.signingKey,
    keyId: keys.keyId,
    ...lifetimes,
    issuer,
    audience,
  };
  const requestAuth = createRequestAuth({
    cookieName: config.cookie.name,
    cookie,
    verifyToken: createTokenVerifier({
      keys,
      clockTolerance: config.clockTolerance,
      issuer,
      audience,
      now: config.now,
    }),
    verifyAnyExpiry: createTokenVerifier({ keys, clockTolerance: 0, issuer, audience, ignoreExpiration: true }),
    parseClaims: createClaimsParser<Record<string, unknown>>(config.claims),
    engine,
    tokenSettings,
    renewAfterMs: lifetimes.renewAfterSeconds === undefined ? undefined : lifetimes.renewAfterSeconds * 1000,
    loadClaims: config.loadClaims,
    checkClaims,
    loadClaimsTimeoutMs: config.storeTimeoutMs,
    logger,
    emit,
  });
  const respond = createErrorResponder(config.onError);
  const trustedOrigins = new Set(config.trustedOrigins.map((o) => normalizeOrigin(o) as string));
  const { onLogout, onLogoutAll, onRevokeOthers } = config;

  return {
    ...createGuards(requestAuth, respond, trustedOrigins),
    ...createLogoutHandlers({ requestAuth, engine, respond, trustedOrigins, onLogout, onLogoutAll }),
    ...createSessionHandlers({ requestAuth, engine, respond, trustedOrigins, onRevokeOthers }),
    ...createFreshAuth(requestAuth, respond),
    login: createLogin({
      checkClaims,
      tokenSettings,
      cookie,
      engine,
      maxSessions: config.maxSessions ?? MAX_SESSIONS_PER_USER,
      emit,
      arrivedAt: requestAuth.arrivedAt,
    }),
    revokeUser: async (sub) => {
      const at = await engine.revokeUser(sub);
      emit({ type: 'logout_everywhere', sub, reason: 'revoke_user' });
      return at;
    },
    refreshClaims: async (sub) => {
      const at = await engine.refreshClaims(sub);
      emit({ type: 'claims_changed', sub });
      return at;
    },
    revokeSession: async (sessionId, opts) => {
      if (await engine.revokeListedSession(sessionId, opts?.sub, opts?.expiresAt))
        emit({ type: 'session_ended', sub: opts.sub, sessionId, reason: 'by_id' });
    },
    sessionOf: (req) => {
      const auth = requestAuth.sessionOf(req);
      if (auth === undefined) throw new SessionAuthError('credentials_required');
      return auth as AuthInfo<Extra<z.output<C>>>;
    },
    getAuth: (req) => requestAuth.sessionOf(req) as AuthInfo<Extra<z.output<C>>> | undefined,
    lowerRevocationLifetime: async () => {
      if (!engine.lifetime.enabled)
        throw new ConfigError(
          'store',
          'keeps no session-lifetime bound (`declareLifetime`): its logouts everywhere are kept 400 days.',
          { code: 'unsupported' },
        );
      return (await engine.lifetime.lower()).lifetimeMs;
    },
    ready: initStore(store, logger, config.storeTimeoutMs).then(engine.warmUp),
    close: async () => {
      engine.lifetime.stop();
      await store.close?.();
    },
  };
}
