// What a logout ends when the request carries several session cookies of the same name (one may be planted
// by a sibling subdomain, and sent first).
import type { Request, Response } from 'express';
import { SessionAuthError } from '../core/session-auth-error.js';
import { readSessionClaims, type SessionClaims } from '../token/claims.js';
import { readCookieValues } from './cookie.js';
import { verifySessionToken, type RequestAuth, type VerifiedSession } from './request-auth.js';

/**
 * Most distinct values of the session cookie one request may carry to the handlers that end sessions; browsers
 * send one, a planted cookie makes two. Every value is verified, so the real one cannot hide behind others; a
 * request with more is refused (400 `too_many_cookies`, nothing changed) instead of being answered with a
 * success that could leave the real one out, and a header of junk values costs at most this many
 * verifications.
 */
const MAX_COOKIE_VALUES = 16;

/** Every value of the session cookie, or the error when there are more than a browser would send. */
function cookieValues(requestAuth: RequestAuth, req: Request): { values: string[]; error?: SessionAuthError } {
  const values = readCookieValues(req, requestAuth.parts.cookieName);
  if (values.length <= MAX_COOKIE_VALUES) return { values };
  return { values: [], error: new SessionAuthError('too_many_cookies') };
}

/**
 * The sessions a logout ends: every cookie of that name in the request that is correctly signed for this app
 * and carries `sub`, `sid` and `exp`, whatever its expiry (another instance's clock or tolerance may still
 * accept it) or its extra claims (another deployment's schema may still accept them).
 */
export async function sessionsToEnd(
  requestAuth: RequestAuth,
  req: Request,
): Promise<{ sessions: SessionClaims[]; error?: SessionAuthError }> {
  const { values, error } = cookieValues(requestAuth, req);
  if (error !== undefined) return { sessions: [], error };
  const sessions: SessionClaims[] = [];
  for (const value of values) {
    const result = await requestAuth.parts.verifyAnyExpiry(value);
    const claims = result.ok ? readSessionClaims(result.payload) : undefined;
    if (claims !== undefined) sessions.push(claims);
  }
  return { sessions };
}

/**
 * The sessions a handler acting on "this user" acts on (`logoutAll`, `revokeOtherSessions`): every cookie of
 * that name that authenticates (valid and not revoked, whatever its claims), so a cookie planted beside the
 * user's own can never make it act on the wrong account alone. The error when none does.
 */
export async function authenticatedSessions(
  requestAuth: RequestAuth,
  req: Request,
  res: Response,
): Promise<{ sessions: VerifiedSession[]; error?: SessionAuthError }> {
  const { values, error } = cookieValues(requestAuth, req);
  if (error !== undefined) return { sessions: [], error };
  const { parts } = requestAuth;
  const first = await requestAuth.authenticate(req, res);
  // A session whose claims could not be refreshed still authenticates its user here: ending sessions needs no claims.
  const own = first.session ?? first.unrefreshed;
  const sessions = own === undefined ? [] : [own];
  for (const value of values.length > 1 ? values : []) {
    const { session } = await verifySessionToken(parts, value);
    if (session === undefined || sessions.some((s) => s.sessionId === session.sessionId && s.sub === session.sub))
      continue;
    if ((await parts.engine.verdict(session)).ok) sessions.push(session);
  }
  if (sessions.length > 0) return { sessions };
  return { sessions: [], error: first.error ?? new SessionAuthError('credentials_required') };
}
