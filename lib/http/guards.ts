// The request guards: `authenticate` (sets req.auth when it can), `requireAuth` (rejects when it cannot) and
// `verifyOrigin` (the CSRF check for the app's own state-changing forms).
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SessionAuthError } from '../core/session-auth-error.js';
import { isSameOriginRequest } from './csrf.js';
import type { ErrorResponder } from './error-response.js';
import { namedMiddleware } from './mounting.js';
import type { RequestAuth } from './request-auth.js';

export interface Guards {
  authenticate: RequestHandler;
  requireAuth: RequestHandler;
  verifyOrigin: RequestHandler;
}

export function createGuards(
  requestAuth: RequestAuth,
  respond: ErrorResponder,
  trustedOrigins: ReadonlySet<string>,
): Guards {
  const authenticate = namedMiddleware('authenticate', (req, res, next) => {
    requestAuth.authenticate(req, res).then((outcome) => {
      if (outcome.auth !== undefined) requestAuth.setSession(req, outcome.auth);
      next();
    }, next);
  });

  const requireAuth = namedMiddleware('requireAuth', (req: Request, res: Response, next: NextFunction) => {
    requestAuth.authenticate(req, res).then((outcome) => {
      if (outcome.auth === undefined) {
        return respond(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
      }
      requestAuth.setSession(req, outcome.auth);
      next();
    }, next);
  });

  const verifyOrigin = namedMiddleware('verifyOrigin', (req, res, next) => {
    if (isSameOriginRequest(req, trustedOrigins)) return next();
    respond(new SessionAuthError('csrf_rejected'), req, res, next);
  });

  return { authenticate, requireAuth, verifyOrigin };
}
