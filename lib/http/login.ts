// `auth.login(res, claims)`: starts a new device session: registers it, enforces the session cap, signs the
// token and sets the cookie.
import type { Request, Response } from 'express';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { createLoginClaimsCheck } from '../token/claims.js';
import { newSession, signSessionToken, type SignedSession, type TokenSettings } from '../token/sign-token.js';
import { requestOrigin, type EmitEvent } from '../config/session-events.js';
import type { CookieWriter } from './cookie.js';

export interface LoginParts {
  checkClaims: ReturnType<typeof createLoginClaimsCheck>;
  tokenSettings: TokenSettings;
  cookie: CookieWriter;
  engine: RevocationEngine;
  /** Most live sessions per user (`maxSessions`, else the registry's bound); used with a device registry. */
  maxSessions: number;
  emit: EmitEvent;
  /**
   * When `authenticate` first saw the request (else now): the sign-in's claims count as loaded then, before the
   * login route read them, so a claims change that lands between that read and the sign-in is not missed.
   */
  arrivedAt: (req: Request | undefined) => number;
}

export function createLogin(parts: LoginParts) {
  const { engine, tokenSettings } = parts;

  /**
   * Rejects (never throws) with a ConfigError for bad claims (or a token too large for a cookie), or a 503
   * SessionAuthError if the store is down. With a device registry, a user with `maxSessions` live sessions
   * first has the least recently active ones ended, so that this one makes `maxSessions` at most. Two sign-ins
   * at the same moment each count before the other registers, so the cap can be exceeded by the number of
   * concurrent sign-ins until the next sign-in.
   */
  return async function login(res: Response, claims: unknown): Promise<SignedSession> {
    const { sub, extra } = parts.checkClaims(claims);
    // Never a session longer than the store's lifetime bound covers: this instance's lifetime is declared first.
    await engine.lifetime.ready(); // a store that cannot take it: 503 revocation_unavailable
    const now = engine.now();
    const req = res.req as Request | undefined;
    const session = { ...newSession(tokenSettings, sub, now), claimsAtMs: Math.min(now, parts.arrivedAt(req)) };
    const signed = signSessionToken(tokenSettings, session, extra, now);
    parts.cookie.assertFits(signed.token);
    if (engine.hasRegistry) {
      const evicted = await engine.revokeSessionsExcept(sub, NONE, parts.maxSessions - 1);
      for (const ended of evicted)
        parts.emit({ type: 'session_ended', sub, sessionId: ended.sessionId, reason: 'session_cap' }, req);
      await engine.registerSession({
        sessionId: session.sessionId,
        sub,
        signedInAt: signed.signedInAt,
        lastActiveAt: signed.signedInAt,
        expiresAt: signed.sessionExpiresAt,
        ...requestOrigin(req),
      });
    }
    parts.cookie.set(res, signed.token, Math.ceil((signed.expiresAt.getTime() - now) / 1000));
    parts.emit({ type: 'sign_in', sub, sessionId: session.sessionId }, req);
    return signed;
  };
}

const NONE: ReadonlySet<string> = new Set();
