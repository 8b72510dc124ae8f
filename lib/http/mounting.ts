// Catches the classic mounting mistakes: a factory mounted uncalled, or a middleware called like a factory.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ConfigError } from '../core/config-error.js';

/** True for what Express passes as `req` (an IncomingMessage), false for an options object or nothing. */
function looksLikeRequest(value: unknown): value is Request {
  return (
    typeof value === 'object' &&
    value !== null &&
    'headers' in value &&
    'method' in value &&
    typeof (value as { on?: unknown }).on === 'function'
  );
}

/** Throws when a factory such as `createSessionAuth` is mounted as a middleware instead of being called. */
export function assertNotMounted(options: unknown, factory: string, example: string): void {
  if (!looksLikeRequest(options)) return;
  throw new ConfigError(
    '',
    `\`${factory}\` was mounted as a middleware without being called. Call it once at startup and mount its middlewares: \`${example}\``,
    { code: 'wrong_mounting' },
  );
}

/**
 * Names a middleware (for stack traces and Express's router listing) and makes calling it outside a request,
 * e.g. `app.use(auth.requireAuth())`, fail at startup with the fix instead of mounting `undefined`.
 */
export function namedMiddleware(
  name: string,
  handler: (req: Request, res: Response, next: NextFunction) => void,
  owner = 'auth',
): RequestHandler {
  const wrapped = {
    [name](req: Request, res: Response, next: NextFunction): void {
      if (!looksLikeRequest(req) || typeof next !== 'function') {
        throw new ConfigError(
          '',
          `\`${owner}.${name}\` is already a middleware: mount it as \`${owner}.${name}\`, without calling it (e.g. \`app.use(${owner}.${name})\`). Customize it through the factory's options instead.`,
          { code: 'wrong_mounting' },
        );
      }
      handler(req, res, next);
    },
  }[name] as RequestHandler;
  return wrapped;
}
