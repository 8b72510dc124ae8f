// Authenticating one request: cookie → token verification → claims → revocation check → renewal, each once
// per request.
import type { Request, Response } from 'express';
import { SessionAuthError } from '../core/session-auth-error.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { ParsedClaims, SessionClaims } from '../token/claims.js';
import { signSessionToken, type SignedSession, type TokenSettings } from '../token/sign-token.js';
import type { VerifyResult } from '../token/verify-token.js';
import type { AuthInfo } from '../core/session-info.js';
import { readCookie, type CookieWriter } from './cookie.js';
import { MAX_CLOCK_TOLERANCE_SECONDS } from '../core/limits.js';

/** A token whose signature, expiry and claims are valid, whatever its revocation state. */
export interface VerifiedSession extends SessionClaims {
  auth: AuthInfo;
  /** The app's extra claims as they are in the token: what a renewal signs again. */
  extra: Record<string, unknown>;
}

export interface Verified {
  session?: VerifiedSession;
  error?: SessionAuthError;
}

export interface Outcome {
  auth?: AuthInfo;
  error?: SessionAuthError;
  /** The verified session behind `auth`. */
  session?: VerifiedSession;
}

export interface RequestAuthParts {
  cookieName: string;
  cookie: CookieWriter;
  verifyToken: (token: string) => Promise<VerifyResult>;
  /** The same verification without the expiry check: what logout uses. */
  verifyAnyExpiry: (token: string) => Promise<VerifyResult>;
  parseClaims: (payload: unknown) => ParsedClaims<Record<string, unknown>>;
  engine: RevocationEngine;
  tokenSettings: TokenSettings;
  /** Renew tokens older than this (ms); undefined: never. */
  renewAfterMs: number | undefined;
}

/** Turns a verified (or rejected) token into the session the rules need, or the error to answer with. */
export async function verifySessionToken(parts: RequestAuthParts, token: string): Promise<Verified> {
  const result = await parts.verifyToken(token);
  if (!result.ok) return { error: new SessionAuthError(result.code, { cause: result.cause }) };
  const claims = parts.parseClaims(result.payload);
  if (!claims.ok) return { error: new SessionAuthError('invalid_claims', { cause: claims.cause }) };
  // A token or session that lives longer than this instance would allow (another deployment, an older
  // `expiresIn` or `maxAge`) is over: revocations are sized from the lifetimes the instances accept.
  const { expiresInSeconds, maxAgeSeconds } = parts.tokenSettings;
  if (claims.expMs - claims.issuedAtMs > expiresInSeconds * 1000)
    return { error: new SessionAuthError('token_expired') };
  // The sign-in time and the session's end are stamped by the instance that signed the user in, whose clock may
  // differ a little from this one's settings' view of the session: allow the largest tolerance.
  const sessionSlackMs = MAX_CLOCK_TOLERANCE_SECONDS * 1000;
  if (claims.sessionExpMs - claims.signedInAtMs > maxAgeSeconds * 1000 + sessionSlackMs) {
    return { error: new SessionAuthError('token_expired') };
  }
  const { sub, sessionId, issuedAtMs, expMs, signedInAtMs, sessionExpMs, authenticatedAtMs, auth, extra } = claims;
  return { session: { sub, sessionId, issuedAtMs, expMs, signedInAtMs, sessionExpMs, authenticatedAtMs, auth, extra } };
}

/** Signs a new token of the same session (renewal, re-authentication) and sets the cookie. */
export function reissue(
  parts: RequestAuthParts,
  res: Response,
  session: VerifiedSession,
  now: number,
  authenticatedAtMs = session.authenticatedAtMs,
): { signed: SignedSession; auth: AuthInfo } | undefined {
  const fields = { ...session, authenticatedAtMs };
  const signed = signSessionToken(parts.tokenSettings, fields, session.extra, now);
  const remainingMs = signed.expiresAt.getTime() - now;
  if (remainingMs < 1000) return undefined; // the session ends within the second: nothing to renew
  parts.cookie.set(res, signed.token, Math.ceil(remainingMs / 1000));
  const auth = {
    ...session.auth,
    issuedAt: signed.issuedAt,
    expiresAt: signed.expiresAt,
    authenticatedAt: new Date(authenticatedAtMs),
  };
  return { signed, auth };
}

