// createSessionAuth: wires options, keys, cookie, express-jwt and the store into the public middlewares.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { expressjwt } from 'express-jwt';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { createCookieWriter, readCookie } from './cookie.js';
import { isSameOriginRequest, normalizeOrigin } from './csrf.js';
import { isSessionAuthError, SessionAuthError, sendErrorJson } from './errors.js';
import { resolveKeys } from './keys.js';
import { looksLikeRequest, namedMiddleware } from './middleware-guard.js';
import { sessionAuthOptionsSchema, type SessionAuthOptions } from './options.js';
import { createGuardedStore, revocationReason, waitForClockToPass } from './revocation.js';
import { assertRevocationStore } from './store.js';
import { createClaimsParser, RESERVED_CLAIMS, signSessionToken, type SignedSession } from './token.js';
import type { AuthInfo } from './types.js';
import { validateOptions } from './validate-options.js';

/** A token larger than this is rejected before any decoding; browsers cap a cookie at 4096 bytes anyway. */
const MAX_TOKEN_LENGTH = 8192;
const PAYLOAD_PROPERTY = '__revocableJwtPayload';

/** The extra claims of schema `C` (none without a `claims` option), as given to login or read from `req.auth`. */
type Extra<T> = string extends keyof T ? Record<never, never> : T;

/** The claims `auth.login` takes: `sub` plus the extra claims of the `claims` schema. */
export type LoginClaims<C extends z.ZodObject> = { sub: string } & Extra<z.input<C>>;

export interface SessionAuth<C extends z.ZodObject = z.ZodObject<Record<never, never>>> {
  /** `app.use(auth.authenticate)`: sets `req.auth` for a valid, unrevoked cookie; never rejects a request. */
  authenticate: RequestHandler;
  /** Per-route guard: unauthenticated requests get the error response (401, or 503 while failing closed). */
  requireAuth: RequestHandler;
  /** Logs out this device session: revokes it, expires the cookie, 204. Idempotent. */
  logout: RequestHandler;
  /** Logs out every device of the signed-in user: raises their `lastLogoutAt`, expires the cookie, 204. */
  logoutAll: RequestHandler;
  /** The Origin / Sec-Fetch-Site check of logout routes, for the app's own forms (e.g. `POST /login`). */
  verifyOrigin: RequestHandler;
  /** Starts a new device session: signs a token and sets the cookie. Call it after checking the password. */
  login(res: Response, claims: LoginClaims<C>): Promise<SignedSession>;
  /** Logs a user out everywhere (e.g. after a password change); resolves to the new watermark. */
  revokeUser(sub: string): Promise<Date>;
  /** Logs out one device session of user `sub` by its id (e.g. from a "your devices" page). */
  revokeSession(sessionId: string, options: { sub: string; expiresAt?: Date }): Promise<void>;
  /** `req.auth`, typed with this instance's claims. */
  getAuth(req: Request): AuthInfo<Extra<z.output<C>>> | undefined;
  /** Settles once the store's one-time setup (indexes) ran; never rejects (problems are logged). */
  ready: Promise<void>;
  /** Closes the store (and the MongoDB client it opened itself). */
  close(): Promise<void>;
}

interface Verified {
  /** Set when signature, expiry and claims are valid (whatever the revocation state). */
  session?: { sub: string; sessionId: string; issuedAtMs: number; expMs: number; auth: AuthInfo };
  error?: SessionAuthError;
}

interface Outcome {
  auth?: AuthInfo;
  error?: SessionAuthError;
  verified: Verified;
}

