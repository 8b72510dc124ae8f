// The signed-in devices of a user: the list, and ending every other session.
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '../core/config-error.js';
import { isSessionAuthError, SessionAuthError } from '../core/session-auth-error.js';
import type { RevocationEngine } from '../revocation/revocation-engine.js';
import type { SessionRecord } from '../stores/revocation-store.js';
import { isSameOriginRequest } from './csrf.js';
import { runAppCallback, type ErrorResponder } from './error-response.js';
import type { LogoutResponder } from './logout.js';
import { namedMiddleware } from './mounting.js';
import { authenticatedSessions } from './cookies-to-end.js';
import type { RequestAuth } from './request-auth.js';

/** One live session of a user, as `auth.listSessions(sub)` lists it. */
export interface SessionSummary {
  /** The session's id: what `auth.revokeSession(sessionId, { sub })` takes. */
  sessionId: string;
  /** When the user signed in on this device. */
  signedInAt: Date;
  /** The latest sign-in or renewal (updated at most once per `renewAfter`). */
  lastActiveAt: Date;
  /** The session's absolute end. */
  expiresAt: Date;
  /** The `User-Agent` of the sign-in (at most 256 characters), when there was one. */
  userAgent?: string;
  /** The IP of the sign-in as Express computed it (`req.ip`, so `trust proxy` applies), when there was one. */
  ip?: string;
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
    return (await engine.listSessions(sub)).map(
      ({ sessionId, signedInAt, lastActiveAt, expiresAt, userAgent, ip }) => ({
        sessionId,
        signedInAt,
        lastActiveAt,
        expiresAt,
        ...(userAgent === undefined ? {} : { userAgent }),
        ...(ip === undefined ? {} : { ip }),
      }),
    );
  }

  async function revokeOthers(req: Request, res: Response, next: NextFunction): Promise<void> {
    assertRegistry('auth.revokeOtherSessions');
    if (!isSameOriginRequest(req, parts.trustedOrigins))
      return respond(new SessionAuthError('csrf_rejected'), req, res, next);
    // Every session cookie that authenticates: with a cookie planted beside the user's own, the user's other
    // sessions end too, not only the planter's.
    const { sessions, error } = await authenticatedSessions(requestAuth, req, res);
    if (error !== undefined) return respond(error, req, res, next);
    const keepBySub = new Map<string, Set<string>>();
    for (const s of sessions) keepBySub.set(s.sub, (keepBySub.get(s.sub) ?? new Set()).add(s.sessionId));
    let ended: SessionRecord[][];
    try {
      ended = await Promise.all([...keepBySub].map(([sub, keep]) => engine.revokeSessionsExcept(sub, keep)));
    } catch (error) {
      if (!isSessionAuthError(error)) throw error;
      return respond(error, req, res, next);
    }
    for (const { sub, sessionId } of ended.flat())
      requestAuth.parts.emit({ type: 'session_ended', sub, sessionId, reason: 'others' }, req);
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