/**
 * Returns the per-request steps. Each runs at most once per request however many middlewares ask (e.g.
 * `authenticate` app-wide and `requireAuth` on a route), and the cookie is expired at most once.
 */
export function createRequestAuth(parts: RequestAuthParts) {
  const outcomeKey = Symbol('express-revocable-jwt outcome');
  const clearedKey = Symbol('express-revocable-jwt cleared');
  const sessionKey = Symbol('express-revocable-jwt session');
  type Tagged = Request & {
    [outcomeKey]?: Promise<Outcome>;
    [clearedKey]?: true;
    [sessionKey]?: AuthInfo;
    /** Also set for plain JavaScript apps; the typed accessors read only this instance's own slot. */
    auth?: unknown;
  };

  /**
   * The session this instance's guards put on the request, if any: never one another instance (or express-jwt)
   * put on `req.auth`.
   */
  function sessionOf(req: Request): AuthInfo | undefined {
    return (req as Tagged)[sessionKey];
  }

  /** Puts this instance's session on the request (and on `req.auth`), or takes it off. */
  function setSession(req: Request, auth: AuthInfo | undefined): void {
    const tagged = req as Tagged;
    if (auth !== undefined) {
      tagged[sessionKey] = auth;
      tagged.auth = auth;
      return;
    }
    if (tagged.auth !== undefined && tagged.auth === tagged[sessionKey]) delete tagged.auth;
    delete tagged[sessionKey];
  }

  function expireCookie(req: Request, res: Response): void {
    if ((req as Tagged)[clearedKey]) return;
    (req as Tagged)[clearedKey] = true;
    parts.cookie.clear(res);
  }

  /** Signature, expiry and claims of the request's cookie. Never rejects. */
  async function readAndVerify(req: Request): Promise<Verified> {
    const token = readCookie(req, parts.cookieName);
    if (token === undefined) return { error: new SessionAuthError('credentials_required') };
    if (token === null) return { error: new SessionAuthError('invalid_token') };
    return verifySessionToken(parts, token);
  }

  /**
   * Verification plus the revocation check, then renewal of a token older than `renewAfter` (only after a
   * real check: never during an outage, not even with `failOpen`). Expires the cookie of a bad or revoked
   * token. Never rejects.
   */
  function authenticate(req: Request, res: Response): Promise<Outcome> {
    const tagged = req as Tagged;
    return (tagged[outcomeKey] ??= readAndVerify(req).then(async ({ session, error }): Promise<Outcome> => {
      if (session === undefined) {
        if (error !== undefined && error.code !== 'credentials_required') expireCookie(req, res);
        return error === undefined ? {} : { error };
      }
      const verdict = await parts.engine.verdict(session);
      if (!verdict.ok) {
        if (verdict.error.code !== 'revocation_unavailable') expireCookie(req, res);
        return { error: verdict.error };
      }
      const now = parts.engine.now();
      if (!verdict.checked || parts.renewAfterMs === undefined || now - session.issuedAtMs <= parts.renewAfterMs) {
        return { auth: session.auth, session };
      }
      return renew(res, session, now);
    }));
  }

  function renew(res: Response, session: VerifiedSession, now: number): Outcome {
    let renewed: ReturnType<typeof reissue>;
    try {
      renewed = reissue(parts, res, session, now);
    } catch {
      renewed = undefined; // a renewal that cannot be signed keeps the valid token it had: never a 500
    }
    if (renewed === undefined) return { auth: session.auth, session };
    // At most one registry write per session per renewAfter: the renewal itself. Best effort: a failed write
    // only leaves "last active" older on the devices page.
    if (parts.engine.hasRegistry)
      void parts.engine.touchSession(session.sessionId, session.sub, new Date(now)).catch(() => undefined);
    return {
      auth: renewed.auth,
      session: { ...session, issuedAtMs: now, expMs: renewed.signed.expiresAt.getTime(), auth: renewed.auth },
    };
  }

  return { authenticate, expireCookie, sessionOf, setSession, parts };
}

export type RequestAuth = ReturnType<typeof createRequestAuth>;
