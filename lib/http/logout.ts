// The logout handlers: `logout` ends this device session, `logoutAll` every session of the signed-in user.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConfigError } from '../core/config-error.js';
import { isSessionAuthError, SessionAuthError } from '../core/session-auth-error.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import { isSameOriginRequest } from './csrf.js';
import { authenticatedSessions, sessionsToEnd } from './cookies-to-end.js';
import { runAppCallback, type ErrorResponder } from './error-response.js';
import { namedMiddleware } from './mounting.js';
import type { RequestAuth } from './request-auth.js';

/** `onLogout(req, res)` / `onLogoutAll(req, res)`: answers a successful logout instead of 204. */
export type LogoutResponder = (req: Request, res: Response) => unknown;

export interface LogoutParts {
  requestAuth: RequestAuth;
  engine: RevocationEngine;
  respond: ErrorResponder;
  trustedOrigins: ReadonlySet<string>;
  onLogout: LogoutResponder | undefined;
  onLogoutAll: LogoutResponder | undefined;
}

export function createLogoutHandlers(parts: LogoutParts): { logout: RequestHandler; logoutAll: RequestHandler } {
  const { requestAuth, engine, respond } = parts;

  /** After a successful logout: expire the cookie, forget req.auth, answer 204 or the app's own response. */
  function endSession(req: Request, res: Response, next: NextFunction, onDone: LogoutResponder | undefined): void {
    requestAuth.expireCookie(req, res);
    requestAuth.setSession(req, undefined);
    if (onDone !== undefined) return runAppCallback(() => onDone(req, res), next);
    res.status(204).end();
  }

  /** Runs a revocation; a failure answers with its error and keeps the cookie, so the user can retry. */
  async function attempt(
    run: () => Promise<unknown>,
    req: Request,
    res: Response,
    next: NextFunction,
  ): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (error) {
      if (!isSessionAuthError(error)) throw error;
      respond(error, req, res, next);
      return false;
    }
  }

  async function logout(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!isSameOriginRequest(req, parts.trustedOrigins))
      return respond(new SessionAuthError('csrf_rejected'), req, res, next);
    const { sessions, error } = await sessionsToEnd(requestAuth, req);
    if (error !== undefined) return respond(error, req, res, next);
    // A session whose ids the store refuses (the app's `userId` mapping throws for its `sub`) is accepted
    // nowhere (checks answer invalid_claims): there is nothing to end.
    const revoke = () =>
      Promise.all(
        sessions.map((s) =>
          engine.revokeSession(s.sessionId, s.sub, new Date(s.sessionExpMs)).catch((cause: unknown) => {
            if (!(cause instanceof ConfigError)) throw cause;
          }),
        ),
      );
    if (!(await attempt(revoke, req, res, next))) return;
    for (const { sub, sessionId } of sessions) requestAuth.parts.emit({ type: 'logout', sub, sessionId }, req);
    endSession(req, res, next, parts.onLogout);
  }

  async function logoutAll(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!isSameOriginRequest(req, parts.trustedOrigins))
      return respond(new SessionAuthError('csrf_rejected'), req, res, next);
    const { sessions, error } = await authenticatedSessions(requestAuth, req, res);
    if (error !== undefined) return respond(error, req, res, next);
    const subs = [...new Set(sessions.map((s) => s.sub))];
    // An event for each user logged out, also when another user's logout failed (a planted cookie's).
    const revokeAll = async () => {
      const results = await Promise.allSettled(subs.map(engine.revokeUser));
      for (const { sub, sessionId } of sessions) {
        if (results[subs.indexOf(sub)]?.status !== 'fulfilled') continue;
        requestAuth.parts.emit({ type: 'logout_everywhere', sub, sessionId, reason: 'logout_all' }, req);
      }
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    };
    if (!(await attempt(revokeAll, req, res, next))) return;
    endSession(req, res, next, parts.onLogoutAll);
  }

  return {
    logout: namedMiddleware('logout', (req, res, next) => void logout(req, res, next).catch(next)),
    logoutAll: namedMiddleware('logoutAll', (req, res, next) => void logoutAll(req, res, next).catch(next)),
  };
}
