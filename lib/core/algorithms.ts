// The signature algorithms this package signs and verifies with, and the key material it takes.
import type { KeyObject } from 'node:crypto';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
export const ALGORITHMS = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS] as const;
/**
 * The one algorithm an instance pins (jsonwebtoken's names): `HS256`, `HS384`, `HS512`, `RS256`, `RS384`,
 * `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `ES512` (`EdDSA` is refused at startup).
 */
export type Algorithm = (typeof ALGORITHMS)[number];

/** Key material as users have it: a PEM string, a Buffer, or a `crypto.KeyObject`. */
export type KeyInput = string | Buffer | KeyObject;
