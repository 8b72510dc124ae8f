// Verifying a compact JWT as express-jwt does (jsonwebtoken, the same options and errors), in one place, returning a plain result instead of a property on req.
import { UnauthorizedError } from 'express-jwt';
import jwt, { type GetPublicKeyOrSecret, type Secret, type VerifyOptions } from 'jsonwebtoken';
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

/**
 * Returns `verify(token)`: signature with the one pinned algorithm, `exp`/`nbf` with the tolerance, `iss` and
 * `aud` when configured. It runs jsonwebtoken's `verify` with the options express-jwt would pass it, but
 * directly: express-jwt decodes every token once more before jsonwebtoken does, and answers a turn of the event
 * loop later (`setImmediate`). Errors are express-jwt's `UnauthorizedError`s, as before.
 */
export function createTokenVerifier(settings: VerifierSettings): (token: string) => Promise<VerifyResult> {
  const { keysById, keyWithoutKid } = settings.keys;
  // With rotating keys, the token's `kid` picks the key; an unknown `kid` is an invalid token, and so is a
  // missing one unless `keyForTokensWithoutKid` names the key for those (tokens signed before `keys`).
  const key: Secret | GetPublicKeyOrSecret =
    keysById === undefined
      ? settings.keys.verificationKey
      : (header, callback) => {
          const kid = header.kid;
          const found = kid === undefined ? keyWithoutKid : keysById.get(kid);
          if (found === undefined)
            return callback(new Error(kid === undefined ? 'the token has no kid' : 'unknown kid'));
          callback(null, found);
        };
  const options: VerifyOptions = {
    algorithms: [settings.keys.algorithm],
    clockTolerance: settings.clockTolerance,
    ignoreExpiration: settings.ignoreExpiration === true,
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience as string | [string, ...string[]] }),
  };
  const now = settings.now;
  if (now !== undefined) {
    // jsonwebtoken copies the options on every verification: the clock is read each time.
    Object.defineProperty(options, 'clockTimestamp', { get: () => Math.floor(now() / 1000), enumerable: true });
  }

  return (token) => {
    if (token === '' || token.length > MAX_TOKEN_LENGTH) return Promise.resolve({ ok: false, code: 'invalid_token' });
    let result: VerifyResult = { ok: false, code: 'invalid_token' };
    try {
      // Synchronous: the key (or the `kid` callback) is at hand, so the callback runs before verify returns.
      jwt.verify(token, key, options, (err, payload) => {
        if (err !== null) {
          const wrapped = new UnauthorizedError('invalid_token', err);
          result = { ok: false, code: errorCode(wrapped), cause: wrapped };
        } else if (typeof payload === 'object' && payload !== null) {
          result = { ok: true, payload: payload as Record<string, unknown> };
        }
      });
    } catch (cause) {
      result = { ok: false, code: 'invalid_token', cause };
    }
    return Promise.resolve(result);
  };
}

function errorCode(err: unknown): 'invalid_token' | 'token_expired' {
  const inner = (err as { inner?: unknown }).inner;
  return inner instanceof Error && inner.name === 'TokenExpiredError' ? 'token_expired' : 'invalid_token';
}
