// createRevocation: the revocation rules for JWTs the app already has (express-jwt, Bearer or cookie tokens).
import type { Request, RequestHandler } from 'express';
import type { Jwt } from 'jsonwebtoken';
import type { z } from 'zod';
import { revocationOptionsSchema } from './config/options.js';
import { validateOptions } from './config/validate-options.js';
import { argumentError, MESSAGE_PREFIX } from './core/config-error.js';
import { SessionAuthError } from './core/session-auth-error.js';
import { createErrorResponder } from './http/error-response.js';
import { assertNotMounted, namedMiddleware } from './http/mounting.js';
import { assertRevocationStore, initStore, type RevocationStore } from './stores/revocation-store.js';
import { createRevocationEngine, type RevocationEngine } from './revocation/revocation-engine.js';
import { readTokenRef } from './revocation/token-ref.js';

/** The options of `createRevocation`: every one but `store` declared, with its default, by the schema that checks it. */
export interface RevocationOptions extends Omit<z.input<typeof revocationOptionsSchema>, 'store'> {
  /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore`, `RedisRevocationStore` or your own. */
  store: RevocationStore;
}

/** A verified payload as `claimsOf` returns it: the app's claims, with those the rules read known to be there. */
export interface VerifiedClaims {
  /** The user. */
  sub: string;
  /** Issue time, in seconds; a token may carry `iat_ms` instead (at least one of the two is there). */
  iat?: number;
  /** Issue time, in milliseconds, when the token has it: it takes precedence over `iat`. */
  iat_ms?: number;
  /** Expiry, in seconds; tokens without one are refused. */
  exp: number;
  /** The session id `revokeToken` revokes, when the token has one. */
  sid?: string;
  /** The token id `revokeToken` revokes when there is no `sid`. */
  jti?: string;
  /** Any other claim of the token, as verified by your express-jwt (or other) setup. */
  [claim: string]: unknown;
}

/** What `createRevocation` returns. */
export interface Revocation {
  /** express-jwt's `isRevoked(req, token)`: `true` for a revoked token (express-jwt answers 401 `revoked_token`); rejects with a 503 `SessionAuthError` while the store cannot be read. */
  isRevoked: (req: Request, token: Jwt | undefined) => Promise<boolean>;
  /** Middleware for after any verifier that put the verified payload on `req.auth`: answers our JSON errors. */
  check: RequestHandler;
  /** Logs user `sub` out everywhere: every token issued before this resolves is rejected from then on. */
  revokeUser: (sub: string) => Promise<Date>;
  /**
   * After the app changed user `sub`'s claims: every token of the user issued before this resolves is refused,
   * `claims_stale` through `check` and `revoked_token` through express-jwt's `isRevoked` (which can only say
   * revoked or not); the client gets a new token from your sign-in or refresh route. Needs a store that records
   * claims changes.
   */
  refreshClaims: (sub: string) => Promise<Date>;
  /** Logs out the session of this verified payload (`sid`, else `jti`); refuses a payload with neither. */
  revokeToken: (payload: unknown) => Promise<void>;
  /**
   * The verified token payload express-jwt put on `req.auth`, with the claims the rules read checked: for a route
   * behind express-jwt and `check` (or `isRevoked`), without `!` or `?.`. Throws `SessionAuthError`
   * `credentials_required` when there is none, `invalid_claims` when it lacks `sub` or `exp`, or both `iat` and
   * `iat_ms`.
   * @example app.post('/logout-all', async (req, res) => { await revocation.revokeUser(revocation.claimsOf(req).sub); res.sendStatus(204); });
   */
  claimsOf(req: Request): VerifiedClaims;
  /**
   * Logs out one session of user `sub` by its id; `expiresAt` (its token's `exp`) bounds how long it is kept. A
   * session is the pair (user, id): with another user's `sub` it revokes nothing (there is no registry to check).
   */
  revokeSession(sessionId: string, options: { sub: string; expiresAt?: Date }): Promise<void>;
  /**
   * Settles once the store's one-time setup (indexes, checks) ran and, with `maxRevocationDelay` on a store with a
   * change feed, the first copy of the revocations was read; each step for at most `storeTimeoutMs`. Never
   * rejects (problems are logged).
   */
  ready: Promise<void>;
  /** Closes the store. */
  close(): Promise<void>;
}

/**
 * Exact revocation for tokens your own code signs and verifies. Same stores and rules as `createSessionAuth`.
 *
 * @example
 * ```ts
 * const revocation = createRevocation({ store: new MongoRevocationStore({ client, dbName: 'app' }) });
 * app.use(expressjwt({ secret, algorithms: ['HS256'], isRevoked: revocation.isRevoked }));
 * app.post('/logout', async (req, res) => { await revocation.revokeToken(revocation.claimsOf(req)); res.sendStatus(204); });
 * app.post('/logout-all', async (req, res) => { await revocation.revokeUser(revocation.claimsOf(req).sub); res.sendStatus(204); });
 * ```
 */
export function createRevocation(options: RevocationOptions): Revocation {
  assertNotMounted(
    options,
    'createRevocation',
    'const revocation = createRevocation({ store }); app.use(verify, revocation.check);',
  );
  const config = validateOptions(revocationOptionsSchema, options, 'createRevocation');
  assertRevocationStore(config.store);
  if (config.failOpen) {
    config.logger.warn(
      `${MESSAGE_PREFIX}: \`failOpen\` is on: while the revocation store is down, revoked tokens are accepted again.`,
    );
  }
  const store = config.store;
  const engine = createRevocationEngine({
    ...config,
    store,
    maxRevocationDelayMs: config.maxRevocationDelay,
    copyLimit: config.revocationCopyLimit,
  });
  return {
    isRevoked: async (_req, token) => isRevokedPayload(engine, token?.payload),
    check: createCheck(engine, createErrorResponder(config.onError)),
    revokeUser: engine.revokeUser,
    refreshClaims: engine.refreshClaims,
    revokeToken: async (payload) => {
      const read = readTokenRef(payload);
      if (!read.ok) throw argumentError('revokeToken(payload)', `needs a verified token payload: ${read.problem}.`);
      if (read.ref.sessionId === '') {
        throw argumentError(
          'revokeToken(payload)',
          'needs a token with a `sid` or `jti` claim; without one, only `revokeUser(sub)` can end it.',
        );
      }
      await engine.revokeSession(read.ref.sessionId, read.ref.sub, entryEnd(payload, read));
    },
    revokeSession: async (sessionId, opts) => engine.revokeSession(sessionId, opts?.sub, opts?.expiresAt),
    claimsOf: (req) => {
      const payload = (req as { auth?: unknown }).auth;
      if (payload === undefined) throw new SessionAuthError('credentials_required');
      const read = readTokenRef(payload);
      if (!read.ok) throw new SessionAuthError('invalid_claims', { cause: new Error(read.problem) });
      return payload as VerifiedClaims;
    },
    ready: initStore(store, config.logger, config.storeTimeoutMs).then(engine.warmUp),
    close: async () => {
      engine.lifetime.stop();
      await store.close?.();
    },
  };
}

