// Signing a session token: a new device-session id, the issue time to the millisecond, the pinned algorithm.
import { randomBytes, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigError } from '../errors/config-error.js';
import type { Algorithm } from './keys.js';

export interface TokenSettings {
  algorithm: Algorithm;
  signingKey: KeyObject | undefined;
  expiresInSeconds: number;
  issuer: string | undefined;
  audience: string | string[] | undefined;
}

/** What `auth.login` resolves to. */
export interface SignedSession {
  /** The compact JWT (also set as the cookie). */
  token: string;
  /** The new device session's id (`sid`). */
  sessionId: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** A new random device-session id: 128 bits, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** Signs a token for `sub` with the already validated extra claims, starting a new device session. */
export function signSessionToken(
  settings: TokenSettings,
  sub: string,
  extra: Record<string, unknown>,
  now = Date.now(),
): SignedSession {
  if (settings.signingKey === undefined) {
    throw new ConfigError(
      'privateKey',
      'is missing: this instance has only a `publicKey`, so it can verify sessions but not sign them. Pass `privateKey` to log users in.',
      { code: 'unsupported' },
    );
  }
  const sessionId = newSessionId();
  const iat = Math.floor(now / 1000);
  const token = jwt.sign({ ...extra, sub, sid: sessionId, iat, iat_ms: now }, settings.signingKey, {
    algorithm: settings.algorithm,
    expiresIn: settings.expiresInSeconds,
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  });
  return { token, sessionId, issuedAt: new Date(now), expiresAt: new Date((iat + settings.expiresInSeconds) * 1000) };
}
