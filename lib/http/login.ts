// `auth.login(res, claims)`: starts a new device session: registers it, enforces the session cap, signs the
// token and sets the cookie.
import type { Response } from 'express';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { createLoginClaimsCheck } from '../token/claims.js';
import { newSession, signSessionToken, type SignedSession, type TokenSettings } from '../token/sign-token.js';
import type { CookieWriter } from './cookie.js';

/** The User-Agent as the registry keeps it: trimmed to a sane length. */
const MAX_USER_AGENT_LENGTH = 256;

export interface LoginParts {
  checkClaims: ReturnType<typeof createLoginClaimsCheck>;
  tokenSettings: TokenSettings;
  cookie: CookieWriter;
  engine: RevocationEngine;
  /** Most live sessions per user (`maxSessions`, else the registry's bound); used with a device registry. */
  maxSessions: number;
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
    const now = engine.now();
    const session = newSession(tokenSettings, sub, now);
    const signed = signSessionToken(tokenSettings, session, extra, now);
    parts.cookie.assertFits(signed.token);
    if (engine.hasRegistry) {
      await engine.revokeSessionsExcept(sub, NONE, parts.maxSessions - 1);
      const userAgent = (res.req as { headers?: Record<string, unknown> } | undefined)?.headers?.['user-agent'];
      await engine.registerSession({
        sessionId: session.sessionId,
        sub,
        signedInAt: signed.signedInAt,
        lastActiveAt: signed.signedInAt,
        expiresAt: signed.sessionExpiresAt,
        ...(typeof userAgent === 'string' && userAgent !== ''
          ? { userAgent: userAgent.slice(0, MAX_USER_AGENT_LENGTH) }
          : {}),
      });
    }
    parts.cookie.set(res, signed.token, Math.ceil((signed.expiresAt.getTime() - now) / 1000));
    return signed;
  };
}

const NONE: ReadonlySet<string> = new Set();