export function createSessionAuth<C extends z.ZodObject = z.ZodObject<Record<never, never>>>(
  options: SessionAuthOptions<C>,
): SessionAuth<C> {
  if (looksLikeRequest(options)) {
    throw new ConfigError(
      '',
      '`createSessionAuth` was mounted as a middleware without being called. Call it once at startup and mount its middlewares: `const auth = createSessionAuth({ secret, store }); app.use(auth.authenticate);`',
    );
  }
  const config = validateOptions(sessionAuthOptionsSchema, options, 'createSessionAuth');
  assertRevocationStore(config.store);
  const keys = resolveKeys(config);
  const reserved = Object.keys(config.claims?.shape ?? {}).filter((k) =>
    (RESERVED_CLAIMS as readonly string[]).includes(k),
  );
  if (reserved.length > 0) {
    throw new ConfigError(
      'claims',
      `defines ${reserved.map((k) => `\`${k}\``).join(', ')}, which this package sets itself (${RESERVED_CLAIMS.join(', ')}). Rename those claims.`,
    );
  }
  if (config.failOpen) {
    config.logger.warn(
      'express-revocable-jwt: `failOpen` is on: while the revocation store is down, logged-out sessions are accepted again.',
    );
  }

  const store = config.store;
  const guarded = createGuardedStore(store, config.storeTimeoutMs, config.logger);
  const cookie = createCookieWriter({ ...config.cookie, domain: config.cookie.domain });
  const cookieName = config.cookie.name;
  const trustedOrigins = new Set(config.trustedOrigins.map((o) => normalizeOrigin(o) as string));
  const parseClaims = createClaimsParser<Record<string, unknown>>(config.claims);
  const toleranceMs = config.clockTolerance * 1000;
  /** No token of this instance outlives this: a watermark or revoked-session entry older than it is moot. */
  const maxLifetimeMs = config.expiresIn * 1000 + toleranceMs;
  const tokenSettings = {
    algorithm: keys.algorithm,
    signingKey: keys.signingKey,
    expiresInSeconds: config.expiresIn,
    issuer: config.issuer,
    audience: config.audience,
  };
  const tokenKey = Symbol('express-revocable-jwt token');
  const verifiedKey = Symbol('express-revocable-jwt verified');
  const outcomeKey = Symbol('express-revocable-jwt outcome');
  const clearedKey = Symbol('express-revocable-jwt cleared');
  type Tagged = Request & {
    [tokenKey]?: string;
    [verifiedKey]?: Promise<Verified>;
    [outcomeKey]?: Promise<Outcome>;
    [clearedKey]?: true;
  };

  const verifyJwt = expressjwt({
    secret: keys.verificationKey,
    algorithms: [keys.algorithm],
    credentialsRequired: false,
    requestProperty: PAYLOAD_PROPERTY,
    getToken: (req) => (req as Tagged)[tokenKey],
    clockTolerance: config.clockTolerance,
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience as string | [string, ...string[]] }),
  });

  function expireCookie(req: Tagged, res: Response): void {
    if (req[clearedKey]) return;
    req[clearedKey] = true;
    cookie.clear(res);
  }

  /** Signature, expiry and claims, once per request. */
  function verify(req: Tagged, res: Response): Promise<Verified> {
    return (req[verifiedKey] ??= new Promise<Verified>((resolve) => {
      const token = readCookie(req, cookieName);
      if (token === undefined) return resolve({ error: new SessionAuthError('credentials_required') });
      if (token === null || token.length > MAX_TOKEN_LENGTH)
        return resolve({ error: new SessionAuthError('invalid_token') });
      req[tokenKey] = token;
      void verifyJwt(req, res, (err?: unknown) => {
        const holder = req as unknown as Record<string, unknown>;
        const payload = holder[PAYLOAD_PROPERTY];
        delete holder[PAYLOAD_PROPERTY];
        if (err !== undefined && err !== null) {
          const inner = (err as { inner?: unknown }).inner;
          const expired = inner instanceof Error && inner.name === 'TokenExpiredError';
          return resolve({ error: new SessionAuthError(expired ? 'token_expired' : 'invalid_token', { cause: err }) });
        }
        // express-jwt passes CORS preflights through without verifying anything: not a verdict on the cookie.
        if (payload === undefined) return resolve({ error: new SessionAuthError('credentials_required') });
        let claims: ReturnType<typeof parseClaims>;
        try {
          claims = parseClaims(payload);
        } catch (cause) {
          // A refine or transform of the app's schema that throws: this runs outside any request try/catch.
          return resolve({ error: new SessionAuthError('invalid_claims', { cause }) });
        }
        if (!claims.ok) return resolve({ error: new SessionAuthError('invalid_claims', { cause: claims.cause }) });
        const { auth, issuedAtMs, expMs } = claims;
        resolve({ session: { sub: auth.sub, sessionId: auth.sessionId, issuedAtMs, expMs, auth } });
      });
    }));
  }

  /** Verification plus the revocation check, once per request. Never rejects. */
  function authenticateRequest(req: Tagged, res: Response): Promise<Outcome> {
    return (req[outcomeKey] ??= verify(req, res).then(async (verified): Promise<Outcome> => {
      const { session, error } = verified;
      if (session === undefined) {
        if (error !== undefined && error.code !== 'credentials_required') expireCookie(req, res);
        return { verified, ...(error === undefined ? {} : { error }) };
      }
      try {
        const state = await guarded.getState(session.sub, session.sessionId, session.issuedAtMs);
        const reason = revocationReason(state, session.issuedAtMs);
        if (reason === undefined) return { verified, auth: session.auth };
        expireCookie(req, res);
        return { verified, error: new SessionAuthError(reason) };
      } catch (cause) {
        const unavailable = isSessionAuthError(cause)
          ? cause
          : new SessionAuthError('revocation_unavailable', { cause });
        // Fail open only when asked to; the outage itself was already logged by the guarded store.
        return config.failOpen ? { verified, auth: session.auth } : { verified, error: unavailable };
      }
    }));
  }

  function respondWithError(error: SessionAuthError, req: Request, res: Response, next: NextFunction): void {
    if (config.onError === undefined) return sendErrorJson(res, error);
    runAppCallback(() => config.onError?.(error, req, res, next), next);
  }

  function fail(next: NextFunction) {
    return (error: unknown) => next(error);
  }

  const authenticate = namedMiddleware('authenticate', (req, res, next) => {
    authenticateRequest(req, res).then((outcome) => {
      if (outcome.auth !== undefined) req.auth = outcome.auth;
      next();
    }, fail(next));
  });

  const requireAuth = namedMiddleware('requireAuth', (req, res, next) => {
    authenticateRequest(req, res).then((outcome) => {
      if (outcome.auth === undefined)
        return respondWithError(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
      req.auth = outcome.auth;
      next();
    }, fail(next));
  });

  const verifyOrigin = namedMiddleware('verifyOrigin', (req, res, next) => {
    if (isSameOriginRequest(req, trustedOrigins)) return next();
    respondWithError(new SessionAuthError('csrf_rejected'), req, res, next);
  });

  async function runLogout(req: Tagged, res: Response, next: NextFunction): Promise<void> {
    if (!isSameOriginRequest(req, trustedOrigins))
      return respondWithError(new SessionAuthError('csrf_rejected'), req, res, next);
    const { session } = await verify(req, res);
    if (session !== undefined) {
      try {
        await guarded.revokeSession(session.sessionId, session.sub, new Date(session.expMs + toleranceMs));
      } catch (error) {
        // The cookie is kept so the user can retry: clearing it would hide that the session still works.
        return respondWithError(error as SessionAuthError, req, res, next);
      }
    }
    endSession(req, res, next, config.onLogout);
  }

  async function runLogoutAll(req: Tagged, res: Response, next: NextFunction): Promise<void> {
    if (!isSameOriginRequest(req, trustedOrigins))
      return respondWithError(new SessionAuthError('csrf_rejected'), req, res, next);
    const outcome = await authenticateRequest(req, res);
    if (outcome.auth === undefined)
      return respondWithError(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
    try {
      await revokeUser(outcome.auth.sub);
    } catch (error) {
      return respondWithError(error as SessionAuthError, req, res, next);
    }
    endSession(req, res, next, config.onLogoutAll);
  }

  /** After a successful logout: expire the cookie, forget req.auth, answer 204 or the app's own response. */
  function endSession(
    req: Tagged,
    res: Response,
    next: NextFunction,
    respond: ((req: Request, res: Response) => unknown) | undefined,
  ): void {
    expireCookie(req, res);
    delete req.auth;
    if (respond !== undefined) return runAppCallback(() => respond(req, res), next);
    res.status(204).end();
  }

  /** Runs an app callback (onError, onLogout, ...) so that a throw or a rejected promise reaches `next`. */
  function runAppCallback(callback: () => unknown, next: NextFunction): void {
    try {
      const result = callback();
      if (result instanceof Promise) result.catch(next);
    } catch (error) {
      next(error);
    }
  }

  async function revokeUser(sub: string): Promise<Date> {
    const at = Date.now();
    await guarded.revokeUser(sub, new Date(at), new Date(at + maxLifetimeMs));
    await waitForClockToPass(at);
    return new Date(at);
  }

  async function revokeSession(sessionId: string, opts: { sub: string; expiresAt?: Date }): Promise<void> {
    const sub = (opts as { sub?: unknown } | undefined)?.sub;
    if (typeof sessionId !== 'string' || sessionId === '')
      throw new TypeError(
        'express-revocable-jwt: auth.revokeSession(sessionId, { sub }) needs the session id as a string (`req.auth.sessionId`).',
      );
    if (typeof sub !== 'string' || sub === '')
      throw new TypeError(
        'express-revocable-jwt: auth.revokeSession(sessionId, { sub }) needs the user id `sub` of the session.',
      );
    await guarded.revokeSession(sessionId, sub, opts.expiresAt ?? new Date(Date.now() + maxLifetimeMs));
  }

  function login(res: Response, claims: LoginClaims<C>): Promise<SignedSession> {
    try {
      return Promise.resolve(startSession(res, claims));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  function startSession(res: Response, claims: LoginClaims<C>): SignedSession {
    const { sub, ...extra } = (claims ?? {}) as { sub?: unknown } & Record<string, unknown>;
    if (typeof sub !== 'string' || sub === '') {
      throw new TypeError(
        `express-revocable-jwt: auth.login(res, claims) needs \`claims.sub\`, a non-empty string user id (got ${typeof sub}); convert ids with String(user._id).`,
      );
    }
    const reservedGiven = Object.keys(extra).filter((k) => (RESERVED_CLAIMS as readonly string[]).includes(k));
    if (reservedGiven.length > 0)
      throw new TypeError(
        `express-revocable-jwt: auth.login cannot set ${reservedGiven.join(', ')}; they are set by the package.`,
      );
    let validated: Record<string, unknown> = {};
    if (config.claims === undefined && Object.keys(extra).length > 0) {
      throw new TypeError(
        `express-revocable-jwt: auth.login got extra claims (${Object.keys(extra).join(', ')}) but createSessionAuth has no \`claims\` schema; add one, e.g. \`claims: z.object({ role: z.string() })\`.`,
      );
    }
    if (config.claims !== undefined) {
      const parsed = config.claims.safeParse(extra);
      if (!parsed.success)
        throw new TypeError(
          `express-revocable-jwt: auth.login claims do not match the \`claims\` schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      // Sign what the app gave (only the schema's keys), not the parsed output: every request parses the token
      // with the same schema, so a transform must see its input there, not its own output.
      validated = Object.fromEntries(
        Object.keys(config.claims.shape)
          .filter((k) => k in extra)
          .map((k) => [k, extra[k]]),
      );
    }
    const signed = signSessionToken(tokenSettings, sub, validated);
    cookie.set(res, signed.token, config.expiresIn);
    return signed;
  }

  const ready = Promise.resolve()
    .then(() => store.init?.())
    .then(
      () => undefined,
      (error: unknown) =>
        config.logger.warn(
          `express-revocable-jwt: store setup failed (${error instanceof Error ? error.message : String(error)}); it is retried on the next logout.`,
        ),
    );

  return {
    authenticate,
    requireAuth,
    verifyOrigin,
    logout: namedMiddleware('logout', (req, res, next) => void runLogout(req, res, next).catch(fail(next))),
    logoutAll: namedMiddleware('logoutAll', (req, res, next) => void runLogoutAll(req, res, next).catch(fail(next))),
    login,
    revokeUser,
    revokeSession,
    getAuth: (req) => req.auth as AuthInfo<Extra<z.output<C>>> | undefined,
    ready,
    close: async () => {
      await store.close?.();
    },
  };
}
