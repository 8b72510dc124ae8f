// Answering a rejected request: the JSON error body, or the app's own `onError`; app callbacks made safe.
import type { NextFunction, Request, Response } from 'express';
import type { SessionAuthError } from '../core/session-auth-error.js';

/** `onError(error, req, res, next)`: answers a rejected request instead of the default JSON response. */
export type ErrorHandler = (error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown;

/**
 * The default error response: the status of the error and its JSON body, never cached.
 *
 * @example
 * ```ts
 * const auth = createSessionAuth({
 *   secret,
 *   store,
 *   onError: (err, req, res) => (err.status === 401 ? res.redirect(303, '/login') : sendErrorJson(res, err)),
 * });
 * ```
 */
export function sendErrorJson(res: Response, error: SessionAuthError): void {
  res.status(error.status);
  res.setHeader('Cache-Control', 'no-store');
  res.json(error.toJSON());
}

/** Runs an app callback (onError, onLogout, ...) so that a throw or a rejected promise reaches `next`. */
export function runAppCallback(callback: () => unknown, next: NextFunction): void {
  try {
    const result = callback();
    if (result instanceof Promise) result.catch(next);
  } catch (error) {
    next(error);
  }
}

/** Returns `respond(error, req, res, next)`: the app's `onError` when given, else `sendErrorJson`. */
export function createErrorResponder(onError: ErrorHandler | undefined) {
  return (error: SessionAuthError, req: Request, res: Response, next: NextFunction): void => {
    if (onError === undefined) return sendErrorJson(res, error);
    runAppCallback(() => onError(error, req, res, next), next);
  };
}

export type ErrorResponder = ReturnType<typeof createErrorResponder>;
