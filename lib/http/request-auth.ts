// Authenticating one request: cookie → token verification → claims → revocation check → renewal, each once
// per request.
import type { Request, Response } from 'express';
import { withDeadline } from '../core/deadline.js';
import { isSessionAuthError, SessionAuthError } from '../core/session-auth-error.js';
import { createOutageLog, type Logger } from '../config/logger.js';
import type { EmitEvent } from '../config/session-events.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { createLoginClaimsCheck, ParsedClaims, SessionClaims } from '../token/claims.js';
import { sessionPayload, signSessionToken, type SignedSession, type TokenSettings } from '../token/sign-token.js';
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
  /**
   * A valid, unrevoked session whose claims could not be refreshed (`claims_stale`, `claims_unavailable`): not
   * one to serve, but one whose user may still end their sessions (`logoutAll`, `revokeOtherSessions`).
   */
  unrefreshed?: VerifiedSession;
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
  /** The app's `loadClaims(sub)`: the user's claims now, or null to end every session of the user. */
  loadClaims: ((sub: string) => unknown) | undefined;
  /** Checks what `loadClaims` answered as `auth.login` checks its claims. */
  checkClaims: ReturnType<typeof createLoginClaimsCheck>;
  /** How long `loadClaims` may take (`storeTimeoutMs`). */
  loadClaimsTimeoutMs: number;
  logger: Logger;
  emit: EmitEvent;
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
  return { session: verifiedSession(claims) };
}

/** The session of parsed claims, without the parse's own flag. */
function verifiedSession(claims: Extract<ParsedClaims<Record<string, unknown>>, { ok: true }>): VerifiedSession {
  const { sub, sessionId, issuedAtMs, expMs, signedInAtMs, sessionExpMs, authenticatedAtMs, claimsAtMs } = claims;
  const times = { issuedAtMs, expMs, signedInAtMs, sessionExpMs, authenticatedAtMs, claimsAtMs };
  return { sub, sessionId, ...times, auth: claims.auth, extra: claims.extra };
}

/**
 * Signs a new token of the same session (renewal, re-authentication, fresh claims: `changes`) and sets the
 * cookie; undefined when the session ends within the second. The new session is read from the new token's
 * payload, so that `sessionOf(req)` shows exactly what the next request will.
 */
export function reissue(
  parts: RequestAuthParts,
  res: Response,
  session: VerifiedSession,
  now: number,
  changes: Partial<Pick<VerifiedSession, 'authenticatedAtMs' | 'claimsAtMs' | 'extra'>> = {},
): { signed: SignedSession; session: VerifiedSession } | undefined {
  const fields = { ...session, ...changes };
  const payload = sessionPayload(parts.tokenSettings, fields, fields.extra, now);
  if (payload.exp * 1000 - now < 1000) return undefined; // nothing left to renew
  const parsed = parts.parseClaims(payload);
  if (!parsed.ok) throw parsed.cause instanceof Error ? parsed.cause : new Error(String(parsed.cause));
  const signed = signSessionToken(parts.tokenSettings, fields, fields.extra, now, payload);
  parts.cookie.assertFits(signed.token); // a browser would drop it and keep sending the old one
  parts.cookie.set(res, signed.token, Math.ceil((signed.expiresAt.getTime() - now) / 1000));
  return { signed, session: verifiedSession(parsed) };
}

/**
 * Returns the per-request steps. Each runs at most once per request however many middlewares ask (e.g.
 * `authenticate` app-wide and `requireAuth` on a route), and the cookie is expired at most once.
 */
