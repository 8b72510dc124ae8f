// Managing the signed-in sessions of a user: the device list, ending the other sessions, fresh sign-in.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parseDurationSeconds } from '../config/duration.js';
import { argumentError, ConfigError } from '../errors/config-error.js';
import { SessionAuthError } from '../errors/session-auth-error.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { SignedSession } from '../token/sign-token.js';
import { isSameOriginRequest } from './csrf.js';
import { runAppCallback, type ErrorResponder } from './error-response.js';
import type { LogoutResponder } from './logout.js';
import { namedMiddleware } from './middleware-guard.js';
import { reissue, type RequestAuth } from './request-auth.js';

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
  const fail = (next: NextFunction) => (error: unknown) => next(error);

  function assertRegistry(call: string): void {
    if (engine.hasRegistry) return;
    throw new ConfigError(
      'store',
      `has no device registry (\`registerSession\`, \`touchSession\`, \`listSessions\`), which \`${call}\` needs. MemoryRevocationStore and MongoRevocationStore have one.`,
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
      const others = (await engine.listSessions(current.sub)).filter((s) => s.sessionId !== current.sessionId);
      await Promise.all(others.map((s) => engine.revokeSession(s.sessionId, current.sub, s.expiresAt)));
    } catch (error) {
      return respond(error as SessionAuthError, req, res, next);
    }
    const onDone = parts.onRevokeOthers;
    if (onDone !== undefined) return runAppCallback(() => onDone(req, res), next);
    res.status(204).end();
  }

  /** `requireFreshAuth('5m')`: accepts a session whose last password entry is at most that old. */
  function requireFreshAuth(maxAge: number | string): RequestHandler {
    const seconds = parseDurationSeconds(maxAge);
    if (seconds === undefined) {
      throw argumentError('requireFreshAuth(maxAge)', 'needs a positive duration such as "5m" or a number of seconds.');
    }
    return namedMiddleware('requireFreshAuth', (req, res, next) => {
      requestAuth.authenticate(req, res).then((outcome) => {
        const session = outcome.session;
        if (session === undefined)
          return respond(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
        req.auth = outcome.auth;
        if (engine.now() - session.authenticatedAtMs > seconds * 1000) {
          return respond(new SessionAuthError('reauthentication_required'), req, res, next);
        }
        next();
      }, fail(next));
    });
  }

  /**
   * After the app re-checked the password: re-issues this session's token as freshly authenticated. The
   * revocation state is read again first, so a logout that raced the password check wins; and the new token
   * keeps the session id and sign-in time, so a logout that lands after it still ends it.
   */
  async function reauthenticate(req: Request, res: Response): Promise<SignedSession> {
    const outcome = await requestAuth.authenticate(req, res);
    const session = outcome.session;
    if (session === undefined) throw outcome.error ?? new SessionAuthError('credentials_required');
    const verdict = await engine.verdict(session);
    if (!verdict.ok) throw verdict.error;
    if (!verdict.checked) throw new SessionAuthError('revocation_unavailable');
    const now = engine.now();
    const renewed = reissue(requestAuth.parts, res, session, now, now);
    if (renewed === undefined) throw new SessionAuthError('token_expired');
    req.auth = renewed.auth;
    return renewed.signed;
  }

  return {
    listSessions,
    revokeOtherSessions: namedMiddleware(
      'revokeOtherSessions',
      (req, res, next) => void revokeOthers(req, res, next).catch(fail(next)),
    ),
    requireFreshAuth,
    reauthenticate,
  };
}
