// What a logout ends when the request carries several session cookies of the same name (one may be planted
// by a sibling subdomain, and sent first).
import type { Request, Response } from 'express';
import { SessionAuthError } from '../errors/session-auth-error.js';
import { readSessionClaims, type SessionClaims } from '../token/claims.js';
import { readCookieValues } from './cookie.js';
import { verifySessionToken, type RequestAuth, type VerifiedSession } from './request-auth.js';

/**
 * Most session cookies one request may end; browsers send one, a planted cookie makes two. Counted among the
 * values that verify, so junk values sent first cannot hide the real one.
 */
const MAX_SESSIONS_PER_REQUEST = 8;

/**
 * The sessions a logout ends: every cookie of that name in the request that is correctly signed for this app
 * and carries `sub`, `sid` and `exp`, whatever its expiry (another instance's clock or tolerance may still
 * accept it) or its extra claims (another deployment's schema may still accept them).
 */
export async function sessionsToEnd(requestAuth: RequestAuth, req: Request): Promise<SessionClaims[]> {
  const { parts } = requestAuth;
  const sessions: SessionClaims[] = [];
  for (const value of readCookieValues(req, parts.cookieName)) {
    const result = await parts.verifyAnyExpiry(value);
    const claims = result.ok ? readSessionClaims(result.payload) : undefined;
    if (claims !== undefined) sessions.push(claims);
    if (sessions.length === MAX_SESSIONS_PER_REQUEST) break;
  }
  return sessions;
}

/**
 * The sessions a handler acting on "this user" acts on (`logoutAll`, `revokeOtherSessions`): every cookie of
 * that name that authenticates (valid and not revoked), so a cookie planted beside the user's own can never make
 * it act on the wrong account alone. The error when none does.
 */
export async function authenticatedSessions(
  requestAuth: RequestAuth,
  req: Request,
  res: Response,
): Promise<{ sessions: VerifiedSession[]; error?: SessionAuthError }> {
  const { parts } = requestAuth;
  const first = await requestAuth.authenticate(req, res);
  const sessions = first.session === undefined ? [] : [first.session];
  const values = readCookieValues(req, parts.cookieName);
  for (const value of values.length > 1 ? values : []) {
    if (sessions.length === MAX_SESSIONS_PER_REQUEST) break;
    const { session } = await verifySessionToken(parts, value);
    if (session === undefined || sessions.some((s) => s.sessionId === session.sessionId && s.sub === session.sub))
      continue;
    if ((await parts.engine.check(session)) === undefined) sessions.push(session);
  }
  if (sessions.length > 0) return { sessions };
  return { sessions: [], error: first.error ?? new SessionAuthError('credentials_required') };
}
