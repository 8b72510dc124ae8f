// Signing session tokens and reading the claims of a verified one.
import { randomBytes, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Algorithm } from './keys.js';
import type { AuthInfo } from './types.js';

/**
 * Claims this package owns. `iat_ms` is the issue time in milliseconds: `iat` alone is whole seconds, which
 * cannot tell a token minted just before a logout-everywhere from one minted just after it in the same second.
 */
export const RESERVED_CLAIMS = ['sub', 'sid', 'iat', 'iat_ms', 'exp', 'nbf', 'iss', 'aud', 'jti'] as const;

const sessionClaimsSchema = z.object({
  sub: z.string().min(1),
  sid: z.string().min(16).max(64),
  iat_ms: z.number().int().positive(),
  exp: z.number().int().positive(),
});

export interface TokenSettings {
  algorithm: Algorithm;
  signingKey: KeyObject | undefined;
  expiresInSeconds: number;
  issuer: string | undefined;
  audience: string | string[] | undefined;
}

export interface SignedSession {
  token: string;
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
    throw new Error(
      'express-revocable-jwt: this instance has only a `publicKey`, so it can verify sessions but not sign them. Pass `privateKey` to log users in.',
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

export type ParsedClaims<C> =
  { ok: true; auth: AuthInfo<C>; issuedAtMs: number; expMs: number } | { ok: false; cause: z.ZodError };

/** Validates a verified payload: our session claims plus the app's extra claims schema. */
export function createClaimsParser<C>(extraSchema: z.ZodType<C> | undefined) {
  return (payload: unknown): ParsedClaims<C> => {
    const base = sessionClaimsSchema.safeParse(payload);
    if (!base.success) return { ok: false, cause: base.error };
    let extra = {} as C;
    if (extraSchema !== undefined) {
      const parsed = extraSchema.safeParse(payload);
      if (!parsed.success) return { ok: false, cause: parsed.error };
      extra = parsed.data;
    }
    const { sub, sid, iat_ms, exp } = base.data;
    const auth = {
      ...extra,
      sub,
      sessionId: sid,
      issuedAt: new Date(iat_ms),
      expiresAt: new Date(exp * 1000),
    } as AuthInfo<C>;
    return { ok: true, auth, issuedAtMs: iat_ms, expMs: exp * 1000 };
  };
}
