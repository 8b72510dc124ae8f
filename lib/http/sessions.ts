// The signed-in devices of a user: the list, and ending every other session.
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '../errors/config-error.js';
import { SessionAuthError } from '../errors/session-auth-error.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import { isSameOriginRequest } from './csrf.js';
import { runAppCallback, type ErrorResponder } from './error-response.js';
import type { LogoutResponder } from './logout.js';
import { namedMiddleware } from './middleware-guard.js';
import type { RequestAuth } from './request-auth.js';

/** One live session of a user, as `auth.listSessions(sub)` lists it. */
export interface SessionSummary {
  sessionId: string;
  signedInAt: Date;
  lastActiveAt: Date;
  /** The session's absolute end. */
  expiresAt: Date;
  userAgent?: string;
}

export interface SessionParts {
  requestAuth: RequestAuth;
  engine: RevocationEngine;
  respond: ErrorResponder;
  trustedOrigins: ReadonlySet<string>;
  onRevokeOthers: LogoutResponder | undefined;
}

export function createSessionHandlers(parts: SessionParts) {
  const { requestAuth, engine, respond } = parts;

  function assertRegistry(call: string): void {
    if (engine.hasRegistry) return;
    throw new ConfigError(
      'store',
      `has no device registry (\`registerSession\`, \`touchSession\`, \`listSessions\`), which \`${call}\` needs. MemoryRevocationStore, MongoRevocationStore and RedisRevocationStore have one.`,
      { code: 'unsupported' },
    );
  }

  async function listSessions(sub: string): Promise<SessionSummary[]> {
    assertRegistry('auth.listSessions');
    return (await engine.listSessions(sub)).map(({ sessionId, signedInAt, lastActiveAt, expiresAt, userAgent }) => ({
      sessionId,
      signedInAt,
      lastActiveAt,
      expiresAt,
      ...(userAgent === undefined ? {} : { userAgent }),
    }));
  }

  async function revokeOthers(req: Request, res: Response, next: NextFunction): Promise<void> {
    assertRegistry('auth.revokeOtherSessions');
    if (!isSameOriginRequest(req, parts.trustedOrigins))
      return respond(new SessionAuthError('csrf_rejected'), req, res, next);
    const outcome = await requestAuth.authenticate(req, res);
    const current = outcome.session;
    if (current === undefined)
      return respond(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
    try {
      await engine.revokeSessionsExcept(current.sub, current.sessionId);
    } catch (error) {
      return respond(error as SessionAuthError, req, res, next);
    }
    const onDone = parts.onRevokeOthers;
    if (onDone !== undefined) return runAppCallback(() => onDone(req, res), next);
    res.status(204).end();
  }

  return {
    listSessions,
    revokeOtherSessions: namedMiddleware(
      'revokeOtherSessions',
      (req, res, next) => void revokeOthers(req, res, next).catch(next),
    ),
  };
}
