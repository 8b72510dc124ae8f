// What a logout ends when the request carries several session cookies of the same name (one may be planted
// by a sibling subdomain, and sent first).
import type { Request, Response } from 'express';
import { SessionAuthError } from '../errors/session-auth-error.js';
import { readSessionClaims, type SessionClaims } from '../token/claims.js';
import { readCookieValues } from './cookie.js';
import { verifySessionToken, type RequestAuth } from './request-auth.js';

/**
 * The sessions a logout ends: every cookie of that name in the request that is correctly signed for this app
 * and carries `sub`, `sid` and `exp`, whatever its expiry (another instance's clock or tolerance may still
 * accept it) or its extra claims (another deployment's schema may still accept them).
 */
export async function sessionsToEnd(requestAuth: RequestAuth, req: Request): Promise<SessionClaims[]> {
  const { parts } = requestAuth;
  const results = await Promise.all(readCookieValues(req, parts.cookieName).map(parts.verifyAnyExpiry));
  return results.flatMap((result) => {
    const claims = result.ok ? readSessionClaims(result.payload) : undefined;
    return claims === undefined ? [] : [claims];
  });
}

/**
 * The users a logoutAll ends: the user of every cookie of that name that authenticates, so a cookie planted
 * beside the user's own can never make logoutAll act on the wrong account alone. The error when none does.
 */
export async function usersToEnd(
  requestAuth: RequestAuth,
  req: Request,
  res: Response,
): Promise<{ subs: string[]; error?: SessionAuthError }> {
  const { parts } = requestAuth;
  const first = await requestAuth.authenticate(req, res);
  const subs = new Set(first.auth === undefined ? [] : [first.auth.sub]);
  const values = readCookieValues(req, parts.cookieName);
  for (const value of values.length > 1 ? values : []) {
    const { session } = await verifySessionToken(parts, value);
    if (session !== undefined && (await parts.engine.check(session)) === undefined) subs.add(session.sub);
  }
  if (subs.size > 0) return { subs: [...subs] };
  return { subs: [], error: first.error ?? new SessionAuthError('credentials_required') };
}
