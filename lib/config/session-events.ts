// Session events (the `onEvent` option): an audit trail of sign-ins, renewals, revocations, replayed tokens and
// store outages, handed to the app without ever delaying or failing a request.
import { isIP } from 'node:net';
import type { Request } from 'express';
import { isThenable } from '../core/deadline.js';
import { createOutageLog, type Logger } from './logger.js';

/** What happened. */
export type SessionEventType =
  /** `auth.login`: a new device session. */
  | 'sign_in'
  /** A token re-issued because it was older than `renewAfter`. */
  | 'renewal'
  /** `auth.reauthenticate`: the password was entered again. */
  | 'reauthentication'
  /** `auth.refreshClaims(sub)`: the user's claims changed (no session: every session of the user reloads). */
  | 'claims_changed'
  /** A token re-issued with the claims `loadClaims` answered, after the user's claims changed. */
  | 'claims_refresh'
  /** `logout`: this device session ended. */
  | 'logout'
  /**
   * Every session of the user ended. `reason`: `'logout_all'` (the `logoutAll` route), `'revoke_user'`
   * (`auth.revokeUser`) or `'banned'` (`loadClaims` answered `null`).
   */
  | 'logout_everywhere'
  /**
   * One session ended by another device or the app. `reason`: `'by_id'` (`auth.revokeSession`), `'others'`
   * (`revokeOtherSessions`) or `'session_cap'` (a sign-in past `maxSessions`).
   */
  | 'session_ended'
  /**
   * A token that was logged out was presented again: a stale tab, or a copied cookie (the cheapest theft signal).
   * `reason`: `'session_revoked'` or `'logged_out_everywhere'`.
   */
  | 'revoked_token_presented'
  /** The revocation store stopped answering: checks fail closed (503) until it recovers. */
  | 'store_unavailable'
  /** The revocation store answers again. */
  | 'store_recovered';

/** One session event. Never holds a token, a cookie or a secret. */
export interface SessionEvent {
  /** What happened. */
  type: SessionEventType;
  /** When, by this instance's clock. */
  at: Date;
  /** The user, when the event concerns one. */
  sub?: string;
  /** The device session, when the event concerns one. */
  sessionId?: string;
  /** The request's IP as Express computes it (`req.ip`: `trust proxy` applies), when a request caused the event. */
  ip?: string;
  /** The request's `User-Agent` (at most 256 characters), when a request caused the event and it had one. */
  userAgent?: string;
  /** Why, for the types that say so above. */
  reason?: string;
}

/** The longest `User-Agent` kept (events, the device registry). */
export const MAX_USER_AGENT_LENGTH = 256;

/** The IP and User-Agent of the request that caused an event (or a sign-in). */
export function requestOrigin(req: Request | undefined): { ip?: string; userAgent?: string } {
  if (req === undefined) return {};
  // With `trust proxy`, `req.ip` comes from a header the client may write: only an address is kept (without
  // an IPv6 zone, which means nothing for a remote client and may be of any length).
  const ip = typeof req.ip === 'string' ? (req.ip.split('%')[0] ?? '') : undefined;
  const userAgent: unknown = req.headers?.['user-agent'];
  return {
    ...(ip !== undefined && isIP(ip) !== 0 ? { ip } : {}),
    ...(typeof userAgent === 'string' && userAgent !== ''
      ? { userAgent: userAgent.slice(0, MAX_USER_AGENT_LENGTH) }
      : {}),
  };
}

/** Emits an event (`at` is added); does nothing without an `onEvent` option. */
export type EmitEvent = (event: Omit<SessionEvent, 'at'>, req?: Request) => void;

/**
 * The emitter of `onEvent`. The handler runs after the current request's work (never inside it), its result is
 * not awaited, and a throw or a rejection is logged once, when failures begin (again only after a success).
 */
export function createEventEmitter(
  onEvent: ((event: SessionEvent) => unknown) | undefined,
  logger: Logger,
  now: () => number,
): EmitEvent {
  if (onEvent === undefined) return () => undefined;
  const failures = createOutageLog(logger, {
    down: (reason) => `the onEvent handler failed (${reason}); events may be missing until it succeeds again.`,
    up: 'the onEvent handler succeeds again.',
  });
  function deliver(event: SessionEvent): void {
    try {
      const result = onEvent?.(event);
      if (isThenable(result))
        result.then(
          () => failures.succeeded(),
          (error: unknown) => failures.failed(error),
        );
      else failures.succeeded();
    } catch (error) {
      failures.failed(error);
    }
  }
  return (event, req) => {
    const full: SessionEvent = { ...event, at: new Date(now()), ...requestOrigin(req) };
    setImmediate(deliver, full);
  };
}
