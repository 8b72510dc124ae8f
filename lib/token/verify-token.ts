// Verifying a compact JWT with express-jwt, in one place, returning a plain result instead of a property on req.
import type { Request, Response } from 'express';
import { expressjwt } from 'express-jwt';
import type { ResolvedKeys } from './keys.js';

/** A token larger than this is rejected before any decoding; browsers cap a cookie at 4096 bytes anyway. */
export const MAX_TOKEN_LENGTH = 8192;

export type VerifyResult =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; code: 'invalid_token' | 'token_expired'; cause?: unknown };

export interface VerifierSettings {
  keys: ResolvedKeys;
  /** Seconds of clock skew accepted on `exp` and `nbf`. */
  clockTolerance: number;
  issuer: string | undefined;
  audience: string | string[] | undefined;
  /** Accept expired tokens (for logout: a token this clock calls expired may still work on another instance). */
  ignoreExpiration?: boolean;
  /** The clock, in ms (tests); defaults to `Date.now`. */
  now?: (() => number) | undefined;
}

const PROPERTY = 'payload';

/**
 * Returns `verify(token)`: signature with the one pinned algorithm, `exp`/`nbf` with the tolerance, `iss` and
 * `aud` when configured. express-jwt runs against a request object of its own, so nothing is left on the app's
 * `req` and a CORS preflight of the app can never skip verification.
 */
export function createTokenVerifier(settings: VerifierSettings): (token: string) => Promise<VerifyResult> {
  const { keysById } = settings.keys;
  const options: Parameters<typeof expressjwt>[0] = {
    // With rotating keys, the token's `kid` picks the key; an unknown or missing `kid` is an invalid token.
    secret:
      keysById === undefined
        ? settings.keys.verificationKey
        : (_req, token) => {
            const kid = token?.header.kid;
            const key = kid === undefined ? undefined : keysById.get(kid);
            if (key === undefined) throw new Error(kid === undefined ? 'the token has no kid' : 'unknown kid');
            return key;
          },
    algorithms: [settings.keys.algorithm],
    credentialsRequired: true,
    requestProperty: PROPERTY,
    getToken: (req) => (req as unknown as Holder).token,
    clockTolerance: settings.clockTolerance,
    ignoreExpiration: settings.ignoreExpiration === true,
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience as string | [string, ...string[]] }),
  };
  const now = settings.now;
  if (now !== undefined) {
    // express-jwt hands its own options to jsonwebtoken on every verification: the clock is read each time.
    Object.defineProperty(options, 'clockTimestamp', { get: () => Math.floor(now() / 1000), enumerable: true });
  }
  const middleware = expressjwt(options);

  return (token) =>
    new Promise<VerifyResult>((resolve) => {
      if (token.length > MAX_TOKEN_LENGTH) return resolve({ ok: false, code: 'invalid_token' });
      const holder: Holder = { token, method: 'GET', headers: {} };
      void middleware(holder as unknown as Request, undefined as unknown as Response, (err?: unknown) => {
        if (err !== undefined && err !== null) return resolve({ ok: false, code: errorCode(err), cause: err });
        const payload = holder[PROPERTY];
        if (typeof payload !== 'object' || payload === null) return resolve({ ok: false, code: 'invalid_token' });
        resolve({ ok: true, payload: payload as Record<string, unknown> });
      });
    });
}

interface Holder {
  token: string;
  method: string;
  headers: Record<string, string>;
  [PROPERTY]?: unknown;
}

function errorCode(err: unknown): 'invalid_token' | 'token_expired' {
  const inner = (err as { inner?: unknown }).inner;
  return inner instanceof Error && inner.name === 'TokenExpiredError' ? 'token_expired' : 'invalid_token';
}
