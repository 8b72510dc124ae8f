// `auth.login(res, claims)`: starts a new device session by signing a token and setting the cookie.
import type { Response } from 'express';
import type { createLoginClaimsCheck } from '../token/claims.js';
import { signSessionToken, type SignedSession, type TokenSettings } from '../token/sign-token.js';
import type { CookieWriter } from './cookie.js';

export function createLogin(
  checkClaims: ReturnType<typeof createLoginClaimsCheck>,
  tokenSettings: TokenSettings,
  cookie: CookieWriter,
) {
  /** Rejects (never throws) with a ConfigError for bad claims, as every other async call of the API. */
  return async function login(res: Response, claims: unknown): Promise<SignedSession> {
    await Promise.resolve();
    const { sub, extra } = checkClaims(claims);
    const signed = signSessionToken(tokenSettings, sub, extra);
    cookie.set(res, signed.token, tokenSettings.expiresInSeconds);
    return signed;
  };
}
