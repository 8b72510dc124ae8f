// Catches the classic mounting mistakes: a factory mounted uncalled, or a middleware called like a factory.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConfigError } from './config-error.js';

/** True for what Express passes as `req` (an IncomingMessage), false for an options object or nothing. */
export function looksLikeRequest(value: unknown): value is Request {
  return (
    typeof value === 'object' &&
    value !== null &&
    'headers' in value &&
    'method' in value &&
    typeof (value as { on?: unknown }).on === 'function'
  );
}

/**
 * Names a middleware (for stack traces and Express's router listing) and makes calling it outside a request,
 * e.g. `app.use(auth.requireAuth())`, fail at startup with the fix instead of mounting `undefined`.
 */
export function namedMiddleware(
  name: string,
  handler: (req: Request, res: Response, next: NextFunction) => void,
): RequestHandler {
  const wrapped = {
    [name](req: Request, res: Response, next: NextFunction): void {
      if (!looksLikeRequest(req) || typeof next !== 'function') {
        throw new ConfigError(
          '',
          `\`auth.${name}\` is already a middleware: mount it as \`auth.${name}\`, without calling it (e.g. \`app.use(auth.${name})\`). Customize it through createSessionAuth options instead.`,
        );
      }
      handler(req, res, next);
    },
  }[name] as RequestHandler;
  return wrapped;
}
