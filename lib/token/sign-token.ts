// Signing a session token: at sign-in (a new device session) and at renewal or re-authentication (the same one).
import { randomBytes, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigError } from '../core/config-error.js';
import type { Algorithm } from '../core/algorithms.js';

export interface TokenSettings {
  algorithm: Algorithm;
  signingKey: KeyObject | undefined;
  /** The `kid` header of the signing key, when keys rotate. */
  keyId: string | undefined;
  expiresInSeconds: number;
  /** Absolute session lifetime from sign-in. */
  maxAgeSeconds: number;
  issuer: string | undefined;
  audience: string | string[] | undefined;
}

/** What `auth.login` resolves to. */
export interface SignedSession {
  /** The compact JWT (also set as the cookie). */
  token: string;
  /** The device session's id (`sid`). */
  sessionId: string;
  /** When this token was issued (`iat_ms`). */
  issuedAt: Date;
  /** When this token expires (`exp`); renewal issues a later one, up to `sessionExpiresAt`. */
  expiresAt: Date;
  /** When the user signed in: the same for every renewal of the session. */
  signedInAt: Date;
  /** The session's absolute end (`signedInAt + maxAge`): no renewal goes past it. */
  sessionExpiresAt: Date;
}

/** The session a token belongs to; a new one at sign-in, carried over by renewals. */
export interface SessionFields {
  sub: string;
  sessionId: string;
  signedInAtMs: number;
  sessionExpMs: number;
  authenticatedAtMs: number;
  /** When the extra claims were loaded: sign-in, or a reload after the user's claims changed. */
  claimsAtMs: number;
}

/** A new random device-session id: 128 bits, base64url. */
function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** The fields of a new session signed in at `now`. */
export function newSession(settings: TokenSettings, sub: string, now: number): SessionFields {
  return {
    sub,
    sessionId: newSessionId(),
    signedInAtMs: now,
    sessionExpMs: now + settings.maxAgeSeconds * 1000,
    authenticatedAtMs: now,
    claimsAtMs: now,
  };
}

/**
 * The payload of a token of `session` issued at `now`, with the already validated extra claims. It expires after
 * `expiresIn`, but never after the session's absolute end.
 */
export function sessionPayload(
  settings: TokenSettings,
  session: SessionFields,
  extra: Record<string, unknown>,
  now: number,
): Record<string, unknown> & { exp: number } {
  const iat = Math.floor(now / 1000);
  return {
    ...extra,
    sub: session.sub,
    sid: session.sessionId,
    iat,
    iat_ms: now,
    sat: session.signedInAtMs,
    sxp: session.sessionExpMs,
    pwd: session.authenticatedAtMs,
    cla: session.claimsAtMs,
    exp: Math.min(iat + settings.expiresInSeconds, Math.floor(session.sessionExpMs / 1000)),
  };
}

/** Signs a token of `session` issued at `now`: `payload`, when the caller built it already (`sessionPayload`). */
export function signSessionToken(
  settings: TokenSettings,
  session: SessionFields,
  extra: Record<string, unknown>,
  now: number,
  payload = sessionPayload(settings, session, extra, now),
): SignedSession {
  if (settings.signingKey === undefined) {
    throw new ConfigError(
      'privateKey',
      'is missing: this instance has only a `publicKey`, so it can verify sessions but not sign them. Pass `privateKey` to log users in.',
      { code: 'unsupported' },
    );
  }
  const token = jwt.sign(payload, settings.signingKey, {
    algorithm: settings.algorithm,
    ...(settings.keyId === undefined ? {} : { keyid: settings.keyId }),
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  });
  return {
    token,
    sessionId: session.sessionId,
    issuedAt: new Date(now),
    expiresAt: new Date(payload.exp * 1000),
    signedInAt: new Date(session.signedInAtMs),
    sessionExpiresAt: new Date(session.sessionExpMs),
  };
}
