// Fresh sign-in: `requireFreshAuth(maxAge)` asks for a recent password entry, `reauthenticate` records one.
import type { Request, RequestHandler, Response } from 'express';
import { parseDurationSeconds } from '../config/duration.js';
import { argumentError } from '../core/config-error.js';
import { SessionAuthError } from '../core/session-auth-error.js';
import { notLongAfterIssue } from '../revocation/rules.js';
import type { SignedSession } from '../token/sign-token.js';
import type { ErrorResponder } from './error-response.js';
import { namedMiddleware } from './mounting.js';
import { reissue, type RequestAuth } from './request-auth.js';

export function createFreshAuth(requestAuth: RequestAuth, respond: ErrorResponder) {
  const { engine } = requestAuth.parts;

  /** `requireFreshAuth('5m')`: accepts a session whose last password entry is at most that old. */
  function requireFreshAuth(maxAge: number | string): RequestHandler {
    const seconds = parseDurationSeconds(maxAge);
    if (seconds === undefined) {
      throw argumentError('requireFreshAuth(maxAge)', 'needs a positive duration such as "5m" or a number of seconds.');
    }
    return namedMiddleware('requireFreshAuth', (req, res, next) => {
      requestAuth.authenticate(req, res).then((outcome) => {
        const session = outcome.session;
        if (session === undefined) {
          return respond(outcome.error ?? new SessionAuthError('credentials_required'), req, res, next);
        }
        requestAuth.setSession(req, outcome.auth);
        const enteredAt = notLongAfterIssue(session.authenticatedAtMs, session.issuedAtMs);
        if (engine.now() - enteredAt > seconds * 1000) {
          return respond(new SessionAuthError('reauthentication_required'), req, res, next);
        }
        next();
      }, next);
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
    const renewed = reissue(requestAuth.parts, res, session, now, { authenticatedAtMs: now });
    if (renewed === undefined) throw new SessionAuthError('token_expired');
    requestAuth.setSession(req, renewed.session.auth);
    requestAuth.parts.emit({ type: 'reauthentication', sub: session.sub, sessionId: session.sessionId }, req);
    return renewed.signed;
  }

  return { requireFreshAuth, reauthenticate };
}
