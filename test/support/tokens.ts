// Hand-made tokens for attacks and edge cases the library itself would never issue.
import { createHmac, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** A well-formed session payload, as `auth.login` would issue, with overrides. */
export function sessionPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Date.now();
  return {
    sub: 'alice',
    sid: 'c2Vzc2lvbi1pZC0xMjM0NTY3OA',
    iat: Math.floor(now / 1000),
    iat_ms: now,
    exp: Math.floor(now / 1000) + 3600,
    ...overrides,
  };
}

/** Signs any payload with any algorithm and key, bypassing the library. */
export function signRaw(
  payload: Record<string, unknown>,
  key: string | Buffer | KeyObject,
  algorithm: jwt.Algorithm = 'HS256',
): string {
  return jwt.sign(payload, key, { algorithm, noTimestamp: true });
}

/** An unsigned token (`alg: none`). */
export function unsignedToken(payload: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.`;
}

/** An HS256 token whose HMAC key is the given bytes: the classic RS256 to HS256 confusion uses the public key PEM. */
export function hmacToken(payload: Record<string, unknown>, keyBytes: string | Buffer): string {
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', keyBytes).update(head).digest('base64url')}`;
}

/** Replaces the payload of a signed token and keeps the old signature. */
export function tamperPayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${base64url(JSON.stringify({ ...decoded, ...changes }))}.${signature}`;
}