export function createRequestAuth(parts: RequestAuthParts) {
  const outcomeKey = Symbol('express-revocable-jwt outcome');
  const clearedKey = Symbol('express-revocable-jwt cleared');
  const sessionKey = Symbol('express-revocable-jwt session');
  const arrivedKey = Symbol('express-revocable-jwt arrived');
  const loadFailures = createOutageLog(parts.logger, {
    down: (reason) =>
      `\`loadClaims\` failed (${reason}); requests of sessions whose claims changed answer 503 claims_unavailable until it succeeds.`,
    up: '`loadClaims` succeeds again.',
  });
  type Tagged = Request & {
    [outcomeKey]?: Promise<Outcome>;
    [clearedKey]?: true;
    [sessionKey]?: AuthInfo;
    [arrivedKey]?: number;
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

  /** When this instance's `authenticate` first saw the request (or now): what a sign-in's claims count from. */
  function arrivedAt(req: Request | undefined): number {
    return (req as Tagged | undefined)?.[arrivedKey] ?? parts.engine.now();
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
   * Verification plus the revocation check, then fresh claims for a token older than the user's claims change,
   * or renewal of a token older than `renewAfter` (only after a real check: never during an outage, not even
   * with `failOpen`). Expires the cookie of a bad or revoked token. Never rejects.
   */
  function authenticate(req: Request, res: Response): Promise<Outcome> {
    const tagged = req as Tagged;
    tagged[arrivedKey] ??= parts.engine.now();
    return (tagged[outcomeKey] ??= readAndVerify(req).then(async ({ session, error }): Promise<Outcome> => {
      if (session === undefined) {
        if (error !== undefined && error.code !== 'credentials_required') expireCookie(req, res);
        return error === undefined ? {} : { error };
      }
      const verdict = await parts.engine.verdict(session);
      if (!verdict.ok) {
        const { code } = verdict.error;
        if (code === 'session_revoked' || code === 'logged_out_everywhere') {
          parts.emit(
            { type: 'revoked_token_presented', sub: session.sub, sessionId: session.sessionId, reason: code },
            req,
          );
        }
        if (code !== 'revocation_unavailable') expireCookie(req, res);
        return { error: verdict.error };
      }
      if (verdict.claimsChangedAtMs !== undefined) return reload(req, res, session);
      const now = parts.engine.now();
      if (!verdict.checked || parts.renewAfterMs === undefined || now - session.issuedAtMs <= parts.renewAfterMs) {
        return { auth: session.auth, session };
      }
      return renew(req, res, session, now);
    }));
  }

  function renew(req: Request, res: Response, session: VerifiedSession, now: number): Outcome {
    let renewed: ReturnType<typeof reissue>;
    try {
      renewed = reissue(parts, res, session, now);
    } catch {
      renewed = undefined; // a renewal that cannot be signed keeps the valid token it had: never a 500
    }
    if (renewed === undefined) return { auth: session.auth, session };
    // At most one registry write per session per renewAfter: the renewal itself.
    touchRegistry(session, now);
    parts.emit({ type: 'renewal', sub: session.sub, sessionId: session.sessionId }, req);
    return { auth: renewed.session.auth, session: renewed.session };
  }

  /**
   * A token signed before the user's claims changed: its claims are loaded again and the token re-issued (same
   * session, sign-in time and end) before anything reads them. Never the old claims: without `loadClaims`, or
   * when it cannot be signed here, `claims_stale`; `loadClaims` failing, too slow or answering what the `claims`
   * schema refuses, 503 `claims_unavailable`; `null`, every session of the user ends (a ban). Two requests of one
   * token may both load: harmless, each signs the claims of its moment for the same session.
   */
  async function reload(req: Request, res: Response, session: VerifiedSession): Promise<Outcome> {
    const { loadClaims, engine } = parts;
    if (loadClaims === undefined || parts.tokenSettings.signingKey === undefined) {
      expireCookie(req, res);
      return { error: new SessionAuthError('claims_stale'), unrefreshed: session };
    }
    const { sub, sessionId } = session;
    // The claims count as loaded when the load began: a change that lands while it runs (which the load may
    // have missed) is later, so it marks the new token stale again. Never a time after the load, nor one from
    // the change's clock: an instance whose clock is behind the change's reloads until it has passed it.
    const loadStartedAt = engine.now();
    let renewed: ReturnType<typeof reissue>;
    try {
      const ms = parts.loadClaimsTimeoutMs;
      const loaded = await withDeadline(
        Promise.resolve().then(() => loadClaims(sub)),
        ms,
        () => new Error(`no answer within ${ms} ms`),
      );
      if (loaded === null) {
        loadFailures.succeeded();
        return await ban(req, res, session);
      }
      if (typeof loaded !== 'object' || Array.isArray(loaded)) {
        throw new TypeError(`it answered ${Array.isArray(loaded) ? 'an array' : typeof loaded}, not an object or null`);
      }
      const { extra } = parts.checkClaims({ ...loaded, sub });
      renewed = reissue(parts, res, session, engine.now(), { extra, claimsAtMs: loadStartedAt });
    } catch (cause) {
      if (isSessionAuthError(cause)) return { error: cause };
      loadFailures.failed(cause); // the reason goes to the log (the app's own error), never to the client
      return { error: new SessionAuthError('claims_unavailable', { cause }), unrefreshed: session };
    }
    loadFailures.succeeded();
    if (renewed === undefined) {
      expireCookie(req, res);
      return { error: new SessionAuthError('claims_stale'), unrefreshed: session };
    }
    touchRegistry(session, engine.now());
    parts.emit({ type: 'claims_refresh', sub, sessionId }, req);
    return { auth: renewed.session.auth, session: renewed.session };
  }

  /** A re-issued session's latest activity. Best effort: a failed write only leaves "last active" older. */
  function touchRegistry(session: VerifiedSession, now: number): void {
    if (parts.engine.hasRegistry)
      void parts.engine.touchSession(session.sessionId, session.sub, new Date(now)).catch(() => undefined);
  }

  /** `loadClaims` answered null: the user is logged out everywhere, and so is this request. */
  async function ban(req: Request, res: Response, session: VerifiedSession): Promise<Outcome> {
    await parts.engine.revokeUser(session.sub);
    parts.emit({ type: 'logout_everywhere', sub: session.sub, sessionId: session.sessionId, reason: 'banned' }, req);
    expireCookie(req, res);
    return { error: new SessionAuthError('logged_out_everywhere') };
  }

  return { authenticate, expireCookie, sessionOf, setSession, arrivedAt, parts };
}

export type RequestAuth = ReturnType<typeof createRequestAuth>;