/**
 * How long a `revokeToken` must hold. A `jti` names one token: until its `exp`. A `sid` names a session that
 * may have other tokens (refreshed ones, expiring later): until its `sxp` claim when it has one, else for the
 * longest lifetime any token may have (undefined here). The engine caps every end at that longest lifetime.
 */
function entryEnd(payload: unknown, read: Extract<ReturnType<typeof readTokenRef>, { ok: true }>): Date | undefined {
  const { sid, sxp } = payload as { sid?: unknown; sxp?: unknown };
  const bySid = typeof sid === 'string' && sid !== '';
  if (!bySid) return new Date(read.expMs);
  if (typeof sxp !== 'number' || !Number.isSafeInteger(sxp) || sxp <= 0) return undefined;
  return new Date(Math.min(Math.max(sxp, read.expMs), 8.64e15)); // the latest time a Date can hold
}

/** express-jwt's contract: resolve `true` to reject; a rejection (503 here) goes to the app's error handler. */
async function isRevokedPayload(engine: RevocationEngine, payload: unknown): Promise<boolean> {
  const read = readTokenRef(payload);
  if (!read.ok) return true;
  const rejected = await engine.check(read.ref);
  if (rejected === undefined) return false;
  if (rejected.code === 'revocation_unavailable') throw rejected;
  return true;
}

function createCheck(engine: RevocationEngine, respond: ReturnType<typeof createErrorResponder>): RequestHandler {
  return namedMiddleware(
    'check',
    (req, res, next) => {
      const payload: unknown = (req as { auth?: unknown }).auth;
      if (payload === undefined) return respond(new SessionAuthError('credentials_required'), req, res, next);
      const read = readTokenRef(payload);
      if (!read.ok)
        return respond(new SessionAuthError('invalid_claims', { cause: new Error(read.problem) }), req, res, next);
      engine.check(read.ref).then(
        (rejected) => (rejected === undefined ? next() : respond(rejected, req, res, next)),
        (error: unknown) => next(error),
      );
    },
    'revocation',
  );
}
